package checks

import "fmt"

// LBD502 finds two VRRP instances that would answer for the same virtual
// router on one interface.
var LBD502 = &Check{
	ID:       "LBD502",
	Name:     "duplicate-vrid",
	Title:    "Two VRRP instances share a virtual_router_id on one interface",
	Severity: Error,
	Doc: `VRRP identifies a virtual router by its ID (virtual_router_id, 1-255) on a
link; the VIPs' virtual MAC is derived from it. Two instances on the same
interface and address family with the same ID fight over the same
advertisements, and keepalived refuses the second:

    Keepalived_vrrp: VI_1 and VI_2 both use VRID 51 with IPv4 on interface eth0

A copy-pasted instance block is the usual cause; so is a second cluster on
the same VLAN picking the same ID (then the conflict is between hosts, which
lbdoctor cannot see).

Fix: give each instance on an interface its own virtual_router_id.`,
	Run: func(p *Pass) error {
		type key struct {
			iface string
			vrid  int
			v6    bool
		}
		for _, s := range p.Services {
			if s.Config == nil {
				continue
			}
			seen := map[key]string{}
			for i := range s.Config.VRRP {
				inst := &s.Config.VRRP[i]
				if inst.VirtualRouterID == 0 || inst.Interface == "" || len(inst.VIPs) == 0 {
					continue
				}
				k := key{inst.Interface, inst.VirtualRouterID, inst.VIPs[0].Prefix.Addr().Is6()}
				first, dup := seen[k]
				if !dup {
					seen[k] = inst.Name
					continue
				}
				if inst.Conditional != "" {
					continue // may be another node's block: decided by the config id
				}
				fam := 4
				if k.v6 {
					fam = 6
				}
				p.Report(Finding{
					Service: s.Name,
					Pos:     inst.Pos,
					Message: fmt.Sprintf("%s and %s both use VRID %d with IPv%d on interface %s", first, inst.Name, k.vrid, fam, k.iface),
					Why:     "VRRP tells virtual routers apart by their ID on a link, so keepalived refuses the second",
					Fix:     []string{fmt.Sprintf("give vrrp_instance %s at %s its own virtual_router_id", inst.Name, inst.Pos)},
				})
			}
		}
		return nil
	},
}
