package checks

import "fmt"

// LBD513 says when two clusters use one virtual_router_id on one network.
var LBD513 = &Check{
	ID:       "LBD513",
	Name:     "vrid-collision",
	Title:    "Two clusters use the same virtual_router_id on one network",
	Severity: Error,
	Doc: `Two vrrp_instances of different clusters (they share no VIP and do not
name each other as peers) use the same virtual_router_id on the same
network. VRRP routers on a link are told apart by that ID alone (and the
virtual MAC 00:00:5e:00:01:VRID): each cluster receives the other's
adverts, logs "received an invalid ip address count" or "VRRP_Instance
... ignoring advert from a different VIP set", and depending on priorities
a node of one cluster goes BACKUP for the other's MASTER and never holds
its own VIP.

Fix: give each cluster on a network its own virtual_router_id (1-255).`,
	RunCluster: func(p *ClusterPass) error {
		for _, pr := range p.Strangers {
			a, b := pr.A.Inst, pr.B.Inst
			if a.VirtualRouterID == 0 || a.VirtualRouterID != b.VirtualRouterID || vrrpFamily(a.Family) != vrrpFamily(b.Family) {
				continue
			}
			p.Report(pairFinding(pr, a.Line("virtual_router_id"), b.Line("virtual_router_id"),
				fmt.Sprintf("virtual_router_id %d of vrrp_instance %s on %s is also used by vrrp_instance %s on %s, another cluster on the same network", a.VirtualRouterID, a.Name, pr.A.Node.Name, b.Name, pr.B.Node.Name),
				"VRRP tells routers on a link apart by their ID only: the two clusters receive each other's adverts and fight over mastership",
				fmt.Sprintf("give one of the clusters another virtual_router_id (at %s on %s)", b.Line("virtual_router_id"), pr.B.Node.Name)))
		}
		return nil
	},
}
