package checks

import (
	"fmt"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// LBD401 judges listeners on keepalived VIPs in the role asked for: a VIP
// is on the node only while it is MASTER.
var LBD401 = &Check{
	ID:       "LBD401",
	Name:     "vip-role",
	Title:    "Listen address is a keepalived VIP that this node does not always hold",
	Severity: Error,
	Doc: `A service listens on a keepalived virtual IP. keepalived adds the VIP only
on the MASTER node, so on the BACKUP node (or on the MASTER after a
failover) bind() fails with EADDRNOTAVAIL and the service does not start or
restart there:

    nginx: [emerg] bind() to 10.0.0.100:80 failed (99: Cannot assign requested address)

Which role is judged follows --role:

    current  the VIP is where it is now: an error when this node lacks it,
             a warning when it holds it (a failover or a restart as BACKUP
             breaks the service)
    backup   the VIP is absent: an error
    master   the VIP is present: nothing to report
    both     an error when the service fails in either role

Fix: let the service bind the VIP before keepalived adds it, now and at
every boot (net.ipv6.ip_nonlocal_bind for an IPv6 VIP):

    sysctl -w net.ipv4.ip_nonlocal_bind=1
    echo 'net.ipv4.ip_nonlocal_bind = 1' > /etc/sysctl.d/60-lbdoctor.conf

With HAProxy, the "transparent" bind option also works.

Example, keepalived.conf:

    vrrp_instance VI_1 {
        state BACKUP
        interface eth0
        virtual_router_id 51
        virtual_ipaddress { 10.0.0.100/24 }
    }

and nginx.conf:

    server { listen 10.0.0.100:80; }`,
	Run: func(p *Pass) error {
		p.eachListener(func(p *Pass, l *parsers.Listener) {
			if !opensIPSocket(l) || l.Addr.IsUnspecified() {
				return
			}
			vip, ok := p.VIPFor(l.Addr)
			if !ok {
				return
			}
			absent := p.hostWithout(l.Addr)
			why := addressUnavailable(absent, l)
			if why == "" {
				return // binds without the VIP: nonlocal bind or transparent
			}
			present, _ := p.hostFor(l.Addr).IsLocal(l.Addr)
			fix, persist := nonlocalFix(l)
			f := Finding{
				Listener: l,
				Fix:      fix,
				Persist:  persist,
				Errno:    "EADDRNOTAVAIL",
			}
			short, full := DaemonError(l, "EADDRNOTAVAIL")
			f.DaemonError = full
			where := fmt.Sprintf("%s is keepalived VIP of vrrp_instance %s (%s), held only by the MASTER", l.Address(), vip.Instance.Name, vip.Pos)
			switch {
			case p.Role == RoleMaster:
				return
			case p.Role == RoleCurrent && present:
				f.Severity = Warning
				f.Message = fmt.Sprintf("%s binds now, but would fail after a failover: %s", l.Service, short)
				f.Why = fmt.Sprintf("%s; this node holds it now, and %s is %s", where, nonlocalSysctl(l), sysctlValue(p.Host, nonlocalSysctl(l)))
			case p.Role == RoleCurrent:
				f.Message = fmt.Sprintf("%s would fail: %s", l.Service, short)
				f.Why = fmt.Sprintf("%s; this node does not hold it now, and %s is %s", where, nonlocalSysctl(l), sysctlValue(p.Host, nonlocalSysctl(l)))
			default: // backup, or both: failing as BACKUP is failing
				f.Message = fmt.Sprintf("%s would fail on the BACKUP node: %s", l.Service, short)
				f.Why = fmt.Sprintf("%s, and %s is %s", where, nonlocalSysctl(l), sysctlValue(p.Host, nonlocalSysctl(l)))
			}
			p.Report(f)
		})
		return nil
	},
}

func sysctlValue(h *host.Facts, name string) string {
	if v := h.Sysctl(name); v != "" {
		return v
	}
	return "unknown"
}
