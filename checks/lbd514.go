package checks

import (
	"fmt"
	"net/netip"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// LBD514 says when a service listens on a VIP on one node of a pair only.
var LBD514 = &Check{
	ID:       "LBD514",
	Name:     "vip-listener-one-side",
	Title:    "A service listens on a VIP on one node of the pair only",
	Severity: Error,
	Doc: `A VIP moves between the nodes of a pair, and the services behind it have to
move with it: a listener on the VIP (nginx "listen 10.0.0.100:443",
HAProxy "bind 10.0.0.100:443") that one node has and the other lacks
(neither on the VIP nor on a wildcard address of that port) works while
the first node is MASTER and is gone after a failover: clients reach the
VIP, and get "connection refused".

Fix: serve the same VIP ports on every node of the pair (the same
configs, or at least the same listen lines), or listen on a wildcard
address there.

    lb1: listen 10.0.0.100:443 ssl;
    lb2: listen 10.0.0.100:443 ssl;`,
	RunCluster: func(p *ClusterPass) error {
		seen := map[string]bool{}
		for _, pr := range p.Peers {
			for _, dir := range []InstancePair{pr, {A: pr.B, B: pr.A}} {
				theirs := vipSet(dir.B.Inst)
				theirVIP := map[netip.Addr]parsers.VIP{}
				for _, v := range theirs {
					theirVIP[v.Prefix.Addr()] = v
				}
				for _, v := range dir.A.Inst.VIPs {
					other, ok := theirVIP[v.Prefix.Addr()]
					if v.Excluded || !ok {
						continue
					}
					for _, l := range dir.A.Node.Input.Listeners() {
						if l.Addr.WithZone("") != v.Prefix.Addr() || l.Proto == parsers.Unix || l.Via != "" {
							continue
						}
						if serves(dir.B.Node, l) {
							continue
						}
						key := dir.A.Node.Name + " " + l.Pos.String() + " " + l.Socket()
						if seen[key] {
							continue
						}
						seen[key] = true
						p.Report(Finding{
							Service:  l.Service,
							Node:     dir.A.Node.Name,
							Pos:      l.Pos,
							Address:  l.Address(),
							Port:     l.Port,
							Peer:     &Site{Node: dir.B.Node.Name, Pos: other.Pos},
							Listener: l,
							Message:  fmt.Sprintf("%s listens on VIP %s/%s on %s only: %s has the VIP but nothing serves that port there", l.Service, l.Socket(), l.Proto, dir.A.Node.Name, dir.B.Node.Name),
							Why:      fmt.Sprintf("after a failover to %s the VIP answers, but %s:%d refuses connections", dir.B.Node.Name, l.Address(), l.Port),
							Fix:      []string{fmt.Sprintf("add the listen of %s to %s's configs, or serve %s:%d from a wildcard address there", l.Pos, dir.B.Node.Name, l.Address(), l.Port)},
						})
					}
				}
			}
		}
		return nil
	},
}

// serves reports whether any service of n listens where l does: the same
// address, or a wildcard of its family, on the same port and protocol.
func serves(n *Node, l *parsers.Listener) bool {
	for _, o := range n.Input.Listeners() {
		if o.Proto != l.Proto || o.Port != l.Port || !o.Addr.IsValid() {
			continue
		}
		a := o.Addr.WithZone("")
		if a == l.Addr.WithZone("") {
			return true
		}
		if a.IsUnspecified() && (a.Is4() == l.Addr.Is4() || (a.Is6() && o.V6Only != parsers.V6OnlyOn)) {
			return true
		}
	}
	return false
}
