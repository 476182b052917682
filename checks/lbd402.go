package checks

import (
	"fmt"
	"slices"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// kernelDefaults are the values the kernel starts with when no sysctl.d
// file sets them.
var kernelDefaults = map[string]string{
	host.NonlocalBind4:       "0",
	host.NonlocalBind6:       "0",
	host.BindV6Only:          "0",
	host.UnprivilegedPortMin: "1024",
	host.LocalPortRange:      "32768 60999",
	host.ReservedPorts:       "",
	host.DisableIPv6All:      "0",
	host.DisableIPv6Default:  "0",
}

// bootValue is the sysctl's value after the next reboot, and where it is
// set; ok is false when the facts do not know.
func bootValue(h *host.Facts, name string) (value string, at parsers.Pos, ok bool) {
	if h.Persisted == nil {
		return "", parsers.Pos{}, false
	}
	p, found := h.PersistedValue(name)
	if !found && !slices.Contains([]string{host.NonlocalBind4, host.NonlocalBind6, host.BindV6Only, host.UnprivilegedPortMin}, name) {
		// A snapshot from before lbdoctor read this sysctl's files.
		return "", parsers.Pos{}, false
	}
	if !found || p.File == "" {
		if host.DisableIPv6Iface(name) != "" {
			return "0", parsers.Pos{}, true
		}
		v, ok := kernelDefaults[name]
		return v, parsers.Pos{}, ok
	}
	return p.Value, parsers.Pos{File: p.File, Line: p.Line}, true
}

// needsNonlocal reports whether l binds only because non-local binds are
// allowed: its address is not local (for a keepalived VIP: on the node that
// lacks it) and nothing else lets it bind.
func needsNonlocal(p *Pass, l *parsers.Listener) bool {
	if !opensIPSocket(l) || l.Addr.IsUnspecified() || l.Transparent {
		return false
	}
	h := p.hostFor(l.Addr)
	if _, isVIP := p.VIPFor(l.Addr); isVIP {
		h = p.hostWithout(l.Addr)
	}
	local, _ := h.IsLocal(l.Addr)
	return !local
}

// LBD402 finds listeners that bind now thanks to a non-local bind sysctl
// that the next boot does not set.
var LBD402 = &Check{
	ID:       "LBD402",
	Name:     "nonlocal-not-persistent",
	Title:    "Non-local bind is on now but not after a reboot",
	Severity: Warning,
	Doc: `A listener binds an address this host does not have (a keepalived VIP on
the BACKUP node, a floating IP) only because net.ipv4.ip_nonlocal_bind (or
net.ipv6.ip_nonlocal_bind) is 1 right now. No sysctl.d file sets it, so
after the next reboot it is 0 again and the service fails to start with
EADDRNOTAVAIL, typically on the night the node reboots for a kernel update:

    nginx: [emerg] bind() to 10.0.0.100:80 failed (99: Cannot assign requested address)

lbdoctor reads the persisted value as systemd-sysctl applies it at boot:
/etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d and /usr/lib/sysctl.d,
a file overriding a same-named one in a later directory, files in name
order, the last assignment winning; /etc/sysctl.conf counts only through a
sysctl.d link to it (Debian's 99-sysctl.conf).

An address that is not on the host now but that the boot network
configuration creates (read as LBD410 reads it; for IPv6, on an interface
whose disable_ipv6 is 0 after the reboot) is local after the reboot, and
the listener binds then without non-local binds: no finding.

Fix: persist the setting:

    echo 'net.ipv4.ip_nonlocal_bind = 1' > /etc/sysctl.d/60-lbdoctor.conf`,
	Run: func(p *Pass) error {
		var v *netView // built for the first listener that needs it
		for _, l := range p.Listeners() {
			// The sysctls first: they rule out most listeners, and
			// needsNonlocal costs a lookup in the host's addresses.
			name := nonlocalSysctl(l)
			if p.Host.Sysctl(name) != "1" {
				continue // fails now: LBD101 or LBD401 say so
			}
			boot, at, known := bootValue(p.Host, name)
			if !known || boot == "1" || !needsNonlocal(p, l) {
				continue
			}
			if _, isVIP := p.VIPFor(l.Addr); !isVIP {
				if v == nil {
					v = p.netView()
				}
				if v.bootCreates(p, l.Addr) {
					continue // the boot network configuration creates it: local then
				}
			}
			where := "no sysctl.d file sets it"
			if at.File != "" {
				where = fmt.Sprintf("%s sets it to %s", at, boot)
			}
			fix, persist := nonlocalFix(l)
			short, full := DaemonError(l, "EADDRNOTAVAIL")
			p.Report(Finding{
				Listener:    l,
				Message:     fmt.Sprintf("%s binds now, but would fail after the next reboot: %s", l.Service, short),
				DaemonError: full,
				Why:         fmt.Sprintf("%s is not on this host; %s is 1 now, but %s, so it is %s after a reboot", l.Address(), name, where, boot),
				Fix:         fix[1:],
				Persist:     persist,
				Errno:       "EADDRNOTAVAIL",
			})
		}
		return nil
	},
}

// LBD403 finds a non-local bind sysctl that the boot configuration sets but
// the running kernel does not have, while a listener needs it.
var LBD403 = &Check{
	ID:       "LBD403",
	Name:     "sysctl-not-applied",
	Title:    "A persisted sysctl is not applied yet",
	Severity: Info,
	Doc: `A sysctl.d file sets net.ipv4.ip_nonlocal_bind (or the IPv6 one) to 1, so
the next boot allows non-local binds, but the running kernel still has 0: the
file was written and never applied. Listeners that need it fail now (see
LBD101 or LBD401) and would start after a reboot.

Fix: apply the file now:

    sysctl --system

or only that file: sysctl -p /etc/sysctl.d/FILE.conf`,
	Run: func(p *Pass) error {
		reported := map[string]bool{}
		for _, l := range p.Listeners() {
			name := nonlocalSysctl(l)
			boot, at, known := bootValue(p.Host, name)
			if reported[name] || !known || boot != "1" || p.Host.Sysctl(name) == "1" || at.File == "" || !needsNonlocal(p, l) {
				continue
			}
			reported[name] = true
			p.Report(Finding{
				Service: l.Service,
				Pos:     at,
				Message: fmt.Sprintf("%s = 1 is persisted here but the running value is %s", name, sysctlValue(p.Host, name)),
				Why:     fmt.Sprintf("the file was not applied since it was written; %s at %s needs it", l.Socket(), l.Pos),
				Fix:     []string{"sysctl -p " + at.File, "sysctl --system"},
			})
		}
		return nil
	},
}
