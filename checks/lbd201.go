package checks

import (
	"fmt"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// LBD201 finds listeners whose port another process already holds.
var LBD201 = &Check{
	ID:       "LBD201",
	Name:     "port-in-use",
	Title:    "Port is already taken by another process",
	Severity: Error,
	Doc: `Another process already listens on the same port, on an address that
overlaps this one, so bind() fails with EADDRINUSE (98: Address already in
use):

    nginx: [emerg] bind() to 0.0.0.0:8080 failed (98: Address already in use)

Two sockets of the same protocol (TCP and UDP are separate) and port clash
when their addresses are equal, when either is the wildcard of that family
(0.0.0.0 covers every IPv4 address, [::] every IPv6 one), or when one is a
dual-stack [::] socket (IPV6_V6ONLY off: nginx "ipv6only=off", HAProxy
"v4v6", or HAProxy's default when net.ipv6.bindv6only is 0) and the other is
any IPv4 address. A running copy of the same daemon is not counted: a reload
reuses its sockets. Nor is a socket that lets the daemon share the port:
both with SO_REUSEPORT under the same user, or, for UDP, the other socket
with SO_REUSEADDR (nginx and HAProxy set it on every listener). lbdoctor
reads those options from the owner's descriptor (pidfd_getfd, as root);
when it cannot, it assumes no sharing.

Fix: find the owner and stop it, or move one of the two listeners:

    ss -ltnp 'sport = :8080'

Example that fires while another program listens on 0.0.0.0:8080:

    server { listen 10.0.0.5:8080; }`,
	Run: func(p *Pass) error {
		// The first socket in order that clashes with l, found through the
		// index of sockets by port and address (cache.go).
		index := p.socketClashes()
		for _, l := range p.Listeners() {
			if !opensIPSocket(l) {
				continue
			}
			sl := listenerSocket(p.Host, l)
			j, ok := index.first(sl, false, func(j int) verdict {
				s := p.Host.Sockets[j]
				switch {
				case s.Command == l.Service, bindsAtBoot(l) && s.Command == "systemd":
					// A running copy (systemd holds its socket units' sockets).
					return skipRun
				case s.Proto != string(l.Proto) || s.Port != l.Port || !sl.clashes(index.socks[j]):
					return next
				case mayShare(l, s):
					return next
				}
				return found
			})
			if ok {
				s := p.Host.Sockets[j]
				short, full := DaemonError(l, "EADDRINUSE")
				owner := fmt.Sprintf("a process of uid %d (run as root to name it)", s.UID)
				if s.PID != 0 {
					owner = fmt.Sprintf("%s (pid %d)", s.Command, s.PID)
				}
				flag := "-ltnp"
				if s.Proto == "udp" {
					flag = "-lunp"
				}
				p.Report(Finding{
					Listener:    l,
					Message:     fmt.Sprintf("%s would fail: %s", l.Service, short),
					DaemonError: full,
					Why:         fmt.Sprintf("%s already listens on %s/%s", owner, parsers.JoinHostPort(s.Address, s.Port), s.Proto),
					Fix:         []string{fmt.Sprintf("ss %s 'sport = :%d'", flag, s.Port)},
					Errno:       "EADDRINUSE",
				})
			}
		}
		return nil
	},
}

// mayShare reports whether the kernel lets l bind beside the existing
// socket s although their addresses overlap: both set SO_REUSEPORT under
// the same user (the daemons bind as root), or, for UDP, both set
// SO_REUSEADDR, as nginx and HAProxy do on every listener. Unknown
// options (no owner visible) share nothing.
func mayShare(l *parsers.Listener, s host.Socket) bool {
	if l.ReusePort && s.ReusePort != nil && *s.ReusePort && s.UID == 0 {
		return true
	}
	return l.Proto == parsers.UDP && s.ReuseAddr != nil && *s.ReuseAddr
}
