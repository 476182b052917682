package checks

import "fmt"

// LBD104 reports where --probe's bind() disagrees with lbdoctor's model of
// the kernel.
var LBD104 = &Check{
	ID:       "LBD104",
	Name:     "probe-disagrees",
	Title:    "The kernel's answer to a probe differs from lbdoctor's model",
	Severity: Warning,
	Doc: `With --probe, lbdoctor also asks the kernel of the namespace it runs in:
for each distinct listen address it opens a socket of the same family and
type, with the options the daemon sets (IP_TRANSPARENT for HAProxy's
"transparent"), binds it to port 0, so that no real port is ever taken, and
closes it. When the kernel's answer differs from what lbdoctor predicted
from addresses, routes and sysctls, the probe decides the verdict and this
finding shows both, because the model missed something about this host
(a VRF, a policy, a kernel feature) that deserves a look and a bug report.

It never fires without --probe, and it judges only the current state: a
probe cannot tell what happens after a failover or a reboot.`,
	Run: func(p *Pass) error {
		for _, l := range p.Listeners() {
			errno, probed := p.Probed(l)
			if !probed {
				continue
			}
			model := addressUnavailable(p.hostFor(l.Addr), l)
			switch {
			case errno == "" && model != "":
				p.Report(Finding{
					Listener: l,
					Message:  fmt.Sprintf("a probe bind() of %s succeeded, but lbdoctor's model predicted EADDRNOTAVAIL", l.Address()),
					Why:      "the model said: " + model + "; the probe's answer is the verdict",
				})
			case errno == "EADDRNOTAVAIL" && model == "":
				p.Report(Finding{
					Listener: l,
					Message:  fmt.Sprintf("a probe bind() of %s failed with EADDRNOTAVAIL, but lbdoctor's model predicted it binds", l.Address()),
					Why:      "the addresses, local routes and sysctls lbdoctor read say it is bindable; the probe's answer is the verdict",
				})
			}
		}
		return nil
	},
}
