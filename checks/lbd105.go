package checks

import (
	"fmt"
	"strings"
)

// LBD105 finds HAProxy binds whose address came from environment variables
// that were not set, leaving a wildcard.
var LBD105 = &Check{
	ID:       "LBD105",
	Name:     "empty-variable",
	Title:    "An unset environment variable turned a bind address into a wildcard",
	Severity: Warning,
	Doc: `HAProxy expands environment variables in bind addresses ("bind ${VIP}:80",
"bind $VIP:80") and an unset variable expands to nothing, silently: the line
becomes "bind :80", which listens on every IPv4 address of the host instead
of the VIP. It starts, so "haproxy -c" and a start are both happy, but the
frontend now also answers on the node's own addresses, and it takes the
port from every other service that wanted it on a specific address.

lbdoctor expands variables from the environment the service will have:
lbdoctor's own, /etc/default/haproxy and /etc/sysconfig/haproxy under
--root (what the packaged unit loads) and --env files.

Fix: set the variable where the service gets its environment (the
EnvironmentFile= of haproxy.service, usually /etc/default/haproxy), or
guard the bind with ".if defined(VIP)" so that a missing variable drops it
instead of widening it.`,
	Run: func(p *Pass) error {
		for _, l := range p.Listeners() {
			if len(l.EmptyVars) == 0 || !l.Addr.IsValid() || !l.Addr.IsUnspecified() {
				continue
			}
			p.Report(Finding{
				Listener: l,
				Message:  fmt.Sprintf("%s binds %s because %s expanded to nothing", l.Service, l.Socket(), strings.Join(l.EmptyVars, ", ")),
				Why:      fmt.Sprintf("%s is not set in the service's environment, so the address became the wildcard %s", strings.Join(l.EmptyVars, ", "), l.Address()),
				Fix:      []string{fmt.Sprintf("echo '%s=ADDRESS' >> /etc/default/haproxy", l.EmptyVars[0])},
			})
		}
		return nil
	},
}
