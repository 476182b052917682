package checks

import "fmt"

// LBD203 finds listeners that start but share one address and port through
// SO_REUSEPORT, so the kernel splits connections between them.
var LBD203 = &Check{
	ID:       "LBD203",
	Name:     "shared-port",
	Title:    "Two listeners share one address and port through SO_REUSEPORT",
	Severity: Warning,
	Doc: `Two listeners bind exactly the same address, port and protocol, and both
set SO_REUSEPORT, so both start: HAProxy sets it on every bind unless the
global "noreuseport" is given, and nginx sets it with "listen ...
reuseport". The kernel then hands each new connection to one of the sockets
at random, so two frontends (or a frontend and a peers or stats bind) each
see a share of the traffic, usually a copy-paste mistake that nothing
reports (HAProxy issue #629).

With "noreuseport" in HAProxy's global section the second bind fails
instead (LBD202).

Fix: give each frontend its own address or port, or merge them.

Example:

    frontend a
        bind :80
    frontend b
        bind :80`,
	Run: func(p *Pass) error {
		// The first listener in order on exactly a's socket, found through
		// the index of listeners by port and address (cache.go).
		ls, index := p.listenerClashes()
		for i, a := range ls {
			if !opensIPSocket(a) || !a.ReusePort {
				continue
			}
			j, ok := index.first(index.socks[i], true, func(j int) verdict {
				b := ls[j]
				switch {
				case sameSocket(a, b):
					return skipRun
				case i == j || !b.ReusePort || exclusive(a, b):
					return next
				case a.Proto != b.Proto || a.Port != b.Port || a.Addr.WithZone("") != b.Addr.WithZone(""):
					return next
				}
				return found
			})
			if ok {
				b := ls[j]
				p.Report(Finding{
					Listener: a,
					Message:  fmt.Sprintf("%s shares %s/%s with %s (%s) at %s: the kernel splits connections between them at random", a.Service, a.Socket(), a.Proto, b.Service, b.Context, b.Pos),
					Why:      "both sockets set SO_REUSEPORT, so both bind and each receives a random share of new connections",
					Fix:      []string{fmt.Sprintf("give %s or %s its own address or port", a.Pos, b.Pos)},
				})
			}
		}
		return nil
	},
}
