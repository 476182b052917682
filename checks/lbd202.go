package checks

import (
	"fmt"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// LBD202 finds two checked listeners that ask for overlapping sockets:
// whichever daemon (or context) binds second fails.
var LBD202 = &Check{
	ID:       "LBD202",
	Name:     "listener-conflict",
	Title:    "Two configured listeners ask for the same socket",
	Severity: Error,
	Doc: `Two listeners lbdoctor checked ask for sockets the kernel cannot give
both: nginx and HAProxy on the same port, nginx's http and stream blocks on
the same port, or, within one nginx context, a wildcard listen beside a
specific one that has its own socket ("bind", "reuseport", "backlog", ...).
Whichever binds second fails with EADDRINUSE (98: Address already in use):

    nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)

Sockets overlap when the protocol (TCP or UDP) and port are the same and
the addresses are equal, either is the wildcard of its family, or one is a
dual-stack [::] socket (IPV6_V6ONLY off: nginx "ipv6only=off", HAProxy
"v4v6", or HAProxy's default with net.ipv6.bindv6only=0) and the other is
IPv4. Sockets that both set SO_REUSEPORT may share (HAProxy does by default;
nginx with "reuseport"): see LBD203.

A systemd socket unit (ListenStream=, ListenDatagram=) is bound by systemd
itself at boot, before the services start: a daemon asking for the same
socket is the one that fails, and the finding names the unit's line
(BindIPv6Only=both makes a bare port dual-stack, like "ipv6only=off").

Fix: move one of the two listeners to another port or address, or serve
both from one daemon.

Example, nginx.conf:

    server { listen 80; }

and haproxy.cfg:

    frontend web
        bind 10.0.0.5:80`,
	Run: func(p *Pass) error {
		// The first listener in order that clashes with a, found through
		// the index of listeners by port and address (cache.go).
		ls, index := p.listenerClashes()
		// Which service (config) each listener belongs to, for daemons
		// that bind their own sockets in order.
		owner := make([]int, len(ls))
		k := 0
		for si, s := range p.Services {
			if s.Config == nil {
				continue
			}
			for range s.Config.Listeners {
				owner[k] = si
				k++
			}
		}
		for i, a := range ls {
			if !opensIPSocket(a) {
				continue
			}
			sa := index.socks[i]
			j, ok := index.first(sa, false, func(j int) verdict {
				b := ls[j]
				switch {
				case sameSocket(a, b):
					return skipRun
				case i == j || exclusive(a, b) || (a.ReusePort && b.ReusePort) || !sa.clashes(index.socks[j]):
					return next
				case bindsFirst(a, b):
					return next
				case bindsAtBoot(a) && !bindsAtBoot(b):
					// systemd holds the socket before the daemon starts.
					return next
				case a.InOrder && b.InOrder && owner[i] == owner[j] && i < j:
					// The same daemon binds a first: only b fails.
					return next
				}
				return found
			})
			if ok {
				b := ls[j]
				short, full := DaemonError(a, "EADDRINUSE")
				why := fmt.Sprintf("%s (%s) also asks for %s/%s at %s; whichever binds second fails", b.Service, b.Context, b.Socket(), b.Proto, b.Pos)
				if bindsAtBoot(b) && !bindsAtBoot(a) {
					why = fmt.Sprintf("systemd binds %s/%s for %s at %s at boot (sockets.target), before %s starts", b.Socket(), b.Proto, b.Context, b.Pos, a.Service)
				}
				p.Report(Finding{
					Listener:    a,
					Message:     fmt.Sprintf("%s would fail: %s", a.Service, short),
					DaemonError: full,
					Why:         why,
					Fix:         []string{fmt.Sprintf("move %s or %s to another port or address", a.Pos, b.Pos)},
					Errno:       "EADDRINUSE",
				})
			}
		}
		return nil
	},
}

// sameSocket reports whether nginx opens one socket for both listens: the
// same address and port in the same context are one socket with several
// server names.
func sameSocket(a, b *parsers.Listener) bool {
	return a.Service == "nginx" && b.Service == "nginx" && a.Context == b.Context &&
		a.Proto == b.Proto && a.Addr == b.Addr && a.Port == b.Port
}

// bindsFirst reports whether a binds before b within one nginx context,
// where the specific addresses come first (ngx_http_optimize_servers sorts
// them so): then only b's bind() fails and is worth quoting.
func bindsFirst(a, b *parsers.Listener) bool {
	return a.Service == "nginx" && b.Service == "nginx" && a.Context == b.Context &&
		!a.Addr.IsUnspecified() && b.Addr.IsUnspecified()
}
