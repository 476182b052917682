package checks

import "fmt"

// LBD103 finds IPv6 link-local listen addresses without an interface.
var LBD103 = &Check{
	ID:       "LBD103",
	Name:     "link-local-scope",
	Title:    "IPv6 link-local listen address without an interface",
	Severity: Error,
	Doc: `An IPv6 link-local address (fe80::/10) exists once per interface, so the
kernel refuses to bind one without a scope: bind() fails with EINVAL (22:
Invalid argument), even when the address is configured:

    nginx: [emerg] bind() to [fe80::1]:80 failed (22: Invalid argument)

Fix: listen on a global or unique-local address instead, or (HAProxy) give
the interface: "bind fe80::1%eth0:80" or "bind fe80::1:80 interface eth0".

Example:

    server { listen [fe80::1]:80; }`,
	Run: func(p *Pass) error {
		for _, l := range p.Listeners() {
			if !opensIPSocket(l) || !l.Addr.Is6() || !l.Addr.IsLinkLocalUnicast() || l.Addr.Zone() != "" {
				continue
			}
			short, full := DaemonError(l, "EINVAL")
			p.Report(Finding{
				Listener:    l,
				Message:     fmt.Sprintf("%s would fail: %s", l.Service, short),
				DaemonError: full,
				Why:         fmt.Sprintf("%s is link-local and the listen names no interface to scope it", l.Address()),
				Fix:         []string{fmt.Sprintf("use a global or unique-local address at %s, or name the interface", l.Pos)},
				Errno:       "EINVAL",
			})
		}
		return nil
	},
}
