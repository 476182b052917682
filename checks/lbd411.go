package checks

import (
	"fmt"
	"strings"
)

// LBD411 finds listen addresses the kernel marks dynamic: leased by DHCP or
// configured by SLAAC, they can change.
var LBD411 = &Check{
	ID:       "LBD411",
	Name:     "dynamic-address",
	Title:    "A listen address is leased and can change",
	Severity: Warning,
	Doc: `A listener binds an address the kernel marks "dynamic" (ip addr shows it,
with a finite valid_lft): a DHCP lease or an IPv6 address from router
advertisements (SLAAC). When the lease ends or the next boot leases another
address, the service can no longer bind it, or it keeps a socket on an
address that is gone:

    nginx: [emerg] bind() to 192.168.1.23:80 failed (99: Cannot assign requested address)

Fix: give the host a static address for the service (and keep DHCP for the
rest if needed), or reserve the address in the DHCP server; or listen on the
wildcard address. lbdoctor prints the lines that add it statically in the
tool that manages the interface (see LBD410).`,
	Run: func(p *Pass) error {
		v := p.netView()
		for _, l := range p.Listeners() {
			n, ok := v.needsAddress(p, l)
			if !ok || !isDynamic(n) {
				continue
			}
			why := fmt.Sprintf("%s/%d on %s has a lifetime (the kernel marks it dynamic)", n.ip, n.have.Prefix, n.have.Interface)
			var fix []string
			var persist []FileLine
			if v.cfg != nil {
				var dhcp []string
				for _, pr := range v.applied[n.have.Interface] {
					if len(pr.DHCP) > 0 {
						dhcp = append(dhcp, fmt.Sprintf("%s %s (%s) leases %s", toolTitle[pr.Tool], pr.Name, pr.File, strings.Join(pr.DHCP, " and ")))
					}
				}
				if len(dhcp) > 0 {
					why += "; " + strings.Join(dhcp, "; ")
				}
				if v.takesFix(n) {
					fix, persist = v.fix(p, n)
				}
			}
			p.Report(Finding{
				Listener: l,
				Message:  fmt.Sprintf("%s is a dynamic address (DHCP or SLAAC): it can change at the next lease or reboot, and %s would fail with 99", n.ip, l.Service),
				Why:      why,
				Fix:      fix,
				Persist:  persist,
			})
		}
		return nil
	},
}
