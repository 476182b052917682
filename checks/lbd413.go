package checks

import "fmt"

// LBD413 finds listen addresses that a network configuration file names but
// that the next boot does not add: the file is in /run, the interface is not
// brought up at boot, or another file wins.
var LBD413 = &Check{
	ID:       "LBD413",
	Name:     "address-config-inactive",
	Title:    "A listen address is configured, but not applied at boot",
	Severity: Warning,
	Doc: `A listener binds an address this host has now, and a network
configuration file names it, but the next boot does not add it:

- the file is in /run (/run/netplan, /run/systemd/network,
  /run/NetworkManager/system-connections): /run is a tmpfs, empty at boot;
- ifupdown: the iface stanza's interface is on no auto or allow-hotplug
  line, so neither "ifup -a" nor udev brings it up;
- NetworkManager: the connection has autoconnect=false;
- ifcfg: ONBOOT=no;
- systemd-networkd: another .network file that sorts first matches the
  interface (networkd applies one file per link), the file has
  Unmanaged=yes, or no [Match] settings (networkd ignores it);
- the profile matches no interface of this host (a name or MAC that is not
  there).

After the next reboot the service fails to start:

    haproxy: [ALERT] ... cannot bind socket (Cannot assign requested address) for [10.0.0.5:443]

Fix: what the why line says: copy the /run file to /etc, add "auto IFACE",
set autoconnect=yes or ONBOOT=yes, or move the address into the .network
file that applies.`,
	Run: func(p *Pass) error {
		if p.Host.Network == nil || !p.Host.Network.Active() {
			return nil
		}
		v := p.netView()
		for _, l := range p.Listeners() {
			n, ok := v.needsAddress(p, l)
			if !ok || isDynamic(n) {
				continue
			}
			if _, ok := v.boot[n.ip]; ok || len(v.any[n.ip]) == 0 {
				continue
			}
			why, at, fix := v.inactiveWhy(n.ip)
			short, full := DaemonError(l, "EADDRNOTAVAIL")
			p.Report(Finding{
				Listener:    l,
				Message:     fmt.Sprintf("%s is configured in %s but not added at boot: after a reboot %s would fail: %s", n.ip, at, l.Service, short),
				DaemonError: full,
				Why:         why,
				Fix:         fix,
				Errno:       "EADDRNOTAVAIL",
			})
		}
		return nil
	},
}
