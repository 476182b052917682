package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// LBD404 finds services that listen on a specific address but may start at
// boot before the network has configured it.
var LBD404 = &Check{
	ID:       "LBD404",
	Name:     "boot-order",
	Title:    "Service may start before its listen address exists at boot",
	Severity: Warning,
	Doc: `A service listens on a specific address of this host (not a wildcard, not
loopback, not a keepalived VIP), and its systemd unit does not both want and
order itself after network-online.target. At boot systemd may then start it
before the network has configured the address, and bind() fails with
EADDRNOTAVAIL although the same start by hand a minute later works: the
classic "nginx failed at boot, restart fixed it".

network-online.target waits for the network to be configured (with
systemd-networkd-wait-online or NetworkManager-wait-online); After= orders
the start, Wants= pulls the target in. Debian's own units have both; custom
units and drop-ins that reset them often lose one.

Non-local binds enabled at boot (net.ipv4.ip_nonlocal_bind = 1 in
sysctl.d) also avoid the failure, so lbdoctor stays silent then.

Fix: a drop-in, then reload systemd:

    mkdir -p /etc/systemd/system/nginx.service.d
    printf '[Unit]\nWants=network-online.target\nAfter=network-online.target\n' > /etc/systemd/system/nginx.service.d/lbdoctor-online.conf
    systemctl daemon-reload

A systemd socket unit cannot wait for the network at all: systemd binds its
sockets early (sockets.target, before basic.target, which every service
with default dependencies comes after, the network's included), so one on
a specific address (a keepalived VIP too) fails at boot unless FreeBind=yes
(or Transparent=yes) lets it bind before the address exists, as
systemd.socket(5) advises; the fix is that drop-in:

    mkdir -p /etc/systemd/system/web.socket.d
    printf '[Socket]\nFreeBind=yes\n' > /etc/systemd/system/web.socket.d/lbdoctor-freebind.conf`,
	Run: func(p *Pass) error {
		for _, s := range p.Services {
			if s.Name == parsers.SocketService && s.Config != nil {
				socketBootOrder(p, s)
				continue
			}
			u := s.Unit
			if s.Config == nil || u == nil || u.Masked {
				continue
			}
			if slices.Contains(u.After, "network-online.target") &&
				(slices.Contains(u.Wants, "network-online.target") || slices.Contains(u.Requires, "network-online.target")) {
				continue
			}
			for i := range s.Config.Listeners {
				l := &s.Config.Listeners[i]
				if !opensIPSocket(l) || l.Addr.IsUnspecified() || l.Addr.IsLoopback() || l.Transparent {
					continue
				}
				if _, isVIP := p.VIPFor(l.Addr); isVIP {
					continue
				}
				name := nonlocalSysctl(l)
				if boot, _, known := bootValue(p.Host, name); known && boot == "1" {
					continue
				}
				fix, persist := dropInFix(u.Name, "Unit", "lbdoctor-online.conf", "Wants=network-online.target", "After=network-online.target")
				p.Report(Finding{
					Listener: l,
					Message:  fmt.Sprintf("%s may start at boot before %s exists: %s does not wait for network-online.target", l.Service, l.Address(), u.Name),
					Why:      fmt.Sprintf("%s has After=%v and Wants=%v; without both naming network-online.target the bind of %s can run before the address is configured, and %s is not 1 at boot", u.Name, u.After, u.Wants, l.Socket(), name),
					Fix:      fix,
					Persist:  persist,
				})
				break // once per service: the drop-in fixes every listener
			}
		}
		return nil
	},
}

// socketBootOrder reports a socket unit's first listener on a specific
// address that systemd cannot bind at boot: no FreeBind=/Transparent=, and
// non-local binds not enabled at boot.
func socketBootOrder(p *Pass, s Service) {
	for i := range s.Config.Listeners {
		l := &s.Config.Listeners[i]
		if !opensIPSocket(l) || l.Addr.IsUnspecified() || l.Addr.IsLoopback() || l.Transparent {
			continue
		}
		name := nonlocalSysctl(l)
		if boot, _, known := bootValue(p.Host, name); known && boot == "1" {
			continue
		}
		unit, _, _ := strings.Cut(l.Context, " ")
		fix, persist := dropInFix(unit, "Socket", "lbdoctor-freebind.conf", "FreeBind=yes")
		p.Report(Finding{
			Listener: l,
			Message:  fmt.Sprintf("systemd binds %s at boot before %s exists: %s has no FreeBind=yes", l.Socket(), l.Address(), unit),
			Why:      fmt.Sprintf("socket units are bound early (sockets.target), before the network configures addresses and before keepalived adds VIPs; they cannot wait for network-online.target, and %s is not 1 at boot", name),
			Fix:      fix,
			Persist:  persist,
		})
		return // once per unit: the drop-in fixes every listener
	}
}
