package checks

import (
	"net/netip"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// socket is what the kernel compares when it decides EADDRINUSE.
type socket struct {
	proto string
	addr  netip.Addr
	port  int
	// dual is true for an IPv6 wildcard socket with IPV6_V6ONLY off, which
	// also holds the port for every IPv4 address.
	dual bool
}

func listenerSocket(h *host.Facts, l *parsers.Listener) socket {
	s := socket{proto: string(l.Proto), addr: l.Addr.WithZone(""), port: l.Port}
	if s.addr.Is6() && s.addr.IsUnspecified() {
		switch l.V6Only {
		case parsers.V6OnlyOff:
			s.dual = true
		case parsers.V6OnlyDefault:
			// The kernel's default for net.ipv6.bindv6only is 0.
			s.dual = h.Sysctl(host.BindV6Only) != "1"
		}
	}
	return s
}

func hostSocket(hs host.Socket) socket {
	a, _ := netip.ParseAddr(hs.Address)
	a = a.WithZone("")
	return socket{proto: hs.Proto, addr: a, port: hs.Port, dual: a.Is6() && a.IsUnspecified() && !hs.V6Only}
}

// clashes reports whether the kernel would refuse one of the two sockets
// with EADDRINUSE when neither may share (SO_REUSEPORT).
func (a socket) clashes(b socket) bool {
	if !a.addr.IsValid() || !b.addr.IsValid() || a.proto != b.proto || a.port != b.port {
		return false
	}
	if a.addr == b.addr {
		return true
	}
	if a.addr.Is4() == b.addr.Is4() {
		return a.addr.IsUnspecified() || b.addr.IsUnspecified()
	}
	return a.dual || b.dual
}
