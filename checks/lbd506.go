package checks

import (
	"fmt"
	"sort"
	"strings"
)

// LBD506 says when the two sides of one VRRP router carry different VIPs.
var LBD506 = &Check{
	ID:       "LBD506",
	Name:     "peer-vip-mismatch",
	Title:    "Peers of a VRRP instance carry different VIP sets",
	Severity: Error,
	Doc: `Two nodes' vrrp_instances act as one VRRP router, but their
virtual_ipaddress blocks differ: an address, or an address's prefix length,
is on one side only. After a failover the new MASTER adds only its own
list: an address present only on the old MASTER disappears from the
network, and a different prefix length changes the subnet route the VIP
brings (and what "ip addr" shows) depending on who is MASTER. keepalived
checks neither: each node reads its own file.

Fix: make virtual_ipaddress the same on every node of the pair, addresses
and prefixes alike.

    lb1: virtual_ipaddress { 10.0.0.100/24 dev eth0 }
    lb2: virtual_ipaddress { 10.0.0.100/24 dev eth0 }`,
	RunCluster: func(p *ClusterPass) error {
		for _, pr := range p.Peers {
			a, b := vipSet(pr.A.Inst), vipSet(pr.B.Inst)
			onlyA, onlyB := setMinus(a, b), setMinus(b, a)
			if len(onlyA) == 0 && len(onlyB) == 0 {
				continue
			}
			var parts []string
			if len(onlyA) > 0 {
				parts = append(parts, fmt.Sprintf("only %s has %s", pr.A.Node.Name, strings.Join(onlyA, ", ")))
			}
			if len(onlyB) > 0 {
				parts = append(parts, fmt.Sprintf("only %s has %s", pr.B.Node.Name, strings.Join(onlyB, ", ")))
			}
			pa, pb := pr.A.Inst.Line("virtual_ipaddress"), pr.B.Inst.Line("virtual_ipaddress")
			if len(onlyA) > 0 {
				pa = a[onlyA[0]].Pos
			}
			if len(onlyB) > 0 {
				pb = b[onlyB[0]].Pos
			}
			p.Report(pairFinding(pr, pa, pb,
				fmt.Sprintf("vrrp_instance %s VIPs differ between %s and %s: %s", pr.A.Inst.Name, pr.A.Node.Name, pr.B.Node.Name, strings.Join(parts, "; ")),
				"after a failover the new MASTER adds only its own list: the other addresses (or prefixes) change with the MASTER",
				fmt.Sprintf("make virtual_ipaddress the same at %s on %s and %s on %s", pr.A.Inst.Line("virtual_ipaddress"), pr.A.Node.Name, pr.B.Inst.Line("virtual_ipaddress"), pr.B.Node.Name)))
		}
		return nil
	},
}

// setMinus lists the keys of a that b lacks, sorted.
func setMinus[V any](a, b map[string]V) []string {
	var out []string
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
