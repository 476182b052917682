package checks

import (
	"fmt"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/selinux"
)

// LBD405 finds listeners SELinux lets bind now but denies after the next
// reboot: SELinux becomes enforcing, or a boolean set without -P goes back.
var LBD405 = &Check{
	ID:       "LBD405",
	Name:     "selinux-after-reboot",
	Title:    "SELinux denies this port after the next reboot",
	Severity: Warning,
	Doc: `The daemon binds now, but after the next reboot SELinux denies its domain
the port (see LBD303) and the daemon fails with EACCES:

    nginx: [emerg] bind() to 0.0.0.0:8888 failed (13: Permission denied)

Two things change at boot. /etc/selinux/config decides the mode: with
SELINUX=enforcing there, a host that is permissive (setenforce 0) or has
SELinux disabled now enforces after the reboot. And the booleans go back to
their persisted values: "setsebool haproxy_connect_any 1" without -P lasts
until the reboot; the persisted value is in booleans.local (or the
policy's default).

Fix: give the port a type the domain may bind, or persist the boolean:

    semanage port -a -t http_port_t -p tcp 8888
    setsebool -P haproxy_connect_any 1`,
	Run: func(p *Pass) error {
		p.eachListener(func(p *Pass, l *parsers.Listener) {
			v, ok := seJudge(p, l)
			if !ok || v.boot || v.f.BootMode != selinux.Enforcing || v.d.Permissive {
				return
			}
			var why string
			switch {
			case v.f.Mode != selinux.Enforcing:
				why = fmt.Sprintf("SELinux is %s now, and /etc/selinux/config sets SELINUX=enforcing for the next boot", v.f.Mode)
			case v.now:
				var names []string
				for _, b := range v.f.Booleans {
					if b.Value != b.Persisted {
						names = append(names, fmt.Sprintf("%s is %s now but %s after a reboot", b.Name, onOff(b.Value), onOff(b.Persisted)))
					}
				}
				why = "SELinux is enforcing and " + strings.Join(names, ", ")
			default:
				return // denied now: LBD303
			}
			short, _ := DaemonError(l, "EACCES")
			p.Report(Finding{
				Listener: l,
				Message:  fmt.Sprintf("%s binds now, but SELinux would deny it after the next reboot: %s", l.Service, short),
				Why:      why + "; " + v.why(),
				Fix:      v.fix(true),
			})
		})
		return nil
	},
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
