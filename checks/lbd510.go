package checks

import (
	"fmt"
	"net/netip"
	"strings"
)

// LBD510 says when a node's unicast_peer list does not name the other node.
var LBD510 = &Check{
	ID:       "LBD510",
	Name:     "unicast-peer-missing",
	Title:    "unicast_peer does not name the other node",
	Severity: Error,
	Doc: `A vrrp_instance with unicast_peer sends its adverts only to the addresses
listed there, and accepts adverts only from them. When the list on one node
does not name the address the other node sends from (its unicast_src_ip,
or else its own address on the instance's interface), that node never
hears its peer and becomes MASTER too: both hold the VIP. The same happens
when one node uses unicast and the other multicast.

Fix: on each node, list the other node's unicast_src_ip (or interface
address) under unicast_peer, and set unicast_peer on both or on neither.

    lb1: unicast_src_ip 10.0.0.11   unicast_peer { 10.0.0.12 }
    lb2: unicast_src_ip 10.0.0.12   unicast_peer { 10.0.0.11 }`,
	RunCluster: func(p *ClusterPass) error {
		for _, pr := range p.Peers {
			for _, dir := range []InstancePair{pr, {A: pr.B, B: pr.A}} {
				a, b := dir.A.Inst, dir.B.Inst
				if len(a.UnicastPeers) == 0 && len(b.UnicastPeers) == 0 {
					continue
				}
				if len(a.UnicastPeers) == 0 {
					// Reported from the side that has the list.
					continue
				}
				if len(b.UnicastPeers) == 0 {
					p.Report(pairFinding(dir, a.Line("unicast_peer"), b.Pos,
						fmt.Sprintf("vrrp_instance %s sends unicast adverts on %s, but %s (%s) uses multicast", a.Name, dir.A.Node.Name, dir.B.Node.Name, b.Name),
						"a unicast instance and a multicast one never hear each other, so both become MASTER",
						"set unicast_src_ip and unicast_peer on both nodes, or on neither"))
					continue
				}
				want := srcAddrs(dir.B)
				if len(want) == 0 {
					continue // the other node's sending address is unknown
				}
				named, reaches := false, false
				theirs := allAddrs(dir.B.Node)
				for _, up := range a.UnicastPeers {
					for _, w := range want {
						named = named || up.Addr == w
					}
					reaches = reaches || theirs[up.Addr]
				}
				if named {
					continue
				}
				var ws []string
				for _, w := range want {
					ws = append(ws, w.String())
				}
				f := pairFinding(dir, a.Line("unicast_peer"), b.Line("unicast_src_ip"),
					fmt.Sprintf("vrrp_instance %s on %s lists unicast_peer without %s, the address %s sends its adverts from", a.Name, dir.A.Node.Name, strings.Join(ws, " or "), dir.B.Node.Name),
					"",
					fmt.Sprintf("add %s to unicast_peer at %s on %s", ws[0], a.Line("unicast_peer"), dir.A.Node.Name))
				switch {
				case reaches:
					// B hears A at another of its addresses; only a
					// source check on A's side drops B's adverts.
					f.Severity = Warning
					f.Why = fmt.Sprintf("%s's adverts reach %s, but with vrrp_check_unicast_src %s drops %s's, which come from an address its list does not name", dir.A.Node.Name, dir.B.Node.Name, dir.A.Node.Name, dir.B.Node.Name)
				case priority(a.Priority) >= priority(b.Priority):
					f.Why = fmt.Sprintf("%s sends its adverts only to the addresses listed, so %s never hears the MASTER and becomes MASTER too: both hold the VIP", dir.A.Node.Name, dir.B.Node.Name)
				default:
					// A has the lower priority: its silence matters only
					// once it should be MASTER.
					f.Severity = Warning
					f.Why = fmt.Sprintf("%s sends its adverts only to the addresses listed, so %s never hears it: harmless while %s has the higher priority, but when %s should take over (a track_script lowering %s's priority) %s stays MASTER too", dir.A.Node.Name, dir.B.Node.Name, dir.B.Node.Name, dir.A.Node.Name, dir.B.Node.Name, dir.B.Node.Name)
				}
				p.Report(f)
			}
		}
		return nil
	},
}

// srcAddrs are the addresses a node's instance sends adverts from: its
// unicast_src_ip, else its own addresses on the interface of the
// instance's family.
func srcAddrs(ni NodeInstance) []netip.Addr {
	if ni.Inst.UnicastSrcIP.Addr.IsValid() {
		return []netip.Addr{ni.Inst.UnicastSrcIP.Addr}
	}
	var out []netip.Addr
	for _, a := range ownAddrs(ni) {
		if a.Is4() == (vrrpFamily(ni.Inst.Family) == 4) && !a.IsLinkLocalUnicast() {
			out = append(out, a)
		}
	}
	return out
}
