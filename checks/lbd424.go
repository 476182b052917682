package checks

import (
	"fmt"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// LBD424 finds listeners on keepalived VIPs that need the VIP to bind, so
// fail at boot on every node: systemd starts the service before keepalived
// has won the election and added the VIP.
var LBD424 = &Check{
	ID:       "LBD424",
	Name:     "vip-boot-race",
	Title:    "Listen on a keepalived VIP fails at boot, on the MASTER too",
	Severity: Warning,
	Doc: `A service listens on a keepalived virtual IP and can bind it only while the
VIP is on the node (neither ip_nonlocal_bind nor HAProxy's "transparent"
lets it bind without). At boot this fails on every node, the MASTER
included: systemd starts nginx and HAProxy as soon as the network is up,
and keepalived adds the VIP only once it has won the election, at least
three advertisement intervals after it started (MASTER_DOWN_TIMER), and
not at all while "nopreempt" or a higher-priority peer keeps it BACKUP.
Ordering the unit After=keepalived.service does not help: keepalived's
start is done long before the election is.

    nginx: [emerg] bind() to 10.0.0.100:80 failed (99: Cannot assign requested address)

So a node that holds the VIP and serves today comes back from a reboot
with the service failed. lbdoctor reports it in the after-reboot verdict
of every node, whatever --role says, when the non-local bind sysctl is 0
both now and after the reboot (with 1 now and 0 after the reboot, LBD402
says so).

Fix: let the service bind the VIP before keepalived adds it, now and at
every boot (net.ipv6.ip_nonlocal_bind for an IPv6 VIP):

    sysctl -w net.ipv4.ip_nonlocal_bind=1
    echo 'net.ipv4.ip_nonlocal_bind = 1' > /etc/sysctl.d/60-lbdoctor.conf`,
	Run: func(p *Pass) error {
		// Every VIP listener of a big load balancer is a finding: the
		// listeners are judged on every CPU, the findings in their order.
		p.eachListener(func(p *Pass, l *parsers.Listener) {
			if !opensIPSocket(l) || l.Addr.IsUnspecified() || l.Transparent {
				return
			}
			vip, ok := p.VIPFor(l.Addr)
			if !ok {
				return
			}
			name := nonlocalSysctl(l)
			if p.Host.Sysctl(name) == "1" {
				return // binds without the VIP now; LBD402 judges the reboot
			}
			boot, _, known := bootValue(p.Host, name)
			if !known || boot == "1" {
				return // a snapshot without the boot configuration is not guessed at
			}
			if local, _ := p.hostWithout(l.Addr).IsLocal(l.Addr); local {
				return // bindable without the VIP (a local route covers it)
			}
			fix, persist := nonlocalFix(l)
			short, full := DaemonError(l, "EADDRNOTAVAIL")
			bootWhy := "it is " + boot + " after a reboot too"
			if _, at, _ := bootValue(p.Host, name); at.File == "" {
				bootWhy = "no sysctl.d file sets it"
			}
			p.Report(Finding{
				Listener:    l,
				Message:     fmt.Sprintf("%s would fail at boot on every node, the MASTER too: %s", l.Service, short),
				DaemonError: full,
				Why: fmt.Sprintf("%s is keepalived VIP of vrrp_instance %s (%s): at boot keepalived adds it only after winning the election, at least three advert intervals after %s has started and tried to bind it; %s is %s and %s",
					l.Address(), vip.Instance.Name, vip.Pos, l.Service, name, sysctlValue(p.Host, name), bootWhy),
				Fix:     fix,
				Persist: persist,
				Errno:   "EADDRNOTAVAIL",
			})
		})
		return nil
	},
}
