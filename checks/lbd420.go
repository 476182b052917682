package checks

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// LBD420 finds listeners that bind now but fail after the next reboot
// because a sysctl that decides the bind gets another value at boot.
var LBD420 = &Check{
	ID:       "LBD420",
	Name:     "sysctl-changes-at-reboot",
	Title:    "A bind sysctl changes at the next reboot and the bind then fails",
	Severity: Warning,
	Doc: `A sysctl that decides whether a bind succeeds has one value now and
another after the next reboot, and with the boot value a listener that binds
now fails. The sysctls are:

    net.ipv4.ip_unprivileged_port_start   a service running without root (or
                                          CAP_NET_BIND_SERVICE) on a port below
                                          it fails with 13 (Permission denied)
    net.ipv6.bindv6only                   0 makes a [::] listen without an
                                          explicit v6only dual-stack, so it
                                          clashes with 0.0.0.0 on its port (98)
    net.ipv6.conf.IFACE.disable_ipv6      1 removes the interface's IPv6
    (also .all and .default)              addresses, and binding them fails
                                          with 99; on lo that is ::1 (Redis's
                                          "bind 127.0.0.1 ::1")

(net.ipv4.ip_nonlocal_bind and net.ipv6.ip_nonlocal_bind are LBD402's.)

An IPv6 address that disable_ipv6 takes away at boot is this check's even
when no network configuration creates it either (LBD410 stays silent on
it, and this finding says it was added by hand); an address lost only
because nothing creates it at boot is LBD410's alone.

Either the value was set with sysctl -w and no sysctl.d file sets it (after
a reboot the kernel default holds), or a file sets another value than the
running one. lbdoctor reads the files as systemd-sysctl applies them at boot
(see LBD402); for disable_ipv6 on an interface, the interface's own key
wins (udev applies it as the interface appears), else whichever of "all"
and "default" is written last, and on lo whichever of "lo" and "all" is
written last.

Fix: persist the running value in a file that is applied last:

    echo 'net.ipv4.ip_unprivileged_port_start = 80' > /etc/sysctl.d/99-zz-lbdoctor-net.ipv4.ip_unprivileged_port_start.conf

or change the file that sets the boot value.`,
	Run: func(p *Pass) error {
		for _, e := range p.rebootEffects() {
			where := "no sysctl.d file sets it, so after a reboot it is the kernel default " + e.boot
			if e.at.File != "" {
				where = fmt.Sprintf("%s sets it to %s for the next boot", e.at, e.boot)
			}
			file := persistFile(e.name)
			line := e.name + " = " + e.now
			for _, l := range e.worse {
				bf := e.why[l]
				short, full := DaemonError(l, bf.Errno)
				if bf.DaemonError != "" {
					full = bf.DaemonError
				}
				why := fmt.Sprintf("%s is %s now, but %s; then %s", e.name, e.now, where, strings.TrimSuffix(bf.Why, "."))
				if byHand(p, e, l) {
					why += fmt.Sprintf("; nor does any boot network configuration create %s (it was added by hand): with the value persisted, add it to the network configuration too", l.Addr.WithZone(""))
				}
				p.Report(Finding{
					Listener:    l,
					Message:     fmt.Sprintf("%s binds now, but would fail after the next reboot: %s", l.Service, short),
					DaemonError: full,
					Why:         why,
					Fix:         []string{"echo '" + line + "' > " + file},
					Persist:     []FileLine{{Path: file, Line: line}},
					Errno:       bf.Errno,
				})
			}
		}
		return nil
	},
}

// byHand reports whether l fails after the reboot because disable_ipv6 of
// an interface turns 1 there, on an address of that interface that no
// boot network configuration creates either: LBD410 leaves such an
// address to LBD420, which says both.
func byHand(p *Pass, e rebootEffect, l *parsers.Listener) bool {
	iface := host.DisableIPv6Iface(e.name)
	if iface == "" || e.boot != "1" || p.Host.Network == nil || !p.Host.Network.Active() {
		return false
	}
	ip := l.Addr.WithZone("").Unmap()
	for _, a := range p.Host.BootAddresses(iface) {
		if b, err := netip.ParseAddr(a.Address); err == nil && b == ip {
			return false
		}
	}
	return true
}
