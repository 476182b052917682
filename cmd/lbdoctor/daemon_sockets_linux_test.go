package main

// socketDaemonCases are TestDaemonsAgree's cases for systemd socket units.
// systemd is not PID 1 in the test's namespaces, so there is no real
// socket activation: testdata/daemon/systemd-socket-bind.py binds the
// unit's sockets with the socket options systemd's socket_address_listen()
// sets (IPV6_V6ONLY from BindIPv6Only=, SO_REUSEPORT, IP_FREEBIND,
// IP_TRANSPARENT, SO_REUSEADDR) and prints systemd's own failure line; the
// kernel decides. The "pair" cases then start the real nginx or HAProxy
// beside the held socket, as at boot, where systemd binds first.
func socketDaemonCases() []daemonCase {
	bindv6only := map[string]string{"net.ipv6.bindv6only": "1"}
	const (
		unit    = "web.socket: Failed to create listening socket "
		dualUse = unit + "([::]:8080): Address already in use"
	)
	return []daemonCase{
		// An address the node does not hold (the VIP on the BACKUP).
		{name: "socket/absent-v4", daemon: "systemd-socket", listens: []string{"ListenStream=10.0.0.100:8080"},
			addr: "10.0.0.100", port: 8080, wantFinding: "LBD101",
			wantStderr: unit + "(10.0.0.100:8080): Cannot assign requested address"},
		{name: "socket/absent-v6", daemon: "systemd-socket", listens: []string{"ListenStream=[fd00::100]:8080"},
			addr: "fd00::100", port: 8080, wantFinding: "LBD101",
			wantStderr: unit + "([fd00::100]:8080): Cannot assign requested address"},
		{name: "socket/absent-udp", daemon: "systemd-socket", listens: []string{"ListenDatagram=10.0.0.100:8080"},
			addr: "10.0.0.100", port: 8080, proto: "udp", wantFinding: "LBD101",
			wantStderr: unit + "(10.0.0.100:8080): Cannot assign requested address"},
		// FreeBind= sets IP_FREEBIND (IPV6_FREEBIND): the VIP binds before
		// it arrives, without the sysctl.
		{name: "socket/freebind-absent-v4", daemon: "systemd-socket", listens: []string{"ListenStream=10.0.0.100:8080", "FreeBind=yes"},
			addr: "10.0.0.100", port: 8080, wantBound: true, socket: "10.0.0.100:8080"},
		{name: "socket/freebind-absent-v6", daemon: "systemd-socket", listens: []string{"ListenStream=[fd00::100]:8080", "FreeBind=yes"},
			addr: "fd00::100", port: 8080, wantBound: true, socket: "[fd00::100]:8080"},
		{name: "socket/freebind-absent-udp", daemon: "systemd-socket", listens: []string{"ListenDatagram=10.0.0.100:8080", "FreeBind=true"},
			addr: "10.0.0.100", port: 8080, proto: "udp", wantBound: true, socket: "10.0.0.100:8080"},
		// Transparent= (IP_TRANSPARENT, systemd runs as root) does too.
		{name: "socket/transparent-absent-v4", daemon: "systemd-socket", listens: []string{"ListenStream=10.0.0.100:8080", "Transparent=yes"},
			addr: "10.0.0.100", port: 8080, wantBound: true, socket: "10.0.0.100:8080"},
		// The sysctl, without FreeBind=.
		{name: "socket/absent-v4-nonlocal", daemon: "systemd-socket", listens: []string{"ListenStream=10.0.0.100:8080"},
			sysctls: map[string]string{"net.ipv4.ip_nonlocal_bind": "1"},
			addr:    "10.0.0.100", port: 8080, wantBound: true, socket: "10.0.0.100:8080"},
		// A second listen of the unit fails: the unit fails as a whole.
		{name: "socket/one-of-two-absent", daemon: "systemd-socket", listens: []string{"ListenStream=10.0.0.5:8080", "ListenStream=10.0.0.100:8080"},
			addr: "10.0.0.100", port: 8080, wantFinding: "LBD101",
			wantStderr: unit + "(10.0.0.100:8080): Cannot assign requested address"},
		// The port held by another program.
		{name: "socket/port-held-by-wildcard", daemon: "systemd-socket", listens: []string{"ListenStream=10.0.0.5:8080"},
			holder: "tcp4 0.0.0.0:8080", addr: "10.0.0.5", port: 8080, wantFinding: "LBD201",
			wantStderr: unit + "(10.0.0.5:8080): Address already in use"},
		// A bare port is [::]:PORT. BindIPv6Only=both makes it dual-stack,
		// so an IPv4 holder on the port makes it fail; ipv6-only does not;
		// default follows net.ipv6.bindv6only.
		{name: "socket/bare-port-both-vs-v4-holder", daemon: "systemd-socket", listens: []string{"ListenStream=8080", "BindIPv6Only=both"},
			holder: "tcp4 10.0.0.5:8080", addr: "::", port: 8080, wantFinding: "LBD201", wantStderr: dualUse},
		{name: "socket/bare-port-default-vs-v4-holder", daemon: "systemd-socket", listens: []string{"ListenStream=8080"},
			holder: "tcp4 10.0.0.5:8080", addr: "::", port: 8080, wantFinding: "LBD201", wantStderr: dualUse},
		{name: "socket/bare-port-ipv6only-vs-v4-holder", daemon: "systemd-socket", listens: []string{"ListenStream=8080", "BindIPv6Only=ipv6-only"},
			holder: "tcp4 10.0.0.5:8080", addr: "::", port: 8080, wantBound: true, socket: "[::]:8080"},
		{name: "socket/bare-port-default-bindv6only", daemon: "systemd-socket", listens: []string{"ListenStream=8080"},
			sysctls: bindv6only, holder: "tcp4 10.0.0.5:8080", addr: "::", port: 8080, wantBound: true, socket: "[::]:8080"},
		// Two sockets of one unit on one port: the second fails.
		{name: "socket/wildcard-then-specific", daemon: "systemd-socket", listens: []string{"ListenStream=0.0.0.0:8080", "ListenStream=10.0.0.5:8080"},
			addr: "10.0.0.5", port: 8080, wantFinding: "LBD202",
			wantStderr: unit + "(10.0.0.5:8080): Address already in use"},
		// A unix socket: systemd makes its directory.
		{name: "socket/unix-dir-missing", daemon: "systemd-socket", listens: []string{"ListenStream=PREFIX/missing/web.sock"},
			addr: "PREFIX/missing/web.sock", wantBound: true, socket: "PREFIX/missing/web.sock"},

		// systemd holds the socket first (boot order); the real daemon
		// started after it is the one that fails, and lbdoctor must say
		// so on the daemon's line, naming the unit's.
		{name: "pair/socket-then-nginx", daemon: "systemd-socket", listens: []string{"ListenStream=8080", "BindIPv6Only=both"},
			then: "nginx", thenListens: []string{"10.0.0.5:8080"}, addr: "::", thenAddr: "10.0.0.5", port: 8080,
			firstSocket: "*:8080", socket: "10.0.0.5:8080", wantFinding: "LBD202",
			wantStderr: "bind() to 10.0.0.5:8080 failed (98: Address already in use)"},
		{name: "pair/socket-ipv6only-then-nginx", daemon: "systemd-socket", listens: []string{"ListenStream=8080", "BindIPv6Only=ipv6-only"},
			then: "nginx", thenListens: []string{"10.0.0.5:8080"}, addr: "::", thenAddr: "10.0.0.5", port: 8080,
			firstSocket: "[::]:8080", socket: "10.0.0.5:8080", wantBound: true},
		{name: "pair/socket-then-haproxy", daemon: "systemd-socket", listens: []string{"ListenStream=10.0.0.5:8080"},
			then: "haproxy", thenListens: []string{"10.0.0.5:8080"}, addr: "10.0.0.5", port: 8080,
			socket: "10.0.0.5:8080", wantFinding: "LBD202",
			wantStderr: "cannot bind socket (Address already in use) for [10.0.0.5:8080]"},
		// ReusePort= on the unit and HAProxy's default SO_REUSEPORT, both
		// as root: the kernel lets them share the port.
		{name: "pair/socket-reuseport-then-haproxy", daemon: "systemd-socket", listens: []string{"ListenStream=10.0.0.5:8080", "ReusePort=yes"},
			then: "haproxy", thenListens: []string{"10.0.0.5:8080"}, addr: "10.0.0.5", port: 8080,
			socket: "10.0.0.5:8080", wantBound: true},
		// FreeBind= lets the unit hold the absent VIP: nginx on the same
		// VIP then fails with EADDRINUSE, not EADDRNOTAVAIL.
		{name: "pair/socket-freebind-then-nginx-nonlocal", daemon: "systemd-socket", listens: []string{"ListenStream=10.0.0.100:8080", "FreeBind=yes"},
			sysctls: map[string]string{"net.ipv4.ip_nonlocal_bind": "1"},
			then:    "nginx", thenListens: []string{"10.0.0.100:8080"}, addr: "10.0.0.100", port: 8080,
			socket: "10.0.0.100:8080", wantFinding: "LBD202",
			wantStderr: "bind() to 10.0.0.100:8080 failed (98: Address already in use)"},
	}
}
