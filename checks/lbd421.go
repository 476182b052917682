package checks

import (
	"fmt"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// LBD421 notes a bind sysctl whose value after the next reboot differs
// from the running one without breaking a listener: persisted but not
// applied, or set by hand and lost at boot to a listener's good.
var LBD421 = &Check{
	ID:       "LBD421",
	Name:     "sysctl-differs-at-reboot",
	Title:    "A bind sysctl differs after the next reboot",
	Severity: Info,
	Doc: `A sysctl that decides binds (net.ipv4.ip_unprivileged_port_start,
net.ipv6.bindv6only, net.ipv6.conf.IFACE.disable_ipv6) has another value
after the next reboot than now, and no listener binds now and fails then
(that would be LBD420):

  - a sysctl.d file sets it, but the file was never applied: the next boot
    changes it. Listeners that fail now because of the running value bind
    after the reboot, and the note names them;
  - it was set by hand and no file keeps it: after a reboot the kernel
    default holds, and listeners that fail now because of it bind then.
    For disable_ipv6, an interface's IPv6 addresses come back at boot only
    as far as the network configuration adds them.

(The non-local bind sysctls are LBD403's.)

Fix: apply the files now, so that now and after a reboot agree:

    sysctl --system`,
	Run: func(p *Pass) error {
		for _, e := range p.rebootEffects() {
			if len(e.worse) > 0 {
				continue // LBD420
			}
			var names []string
			for _, l := range e.better {
				names = append(names, fmt.Sprintf("%s at %s", l.Socket(), l.Pos))
			}
			then := ""
			if len(names) > 0 {
				then = "; then " + strings.Join(names, ", ") + " would bind"
			}
			if e.at.File != "" {
				service := ""
				if len(e.better) > 0 {
					service = e.better[0].Service
				}
				p.Report(Finding{
					Service: service,
					Pos:     e.at,
					Message: fmt.Sprintf("%s = %s is persisted here but the running value is %s", e.name, e.boot, e.now),
					Why:     fmt.Sprintf("the file was not applied since it was written, so the next boot changes %s%s", e.name, then),
					Fix:     []string{"sysctl -p " + e.at.File, "sysctl --system"},
				})
				continue
			}
			if len(e.better) == 0 {
				continue // set by hand, changes nothing lbdoctor sees
			}
			l := e.better[0]
			why := fmt.Sprintf("no sysctl.d file sets %s, so after a reboot it is the kernel default %s%s", e.name, e.boot, then)
			if iface := host.DisableIPv6Iface(e.name); iface != "" {
				why += fmt.Sprintf(", as far as the network configuration adds %s's IPv6 addresses again", iface)
			}
			p.Report(Finding{
				Service: l.Service,
				Pos:     l.Pos,
				Address: l.Address(),
				Port:    l.Port,
				Message: fmt.Sprintf("%s is %s now but %s after the next reboot: %s fails now and binds then", e.name, e.now, e.boot, l.Socket()),
				Why:     why,
				Fix:     []string{fmt.Sprintf("sysctl -w %s=%s", e.name, e.boot)},
			})
		}
		return nil
	},
}
