package main

// serviceDaemonCases are TestDaemonsAgree's cases for Apache httpd,
// PostgreSQL and Redis: the same host states as nginx's and HAProxy's
// (an address this node does not hold, as on the BACKUP node of a pair, and
// the same with ip_nonlocal_bind; the port taken; a wildcard against a
// specific address; dual-stack; a privileged port as the unit's user), with
// each daemon's own rule for several addresses.
func serviceDaemonCases() []daemonCase {
	nonlocal4 := map[string]string{"net.ipv4.ip_nonlocal_bind": "1"}
	const (
		apacheInUse = "(98)Address already in use: AH00072: make_sock: could not bind to address 10.0.0.5:8080"
		pgPort      = "port = 8080"
		redisPort   = "port 8080"
		// Sentinel's own line: the config is then Sentinel's.
		sentinelMonitor = "sentinel monitor mymaster 127.0.0.1 6379 2"
	)
	return []daemonCase{
		// Apache httpd: every Listen that fails stops it.
		{name: "apache/absent-v4", daemon: "apache", listens: []string{"10.0.0.100:80"},
			addr: "10.0.0.100", port: 80, wantFinding: "LBD101",
			wantStderr: "(99)Cannot assign requested address: AH00072: make_sock: could not bind to address 10.0.0.100:80"},
		{name: "apache/absent-v4-nonlocal", daemon: "apache", listens: []string{"10.0.0.100:80"},
			sysctls: nonlocal4, addr: "10.0.0.100", port: 80,
			wantBound: true, socket: "10.0.0.100:80"},
		{name: "apache/absent-v6", daemon: "apache", listens: []string{"[fd00::100]:80"},
			addr: "fd00::100", port: 80,
			wantStderr: "(99)Cannot assign requested address: AH00072: make_sock: could not bind to address [fd00::100]:80"},
		{name: "apache/one-of-two-absent", daemon: "apache", listens: []string{"10.0.0.5:8080", "10.0.0.100:8080"},
			addr: "10.0.0.100", port: 8080,
			wantStderr: "(99)Cannot assign requested address: AH00072: make_sock: could not bind to address 10.0.0.100:8080"},
		{name: "apache/port-held-by-wildcard", daemon: "apache", listens: []string{"10.0.0.5:8080"},
			holder: "tcp4 0.0.0.0:8080", addr: "10.0.0.5", port: 8080,
			wantStderr: apacheInUse, wantFinding: "LBD201"},
		// A wildcard and a specific address on one port: both bind, in
		// order, and the second fails.
		{name: "apache/wildcard-then-specific", daemon: "apache", listens: []string{"0.0.0.0:8080", "10.0.0.5:8080"},
			addr: "10.0.0.5", port: 8080, wantStderr: apacheInUse, wantFinding: "LBD202"},
		// "Listen 8080" is one dual-stack [::]:8080 socket: an IPv4
		// holder on the port makes it fail.
		{name: "apache/dual-stack-vs-v4-holder", daemon: "apache", listens: []string{"8080"},
			holder: "tcp4 10.0.0.5:8080", addr: "::", port: 8080, wantFinding: "LBD201",
			wantStderr: "(98)Address already in use: AH00072: make_sock: could not bind to address [::]:8080"},
		// [::] and 0.0.0.0 on one port: httpd serves IPv4 from the [::]
		// socket and skips 0.0.0.0.
		{name: "apache/v6-wildcard-serves-v4", daemon: "apache", listens: []string{"0.0.0.0:8080", "[::]:8080"},
			addr: "0.0.0.0", port: 8080, wantBound: true, socket: "*:8080", wantVia: "[::]:8080"},
		// nginx and httpd on one port: the second to start fails.
		{name: "pair/nginx-then-apache", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			then: "apache", thenListens: []string{"10.0.0.5:8080"}, addr: "10.0.0.5", port: 8080,
			socket: "10.0.0.5:8080", wantStderr: apacheInUse, wantFinding: "LBD202"},

		// PostgreSQL: an address that fails is skipped; the server stops
		// only when none binds.
		{name: "postgresql/absent-v4", daemon: "postgresql", listens: []string{"10.0.0.100"}, global: []string{pgPort},
			addr: "10.0.0.100", port: 8080, wantFinding: "LBD101",
			wantStderr: `could not bind IPv4 address "10.0.0.100": Cannot assign requested address`},
		{name: "postgresql/absent-v4-nonlocal", daemon: "postgresql", listens: []string{"10.0.0.100"}, global: []string{pgPort},
			sysctls: nonlocal4, addr: "10.0.0.100", port: 8080, wantBound: true, socket: "10.0.0.100:8080"},
		{name: "postgresql/absent-v6", daemon: "postgresql", listens: []string{"fd00::100"}, global: []string{pgPort},
			addr: "fd00::100", port: 8080,
			wantStderr: `could not bind IPv6 address "fd00::100": Cannot assign requested address`},
		// The VIP absent, the node's own address present: the server
		// starts without the VIP.
		{name: "postgresql/one-of-two-absent", daemon: "postgresql", listens: []string{"10.0.0.100,10.0.0.5"}, global: []string{pgPort},
			addr: "10.0.0.100", port: 8080, wantBound: true, socket: "10.0.0.5:8080", wantFinding: "LBD101"},
		{name: "postgresql/port-held-by-wildcard", daemon: "postgresql", listens: []string{"10.0.0.5"}, global: []string{pgPort},
			holder: "tcp4 0.0.0.0:8080", addr: "10.0.0.5", port: 8080, wantFinding: "LBD201",
			wantStderr: `could not bind IPv4 address "10.0.0.5": Address already in use`},
		// "*" is 0.0.0.0 and [::] (IPV6_V6ONLY on): an IPv6 holder takes
		// [::] and the server starts on 0.0.0.0.
		{name: "postgresql/wildcard-v6-taken", daemon: "postgresql", listens: []string{"*"}, global: []string{pgPort},
			holder: "tcp6 [::]:8080", addr: "::", port: 8080, wantBound: true, socket: "0.0.0.0:8080", wantFinding: "LBD201"},
		// The server binds in order: 0.0.0.0 after 10.0.0.5 fails, is
		// logged, and the server runs on 10.0.0.5.
		{name: "postgresql/specific-then-wildcard", daemon: "postgresql", listens: []string{"10.0.0.5,0.0.0.0"}, global: []string{pgPort},
			addr: "0.0.0.0", port: 8080, wantBound: true, socket: "10.0.0.5:8080", wantFinding: "LBD202"},
		// A dual-stack holder takes both families: nothing binds.
		{name: "postgresql/wildcard-dual-stack-taken", daemon: "postgresql", listens: []string{"*"}, global: []string{pgPort},
			holder: "tcp [::]:8080", addr: "0.0.0.0", port: 8080, wantFinding: "LBD201",
			wantStderr: `could not bind IPv4 address "0.0.0.0": Address already in use`},

		// A unix socket directory that is missing: the lock file fails
		// first, and that is fatal.
		{name: "postgresql/unix-dir-missing", daemon: "postgresql", listens: []string{""},
			global: []string{pgPort, "unix_socket_directories = 'PREFIX/missing'"},
			addr:   "PREFIX/missing/.s.PGSQL.8080", wantFinding: "LBD301",
			wantStderr: `could not create lock file "PREFIX/missing/.s.PGSQL.8080.lock": No such file or directory`},
		{name: "postgresql/unix", daemon: "postgresql", listens: []string{""}, global: []string{pgPort},
			addr: "PREFIX/.s.PGSQL.8080", wantBound: true, socket: "PREFIX/.s.PGSQL.8080"},

		// Debian's unit starts the server through pg_ctlcluster, as
		// postgres without capabilities: port 80 fails with EACCES.
		{name: "postgresql/privileged-port-as-owner", daemon: "postgresql", listens: []string{"10.0.0.5"},
			global: []string{"port = 80"}, user: "postgres", addr: "10.0.0.5", port: 80, wantFinding: "LBD302",
			wantStderr: `could not bind IPv4 address "10.0.0.5": Permission denied`},
		{name: "postgresql/unprivileged-port-as-owner", daemon: "postgresql", listens: []string{"10.0.0.5"},
			global: []string{pgPort}, user: "postgres", addr: "10.0.0.5", port: 8080, wantBound: true, socket: "10.0.0.5:8080"},

		// Redis: every address must bind, except a "-" one that is not
		// available.
		{name: "redis/absent-v4", daemon: "redis", listens: []string{"10.0.0.100"}, global: []string{redisPort},
			addr: "10.0.0.100", port: 8080, wantFinding: "LBD101",
			wantStderr: "Could not create server TCP listening socket 10.0.0.100:8080: bind: Cannot assign requested address"},
		{name: "redis/absent-v4-nonlocal", daemon: "redis", listens: []string{"10.0.0.100"}, global: []string{redisPort},
			sysctls: nonlocal4, addr: "10.0.0.100", port: 8080, wantBound: true, socket: "10.0.0.100:8080"},
		{name: "redis/absent-v6", daemon: "redis", listens: []string{"fd00::100"}, global: []string{redisPort},
			addr: "fd00::100", port: 8080,
			wantStderr: "Could not create server TCP listening socket fd00::100:8080: bind: Cannot assign requested address"},
		{name: "redis/optional-absent", daemon: "redis", listens: []string{"10.0.0.5 -10.0.0.100"}, global: []string{redisPort},
			addr: "10.0.0.100", port: 8080, wantBound: true, socket: "10.0.0.5:8080", wantFinding: "LBD101"},
		// Nothing left to listen on: Redis exits.
		{name: "redis/only-optional-absent", daemon: "redis", listens: []string{"-10.0.0.100"}, global: []string{redisPort},
			addr: "10.0.0.100", port: 8080,
			wantStderr: "Could not create server TCP listening socket 10.0.0.100:8080: bind: Cannot assign requested address"},
		// "-" forgives an absent address, not a taken port.
		{name: "redis/optional-port-taken", daemon: "redis", listens: []string{"127.0.0.1 -10.0.0.5"}, global: []string{redisPort},
			holder: "tcp4 10.0.0.5:8080", addr: "10.0.0.5", port: 8080, wantFinding: "LBD201",
			wantStderr: "Could not create server TCP listening socket 10.0.0.5:8080: bind: Address already in use"},
		{name: "redis/wildcard-and-specific", daemon: "redis", listens: []string{"0.0.0.0 10.0.0.5"}, global: []string{redisPort},
			addr: "10.0.0.5", port: 8080, wantFinding: "LBD202",
			wantStderr: "Could not create server TCP listening socket 10.0.0.5:8080: bind: Address already in use"},
		// The default "* -::*" against a dual-stack holder: 0.0.0.0 fails.
		{name: "redis/default-bind-dual-stack-taken", daemon: "redis", listens: []string{"* -::*"}, global: []string{redisPort},
			holder: "tcp [::]:8080", addr: "0.0.0.0", port: 8080, wantFinding: "LBD201",
			wantStderr: "Could not create server TCP listening socket *:8080: bind: Address already in use"},
		{name: "redis/unix-dir-missing", daemon: "redis", global: []string{"port 0", "unixsocket PREFIX/missing/r.sock"},
			addr: "PREFIX/missing/r.sock", wantFinding: "LBD301",
			wantStderr: "Failed opening Unix socket: bind: No such file or directory"},
		{name: "redis/unix", daemon: "redis", global: []string{"port 0", "unixsocket PREFIX/r.sock"},
			addr: "PREFIX/r.sock", wantBound: true, socket: "PREFIX/r.sock"},
		// redis-server.service runs as redis: port 80 needs the capability.
		{name: "redis/privileged-port-as-user", daemon: "redis", listens: []string{"10.0.0.5"}, global: []string{"port 80"},
			user: "redis", addr: "10.0.0.5", port: 80, wantFinding: "LBD302",
			wantStderr: "Could not create server TCP listening socket 10.0.0.5:80: bind: Permission denied"},
		// Sentinel reads the same keywords, with 26379 as its default port.
		{name: "redis/sentinel-absent-v4", daemon: "redis", listens: []string{"10.0.0.100"}, global: []string{sentinelMonitor},
			addr: "10.0.0.100", port: 26379, wantFinding: "LBD101",
			wantStderr: "Could not create server TCP listening socket 10.0.0.100:26379: bind: Cannot assign requested address"},
		{name: "redis/sentinel-optional-absent", daemon: "redis", listens: []string{"10.0.0.5 -10.0.0.100"}, global: []string{sentinelMonitor},
			addr: "10.0.0.100", port: 26379, wantBound: true, socket: "10.0.0.5:26379", wantFinding: "LBD101"},
		{name: "redis/unprivileged-port-as-user", daemon: "redis", listens: []string{"10.0.0.5"}, global: []string{redisPort},
			user: "redis", addr: "10.0.0.5", port: 8080, wantBound: true, socket: "10.0.0.5:8080"},
	}
}
