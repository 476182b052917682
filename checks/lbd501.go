package checks

import (
	"fmt"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// LBD501 finds VRRP instances whose unicast or multicast source address is
// not on the host: keepalived cannot send from it and the instance goes to
// FAULT, so its VIPs never come up on this node.
var LBD501 = &Check{
	ID:       "LBD501",
	Name:     "vrrp-source-address",
	Title:    "VRRP source address is not on this host",
	Severity: Error,
	Doc: `A vrrp_instance sets unicast_src_ip (or mcast_src_ip) to an address this
host does not have. keepalived binds its VRRP socket to that address; it
fails, or keepalived notices the address is not configured, and the
instance enters FAULT: it never becomes MASTER here, so its VIPs never come
up on this node, and every instance of its vrrp_sync_group goes to FAULT
with it:

    Keepalived_vrrp: bind unicast_src 10.0.0.12 failed 99 - Cannot assign requested address
    Keepalived_vrrp: (VI_1) entering FAULT state (src address not configured)

Non-local bind does not help here: keepalived checks that the source is a
configured address. This usually comes from copying the MASTER's config to
the BACKUP without swapping unicast_src_ip and unicast_peer.

Fix: set unicast_src_ip to this node's own address on the instance's
interface, and list the other node in unicast_peer.`,
	Run: func(p *Pass) error {
		for _, s := range p.Services {
			if s.Config == nil || s.Config.NetNamespace != "" {
				continue
			}
			for i := range s.Config.VRRP {
				inst := &s.Config.VRRP[i]
				for _, src := range []parsers.VRRPAddr{inst.UnicastSrcIP, inst.McastSrcIP} {
					if !src.Addr.IsValid() {
						continue
					}
					local, why := p.Host.IsLocal(src.Addr)
					if local {
						continue
					}
					p.Report(Finding{
						Service: s.Name,
						Pos:     src.Pos,
						Address: src.Addr.String(),
						Message: fmt.Sprintf("keepalived instance %s would go to FAULT: bind unicast_src %s failed 99 - Cannot assign requested address", inst.Name, src.Addr),
						Why:     why + ", and keepalived sends VRRP only from a configured address",
						Fix:     []string{fmt.Sprintf("set unicast_src_ip at %s to this node's own address (and unicast_peer to the other node's)", src.Pos)},
					})
				}
			}
		}
		return nil
	},
}
