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
net.ipv6.bindv6only, net.ipv6.conf.IFACE.disable_ipv6, and for the boot
race of LBD423 net.ipv4.ip_local_port_range and
net.ipv4.ip_local_reserved_ports) has another value after the next reboot
than now, and no listener binds now and fails then (that would be LBD420):

  - a sysctl.d file sets it, but the file was never applied: the next boot
    changes it. Listeners that fail now because of the running value bind
    after the reboot, and the note names them;
  - it was set by hand and no file keeps it: after a reboot the kernel
    default holds, and listeners that fail now because of it bind then.
    For disable_ipv6, an interface's IPv6 addresses come back at boot only
    as far as the boot network configuration creates them (lbdoctor reads
    it as LBD410 does): an address it names on that interface binds after
    the reboot, and the note names the listener; one that was added by
    hand does not come back, and the listener fails now and then (LBD101
    says so now; LBD410 would say it of an address that is there now). When
    lbdoctor found no network configuration, only lo's ::1 counts as
    coming back.

(The non-local bind sysctls are LBD403's.) A line that LBD420 blames for a
listener failing after the reboot gets no note: applying it would break
that listener now.

Fix: apply the files now, so that now and after a reboot agree:

    sysctl --system`,
	Run: func(p *Pass) error {
		// One note per line that sets values never applied: "all" decides
		// disable_ipv6 of every interface at once.
		type group struct {
			names  []string
			e      rebootEffect
			better []string
		}
		var groups []*group
		byLine := map[string]*group{}
		breaks := map[string]bool{} // lines LBD420 blames: applying them is no fix
		for _, e := range p.rebootEffects() {
			if len(e.worse) > 0 && e.at.File != "" {
				breaks[e.at.String()] = true
			}
		}
		for _, e := range p.rebootEffects() {
			if len(e.worse) > 0 || (e.at.File != "" && breaks[e.at.String()]) {
				continue // LBD420
			}
			var better []string
			for _, l := range e.better {
				better = append(better, fmt.Sprintf("%s at %s", l.Socket(), l.Pos))
			}
			if e.at.File != "" {
				key := fmt.Sprintf("%s %s %s", e.at, e.boot, e.now)
				g, ok := byLine[key]
				if !ok {
					g = &group{e: e}
					byLine[key] = g
					groups = append(groups, g)
				}
				g.names = append(g.names, e.name)
				g.better = append(g.better, better...)
				continue
			}
			if len(e.better) == 0 {
				continue // set by hand, changes nothing lbdoctor sees
			}
			l := e.better[0]
			why := fmt.Sprintf("no sysctl.d file sets %s, so after a reboot it is the kernel default %s; then %s would bind", e.name, e.boot, strings.Join(better, ", "))
			if iface := host.DisableIPv6Iface(e.name); iface != "" && iface != "lo" {
				why += fmt.Sprintf(", because the boot network configuration creates %s's IPv6 addresses again", iface)
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
		for _, g := range groups {
			e := g.e
			name := e.name
			if len(g.names) > 1 {
				var ifaces []string
				for _, n := range g.names {
					ifaces = append(ifaces, host.DisableIPv6Iface(n))
				}
				name = "disable_ipv6 of " + strings.Join(ifaces, ", ")
			}
			then := ""
			if len(g.better) > 0 {
				then = "; then " + strings.Join(g.better, ", ") + " would bind"
			}
			service := ""
			for _, ef := range p.rebootEffects() {
				if ef.at == e.at && len(ef.better) > 0 {
					service = ef.better[0].Service
					break
				}
			}
			p.Report(Finding{
				Service: service,
				Pos:     e.at,
				Message: fmt.Sprintf("%s = %s is persisted here but the running value is %s", name, e.boot, orEmpty(e.now)),
				Why:     fmt.Sprintf("the file was not applied since it was written, so the next boot changes it%s", then),
				Fix:     []string{"sysctl -p " + e.at.File, "sysctl --system"},
			})
		}
		return nil
	},
}
