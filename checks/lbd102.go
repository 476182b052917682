package checks

import "fmt"

// LBD102 finds IPv6 listeners on a kernel without IPv6.
var LBD102 = &Check{
	ID:       "LBD102",
	Name:     "no-ipv6",
	Title:    "IPv6 listen on a host without IPv6",
	Severity: Error,
	Doc: `The kernel has no IPv6 at all (booted with ipv6.disable=1, or built
without it), so creating an IPv6 socket fails with EAFNOSUPPORT (97: Address
family not supported by protocol) and the service does not start:

    nginx: [emerg] socket() [::]:80 failed (97: Address family not supported by protocol)

This is common after copying a stock config ("listen [::]:80") to a host
where IPv6 was disabled on the kernel command line.

Fix: remove the IPv6 listen lines, or boot with IPv6 enabled (remove
ipv6.disable=1 from the kernel command line). Disabling IPv6 per interface
with net.ipv6.conf.all.disable_ipv6=1 does not cause this.

Example:

    server { listen 80; listen [::]:80; }`,
	Run: func(p *Pass) error {
		if !p.Host.NoIPv6 {
			return nil
		}
		for _, l := range p.Listeners() {
			if !opensIPSocket(l) || !l.Addr.Is6() || l.Addr.Is4In6() {
				continue
			}
			short, full := noIPv6Error(l)
			why := "this host's kernel has no IPv6 (/proc/sys/net/ipv6 does not exist)"
			if ipv6Disabled(p.Host.Cmdline) {
				why = "this host's kernel was booted with ipv6.disable=1 (/proc/cmdline), so it has no IPv6"
			}
			p.Report(Finding{
				Listener:    l,
				Message:     fmt.Sprintf("%s would fail: %s", l.Service, short),
				DaemonError: full,
				Why:         why,
				Fix:         []string{fmt.Sprintf("remove the IPv6 listen at %s, or boot without ipv6.disable=1", l.Pos)},
				Errno:       "EAFNOSUPPORT",
			})
		}
		return nil
	},
}
