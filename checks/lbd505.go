package checks

import "fmt"

// LBD505 says when the two sides of one VRRP router use different
// virtual_router_ids.
var LBD505 = &Check{
	ID:       "LBD505",
	Name:     "peer-vrid-mismatch",
	Title:    "Peers of a VRRP instance use different virtual_router_ids",
	Severity: Error,
	Doc: `Two nodes share a VIP (or name each other as unicast peers), so their
vrrp_instances are meant to be one VRRP router, but their virtual_router_id
differ. VRRP tells routers apart by that ID: each node ignores the other's
adverts ("received VRID mismatch") and believes it is alone, so both become
MASTER and add the VIP: split brain, with two hosts answering ARP for the
same address.

Fix: give the instance the same virtual_router_id on every node of the
pair, one that no other cluster uses on that network (LBD513).

    lb1: vrrp_instance VI_1 { virtual_router_id 51 ... }
    lb2: vrrp_instance VI_1 { virtual_router_id 51 ... }`,
	RunCluster: func(p *ClusterPass) error {
		for _, pr := range p.Peers {
			a, b := pr.A.Inst, pr.B.Inst
			if a.VirtualRouterID == b.VirtualRouterID {
				continue
			}
			other := ""
			if b.Name != a.Name {
				other = " (vrrp_instance " + b.Name + ")"
			}
			p.Report(pairFinding(pr, a.Line("virtual_router_id"), b.Line("virtual_router_id"),
				fmt.Sprintf("vrrp_instance %s has virtual_router_id %d on %s but %d on %s%s", a.Name, a.VirtualRouterID, pr.A.Node.Name, b.VirtualRouterID, pr.B.Node.Name, other),
				"each node drops the other's adverts as another router's, so both become MASTER and hold the VIP",
				fmt.Sprintf("set the same virtual_router_id at %s on %s and at %s on %s", a.Line("virtual_router_id"), pr.A.Node.Name, b.Line("virtual_router_id"), pr.B.Node.Name)))
		}
		return nil
	},
}
