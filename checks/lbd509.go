package checks

import "fmt"

// LBD509 says when the two sides of one VRRP router speak different
// address families.
var LBD509 = &Check{
	ID:       "LBD509",
	Name:     "peer-family-mismatch",
	Title:    "Peers of a VRRP instance use different address families",
	Severity: Error,
	Doc: `Two nodes' vrrp_instances act as one VRRP router, but one is an IPv4
instance and the other an IPv6 one (keepalived fixes an instance's family
with its first address, or native_ipv6). VRRP for IPv4 and for IPv6 are
separate protocols on separate sockets: neither node ever hears the other,
so both become MASTER.

Fix: make the instance the same family on both nodes; put addresses of the
other family in virtual_ipaddress_excluded, or in an instance of their own.`,
	RunCluster: func(p *ClusterPass) error {
		for _, pr := range p.Peers {
			a, b := vrrpFamily(pr.A.Inst.Family), vrrpFamily(pr.B.Inst.Family)
			if a == b {
				continue
			}
			p.Report(pairFinding(pr, pr.A.Inst.Pos, pr.B.Inst.Pos,
				fmt.Sprintf("vrrp_instance %s is IPv%d on %s but IPv%d on %s", pr.A.Inst.Name, a, pr.A.Node.Name, b, pr.B.Node.Name),
				"VRRP over IPv4 and over IPv6 never meet, so each node thinks it is alone and becomes MASTER",
				"make the instance's first address (or native_ipv6) the same family on both nodes"))
		}
		return nil
	},
}

// vrrpFamily is an instance's family with keepalived's default, IPv4.
func vrrpFamily(f int) int {
	if f == 0 {
		return 4
	}
	return f
}
