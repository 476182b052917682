package checks

import (
	"fmt"
	"sort"
)

// LBD503 finds VRRP instances and VIPs on interfaces the host does not have.
var LBD503 = &Check{
	ID:       "LBD503",
	Name:     "vrrp-interface",
	Title:    "VRRP interface does not exist on this host",
	Severity: Error,
	Doc: `A vrrp_instance names an interface (or a VIP a "dev") that this host does
not have. keepalived drops the address, or puts the instance in FAULT, so
the VIP never comes up here:

    Keepalived_vrrp: WARNING - interface eth1 for vrrp_instance VI_1 doesn't exist
    Keepalived_vrrp: WARNING - interface eth1 for ip address 10.0.0.100 doesn't exist

Interface names differ between machines (eth0, ens3, enp0s31f6): a config
copied from another node, or a host rebuilt on other hardware, breaks here.

Fix: name this host's interface (ip -br link), or, for interfaces that come
later (VLANs, bonds created after keepalived), set dynamic_interfaces in
global_defs.`,
	Run: func(p *Pass) error {
		if len(p.Host.Interfaces) == 0 {
			return nil // a snapshot without interfaces says nothing either way
		}
		has := map[string]bool{}
		for _, i := range p.Host.Interfaces {
			has[i.Name] = true
		}
		for _, s := range p.Services {
			if s.Config == nil || s.Config.NetNamespace != "" {
				continue
			}
			for i := range s.Config.VRRP {
				inst := &s.Config.VRRP[i]
				if inst.Interface != "" && !has[inst.Interface] {
					p.Report(Finding{
						Service: s.Name,
						Pos:     inst.Pos,
						Message: fmt.Sprintf("interface %s for vrrp_instance %s doesn't exist on this host", inst.Interface, inst.Name),
						Why:     fmt.Sprintf("this host's interfaces are %v", sortedNames(has)),
						Fix:     []string{fmt.Sprintf("ip -br link    # then set interface at %s", inst.Pos)},
					})
					continue
				}
				for _, v := range inst.VIPs {
					if v.Dev != "" && v.Dev != inst.Interface && !has[v.Dev] {
						p.Report(Finding{
							Service: s.Name,
							Pos:     v.Pos,
							Address: v.Prefix.Addr().String(),
							Message: fmt.Sprintf("interface %s for ip address %s doesn't exist on this host", v.Dev, v.Prefix.Addr()),
							Why:     fmt.Sprintf("this host's interfaces are %v", sortedNames(has)),
							Fix:     []string{fmt.Sprintf("ip -br link    # then set dev at %s", v.Pos)},
						})
					}
				}
			}
		}
		return nil
	},
}

func sortedNames(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
