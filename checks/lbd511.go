package checks

import "fmt"

// LBD511 says when both sides of a VRRP router start as MASTER with equal
// priorities.
var LBD511 = &Check{
	ID:       "LBD511",
	Name:     "dual-master",
	Title:    "Both peers are state MASTER with equal priority",
	Severity: Warning,
	Doc: `Both nodes' vrrp_instances say "state MASTER" and have the same priority.
Each starts as MASTER and adds the VIP until it hears the other's adverts;
with equal priorities the tie is settled by start order and addresses, not
by the config, so which node ends up with the VIP after a restart is
anyone's guess, and for a moment both answer ARP for it.

Fix: give the intended MASTER the higher priority, and make the other node
"state BACKUP" with a lower one.

    lb1: state MASTER  priority 150
    lb2: state BACKUP  priority 100`,
	RunCluster: func(p *ClusterPass) error {
		for _, pr := range p.Peers {
			a, b := pr.A.Inst, pr.B.Inst
			if a.State != "MASTER" || b.State != "MASTER" || priority(a.Priority) != priority(b.Priority) {
				continue
			}
			p.Report(pairFinding(pr, a.Line("priority"), b.Line("priority"),
				fmt.Sprintf("vrrp_instance %s is state MASTER with priority %d on both %s and %s", a.Name, priority(a.Priority), pr.A.Node.Name, pr.B.Node.Name),
				"both nodes start as MASTER and add the VIP; start order and addresses, not the config, decide which keeps it",
				fmt.Sprintf("make one node state BACKUP with a lower priority (at %s on %s)", b.Line("state"), pr.B.Node.Name)))
		}
		return nil
	},
}

// priority is a vrrp_instance's priority with keepalived's default.
func priority(p int) int {
	if p == 0 {
		return 100
	}
	return p
}
