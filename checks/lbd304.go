package checks

import (
	"fmt"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/selinux"
)

// LBD304 finds listeners that bind only because SELinux, or the daemon's
// domain, is permissive.
var LBD304 = &Check{
	ID:       "LBD304",
	Name:     "selinux-permissive",
	Title:    "SELinux would deny this port once enforcing",
	Severity: Warning,
	Doc: `The daemon's domain may not bind the port (see LBD303), but the bind
succeeds now because SELinux is permissive (setenforce 0, SELINUX=permissive)
or the domain itself is permissive ("semanage permissive -a httpd_t": a
permissive_httpd_t module). SELinux only logs the denial (an AVC in the
audit log); once it enforces, the daemon fails with EACCES:

    nginx: [emerg] bind() to 0.0.0.0:8888 failed (13: Permission denied)

When SELinux is permissive now but /etc/selinux/config makes it enforcing
after a reboot, LBD405 says so instead.

Fix: the same as LBD303, before enforcing:

    semanage port -a -t http_port_t -p tcp 8888`,
	Run: func(p *Pass) error {
		p.eachListener(func(p *Pass, l *parsers.Listener) {
			v, ok := seJudge(p, l)
			if !ok || v.now {
				return
			}
			var why string
			switch {
			case v.f.Mode == selinux.Enforcing && v.d.Permissive:
				why = fmt.Sprintf("%s is a permissive domain (semanage permissive -l)", v.d.Domain)
			case v.f.Mode == selinux.Permissive && v.d.Permissive:
				why = fmt.Sprintf("SELinux is permissive and %s is a permissive domain", v.d.Domain)
			case v.f.Mode == selinux.Permissive && v.f.BootMode != selinux.Enforcing:
				why = "SELinux is permissive (/sys/fs/selinux/enforce is 0)"
			default:
				return
			}
			short, _ := DaemonError(l, "EACCES")
			p.Report(Finding{
				Listener: l,
				Message:  fmt.Sprintf("%s binds now only because SELinux does not enforce; denied once enforcing: %s", l.Service, short),
				Why:      why + ", so the denial is only logged: " + v.why(),
				Fix:      v.fix(false),
			})
		})
		return nil
	},
}
