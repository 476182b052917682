package checks

import "fmt"

// LBD101 finds listen addresses that are not on the host and are not
// keepalived VIPs (those are LBD401's, since their presence depends on the
// node's role).
var LBD101 = &Check{
	ID:       "LBD101",
	Name:     "nonlocal-address",
	Title:    "Listen address is not on this host",
	Severity: Error,
	Doc: `A service listens on an IP address that this host does not have, so bind()
fails with EADDRNOTAVAIL (99: Cannot assign requested address) and the
service does not start:

    nginx: [emerg] bind() to 10.0.0.100:80 failed (99: Cannot assign requested address)
    [ALERT] : Binding [haproxy.cfg:8] for frontend web: cannot bind socket (Cannot assign requested address) for [10.0.0.100:80]
    (99)Cannot assign requested address: AH00072: make_sock: could not bind to address 10.0.0.100:80
    LOG:  could not bind IPv4 address "10.0.0.100": Cannot assign requested address
    # Warning: Could not create server TCP listening socket 10.0.0.100:6379: bind: Cannot assign requested address
    web.socket: Failed to create listening socket (10.0.0.100:9090): Cannot assign requested address
    listener 'web' failed to bind or apply socket options: cannot bind '10.0.0.100:80': Cannot assign requested address

PostgreSQL starts anyway when another of its listen_addresses binds, and
Redis when the address is written with a "-" prefix ("bind 10.0.0.5
-10.0.0.100") and another binds: for them the finding is a warning, the
service runs without that address.

The kernel lets a socket bind an IPv4 address by the type of its route in
table local (the longest prefix that covers it): local (an address on any
interface, even one that is down, the whole 127.0.0.0/8, or an AnyIP route
such as "ip route add local 10.9.0.0/24 dev lo"), broadcast (a subnet's
broadcast address while its link is up, "ip route add broadcast ...") or
multicast; multicast addresses (224.0.0.0/4) and 255.255.255.255 always
bind. A more specific unicast, blackhole, unreachable, prohibit, throw or
anycast route hides a local one, and until the first ip rule is added the
kernel keeps tables main and local together, so table main's routes count
too; local routes in other tables never do. UDP and TCP follow the same
rule. An IPv6 address must be configured on an interface
and must have finished duplicate address detection (not "tentative", not
"dadfailed"). Otherwise only net.ipv4.ip_nonlocal_bind=1 (IPv4) or
net.ipv6.ip_nonlocal_bind=1 (IPv6) lets the bind succeed; the IPv4 sysctl
does nothing for IPv6. HAProxy's "transparent" bind option also does, and
so do a systemd socket unit's FreeBind=yes or Transparent=yes and an Envoy
listener's "freebind: true" or "transparent: true" (which set IP_FREEBIND
or IP_TRANSPARENT on the socket).

Fix: if the address is a typo, correct the listen line. If the address
arrives later (a VIP, a floating IP added by an orchestrator), allow
non-local binds now and at every boot:

    sysctl -w net.ipv4.ip_nonlocal_bind=1
    echo 'net.ipv4.ip_nonlocal_bind = 1' > /etc/sysctl.d/60-lbdoctor.conf

Example that fires on a host without 10.0.0.100:

    server { listen 10.0.0.100:80; }`,
	Run: func(p *Pass) error {
		for _, l := range p.Listeners() {
			if !opensIPSocket(l) {
				continue
			}
			if _, isVIP := p.VIPFor(l.Addr); isVIP {
				continue
			}
			why := addressUnavailable(p.hostFor(l.Addr), l)
			// With --probe the kernel's own answer decides; LBD104 tells
			// when it differs from the model.
			if errno, probed := p.Probed(l); probed {
				if errno != "EADDRNOTAVAIL" {
					continue
				}
				if why == "" {
					why = fmt.Sprintf("a probe bind() of %s on this host failed with EADDRNOTAVAIL", l.Address())
				}
			}
			if why == "" {
				continue
			}
			short, full := DaemonError(l, "EADDRNOTAVAIL")
			fix, persist := nonlocalFix(l)
			p.Report(Finding{
				Listener:    l,
				Fix:         fix,
				Persist:     persist,
				Message:     fmt.Sprintf("%s would fail: %s", l.Service, short),
				DaemonError: full,
				Why:         why,
				Errno:       "EADDRNOTAVAIL",
			})
		}
		return nil
	},
}
