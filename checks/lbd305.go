package checks

import (
	"fmt"

	"github.com/lbdoctor/lbdoctor/parsers/selinux"
)

// LBD305 says when SELinux is on but its policy could not be read, so the
// SELinux checks could not judge the ports.
var LBD305 = &Check{
	ID:       "LBD305",
	Name:     "selinux-unread",
	Title:    "SELinux is on but its policy could not be read",
	Severity: Info,
	Doc: `SELinux is enforcing or permissive (or will enforce after a reboot), but
lbdoctor could not read the installed policy, so LBD303, LBD304 and LBD405
could not say whether the daemons' domains may bind their ports. The usual
reason: the module store (/var/lib/selinux/POLICY/active) is readable by
root only, and lbdoctor ran as another user.

Fix: run lbdoctor as root, or take the snapshot as root on the node and
judge it anywhere:

    sudo lbdoctor snapshot -o node.yaml
    lbdoctor check --host node.yaml`,
	Run: func(p *Pass) error {
		f := p.Host.SELinux
		if f == nil || f.Unread == "" || (f.Mode == selinux.Disabled && f.BootMode != selinux.Enforcing) {
			return nil
		}
		// One finding per service, on its first IP listener.
		for _, s := range p.Services {
			if s.Config == nil {
				continue
			}
			for i := range s.Config.Listeners {
				l := &s.Config.Listeners[i]
				if !opensIPSocket(l) || l.Port == 0 {
					continue
				}
				p.Report(Finding{
					Listener: l,
					Message:  fmt.Sprintf("SELinux is %s (%s after a reboot) but its policy was not read: whether %s may bind its ports is unknown", f.Mode, f.BootMode, s.Name),
					Why:      f.Unread,
					Fix:      []string{"sudo lbdoctor check"},
				})
				break
			}
		}
		return nil
	},
}
