package checks

import (
	"fmt"
	"strings"
)

// LBD412 says once that no network configuration was found at all, instead
// of a warning on every address.
var LBD412 = &Check{
	ID:       "LBD412",
	Name:     "no-network-config",
	Title:    "No persistent network configuration was found",
	Severity: Warning,
	Doc: `Listeners bind addresses this host has now, but lbdoctor found no
network configuration of any tool below --root: no netplan YAML, no
/etc/network/interfaces, no systemd-networkd .network file, no
NetworkManager keyfile, no ifcfg file; or the files it found configure
nothing at boot: they belong to tools whose service the next boot does not
start (systemd-networkd.service, NetworkManager.service, networking.service
not enabled: systemd ships .network files for containers and Wi-Fi whether
networkd runs or not), or they are in /run, or hold no interface at all
(an /etc/network/interfaces that only sources an empty directory). Either the addresses are added by
something lbdoctor does not read (cloud-init at every boot, a custom unit,
a container runtime), or they were added by hand and are gone after the
next reboot. lbdoctor says this once, naming the addresses, instead of
LBD410 on every one of them.

Fix: make sure whatever adds these addresses runs at every boot before the
services start, or configure them with your distribution's network tool.
With --root on a rendered config tree that does not carry the network files,
lbdoctor does not guess and stays silent; a snapshot keeps what it
recorded.`,
	Run: func(p *Pass) error {
		if p.Host.Network == nil || p.Host.Network.Active() {
			return nil
		}
		v := p.netView()
		var first *Finding
		var addrs []string
		seen := map[string]bool{}
		for _, l := range p.Listeners() {
			n, ok := v.needsAddress(p, l)
			if !ok || isDynamic(n) {
				continue
			}
			if first == nil {
				first = &Finding{Service: l.Service, Pos: l.Pos, Address: n.ip.String(), Port: l.Port}
			}
			if a := fmt.Sprintf("%s (%s)", n.ip, n.have.Interface); !seen[a] {
				seen[a] = true
				addrs = append(addrs, a)
			}
		}
		if first == nil {
			return nil
		}
		first.Message = fmt.Sprintf("no network configuration found: lbdoctor cannot tell whether %s come back after a reboot", strings.Join(addrs, ", "))
		first.Why = "none of netplan (/etc/netplan, /run/netplan, /lib/netplan), ifupdown (/etc/network/interfaces), systemd-networkd (systemd/network directories), NetworkManager (system-connections) or ifcfg (/etc/sysconfig/network-scripts) has a file here"
		if len(p.Host.Network.Files) > 0 {
			first.Message = fmt.Sprintf("no network configuration is applied at boot: lbdoctor cannot tell whether %s come back after a reboot", strings.Join(addrs, ", "))
			first.Why = fmt.Sprintf("the network files found (%s) configure nothing at boot", filesRead(v))
			if d := p.Host.Network.Disabled; len(d) > 0 {
				first.Why += "; not enabled: " + strings.Join(d, ", ")
			}
		}
		p.Report(*first)
		return nil
	},
}
