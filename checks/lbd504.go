package checks

import "fmt"

// LBD504 says when keepalived runs in another network namespace: its VIPs
// are added there, not in the namespace lbdoctor judges.
var LBD504 = &Check{
	ID:       "LBD504",
	Name:     "keepalived-netns",
	Title:    "keepalived runs in another network namespace",
	Severity: Warning,
	Doc: `global_defs sets net_namespace: keepalived moves itself into that network
namespace and adds its VIPs and static addresses there. nginx and HAProxy
in the namespace lbdoctor judges never see those addresses, so lbdoctor
judges their listens as plain addresses (LBD101), not as VIPs; and
"keepalived --config-test" checks only the global settings in that case.

Fix: run lbdoctor in that namespace (ip netns exec NAME lbdoctor check) to
judge the services that run there, or move the services into it.`,
	Run: func(p *Pass) error {
		for _, s := range p.Services {
			if s.Config == nil || s.Config.NetNamespace == "" {
				continue
			}
			p.Report(Finding{
				Service: s.Name,
				Pos:     s.Config.NetNamespacePos,
				Message: fmt.Sprintf("keepalived runs in network namespace %s: its VIPs are not added to the namespace judged here", s.Config.NetNamespace),
				Why:     "net_namespace moves keepalived, its VIPs and its static addresses into that namespace",
				Fix:     []string{fmt.Sprintf("ip netns exec %s lbdoctor check", s.Config.NetNamespace)},
			})
		}
		return nil
	},
}
