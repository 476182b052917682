package checks

import (
	"fmt"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// LBD410 finds listen addresses that are on the host now but that no
// persistent network configuration creates at boot.
var LBD410 = &Check{
	ID:       "LBD410",
	Name:     "address-not-persistent",
	Title:    "A listen address was added by hand and is gone after a reboot",
	Severity: Warning,
	Doc: `A listener binds an address this host has now (not a keepalived VIP, not
loopback), but no persistent network configuration creates it at boot: it
was added with "ip addr add" or by a program. After the next reboot it is
gone and the service fails to start:

    nginx: [emerg] bind() to 10.0.0.5:80 failed (99: Cannot assign requested address)

lbdoctor reads, below --root, the configuration of every tool that adds
addresses at boot, as each tool reads it: netplan (/lib/netplan,
/etc/netplan, /run/netplan, merged), ifupdown (/etc/network/interfaces with
its source and source-directory lines), systemd-networkd (.network files and
drop-ins in /etc, /run, /usr/local/lib, /usr/lib and /lib systemd/network,
masking, the first matching file per link), NetworkManager keyfiles
(/etc, /run and /usr/lib NetworkManager/system-connections) and RHEL's
ifcfg files (/etc/sysconfig/network-scripts/ifcfg-*). It matches each
profile to the host's interfaces by name (globs), MAC and the tool's match
rules; conditions it cannot judge (a driver, a PCI path) are assumed to
hold. Files in /run do not count: /run is emptied at boot (LBD413). A
dynamic address is LBD411; a host with no configuration at all is LBD412.

Which check owns an address lost at boot: LBD410 owns an address nothing
creates at boot. An IPv6 address on an interface whose disable_ipv6 is 1
after the reboot is LBD420's instead (the kernel refuses it whatever the
configuration says; LBD420's finding says when the address was also added
by hand). LBD420 and LBD421 judge the sysctls on the addresses as they are
now, plus those the boot configuration gives back: they never report an
address added by hand as lost, so one cause is reported once.

Of ifupdown's up, post-up and pre-up commands lbdoctor reads "ip addr add"
and "ip addr replace" (with $IFACE); an address added by another command, a
hook script in /etc/network/if-up.d, cloud-init at every boot or a unit of
your own is not seen: silence the finding with an lbdoctor:ignore that says
so.

Fix: add the address to the configuration of the tool that manages the
interface; lbdoctor prints the file and its lines, e.g. for netplan

    # /etc/netplan/60-lbdoctor-eth0.yaml
    network:
      version: 2
      ethernets:
        eth0:
          addresses:
            - 10.0.0.5/24

or for ifupdown

    # /etc/network/interfaces.d/60-lbdoctor-eth0
    auto eth0
    iface eth0 inet manual
        up ip addr replace 10.0.0.5/24 dev eth0

(or make it a keepalived VIP, or set net.ipv4.ip_nonlocal_bind = 1 in
sysctl.d when the address only has to be bindable).`,
	Run: func(p *Pass) error {
		if p.Host.Network == nil || !p.Host.Network.Active() {
			return nil // unknown, or LBD412
		}
		v := p.netView()
		for _, l := range p.Listeners() {
			n, ok := v.needsAddress(p, l)
			if !ok || isDynamic(n) {
				continue
			}
			if !v.takesFix(n) {
				continue // persistent, or LBD413
			}
			if n.ip.Is6() {
				if boot, _, known := bootValue(p.Host, host.DisableIPv6(n.have.Interface)); known && boot == "1" {
					continue // LBD420: disable_ipv6 takes it away whatever the configuration says
				}
			}
			fix, persist := v.fix(p, n)
			short, full := DaemonError(l, "EADDRNOTAVAIL")
			p.Report(Finding{
				Listener:    l,
				Message:     fmt.Sprintf("%s was added by hand: after a reboot %s would fail: %s", n.ip, l.Service, short),
				DaemonError: full,
				Why: fmt.Sprintf("%s/%d is on %s now, but no persistent network configuration creates it at boot (%s; files read: %s)",
					n.ip, n.have.Prefix, n.have.Interface, v.configured(n.have.Interface), filesRead(v)),
				Fix:     fix,
				Persist: persist,
				Errno:   "EADDRNOTAVAIL",
			})
		}
		return nil
	},
}

func isDynamic(n netNeed) bool {
	for _, f := range n.have.Flags {
		if f == "dynamic" {
			return true
		}
	}
	return false
}

// filesRead names the files read, at most a few.
func filesRead(v *netView) string {
	var names []string
	for _, f := range v.cfg.Files {
		names = append(names, f.Path)
	}
	if len(names) > 4 {
		return strings.Join(names[:4], ", ") + fmt.Sprintf(" and %d more", len(names)-4)
	}
	return strings.Join(names, ", ")
}
