package checks

import "fmt"

// LBD512 says when only one side of a VRRP router has nopreempt.
var LBD512 = &Check{
	ID:       "LBD512",
	Name:     "nopreempt-one-side",
	Title:    "nopreempt is set on one peer only",
	Severity: Warning,
	Doc: `nopreempt keeps a node that is MASTER from being taken over by a peer with
a higher priority. Set on one node only, the pair behaves differently
depending on which node failed: after one failover the VIP moves back as
soon as the other node returns, after the other it stays. Worse, keepalived
honours nopreempt only with "state BACKUP": a node that is "state MASTER"
takes the VIP at start whatever its peer says, so both briefly hold it.

Fix: set nopreempt on every node of the pair (each with state BACKUP), or
on none.`,
	RunCluster: func(p *ClusterPass) error {
		for _, pr := range p.Peers {
			a, b := pr.A.Inst, pr.B.Inst
			if a.Nopreempt == b.Nopreempt {
				continue
			}
			// Reported on the node that has it.
			dir := pr
			if b.Nopreempt {
				dir = InstancePair{A: pr.B, B: pr.A}
			}
			p.Report(pairFinding(dir, dir.A.Inst.Line("nopreempt"), dir.B.Inst.Pos,
				fmt.Sprintf("vrrp_instance %s has nopreempt on %s but not on %s", dir.A.Inst.Name, dir.A.Node.Name, dir.B.Node.Name),
				"the VIP moves back after one failover and stays after the other; a MASTER-state peer takes it at start",
				"set nopreempt (with state BACKUP) on both nodes, or on neither"))
		}
		return nil
	},
}
