package node

import (
	"errors"
	"net"

	"golang.org/x/sys/unix"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
)

// probe asks the kernel of this network namespace whether each distinct
// listen address binds: a socket of the listener's family and type, with
// the options its daemon sets, bound to port 0 so that no service port is
// ever taken, then closed.
func probe(services []checks.Service) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range services {
		if s.Config == nil {
			continue
		}
		for i := range s.Config.Listeners {
			l := &s.Config.Listeners[i]
			if l.Proto == parsers.Unix || !l.Addr.IsValid() || l.Addr.IsUnspecified() || l.Via != "" {
				continue
			}
			key := checks.ProbeKey(l)
			if _, done := out[key]; done {
				continue
			}
			errno, err := probeBind(l)
			if err != nil {
				return nil, err
			}
			out[key] = errno
		}
	}
	return out, nil
}

// probeBind binds l's address on port 0 and names the errno, "" when the
// bind succeeded. err is set only when the probe itself could not run.
func probeBind(l *parsers.Listener) (string, error) {
	typ := unix.SOCK_STREAM
	if l.Proto == parsers.UDP {
		typ = unix.SOCK_DGRAM
	}
	a := l.Addr
	family := unix.AF_INET6
	if a.Is4() || a.Is4In6() {
		family, a = unix.AF_INET, a.Unmap()
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EAFNOSUPPORT) {
			return "EAFNOSUPPORT", nil
		}
		return "", err
	}
	defer unix.Close(fd)
	if l.Transparent {
		// HAProxy's "transparent": IP_TRANSPARENT, falling back to
		// IP_FREEBIND when the process lacks CAP_NET_ADMIN.
		level, opt := unix.IPPROTO_IP, unix.IP_TRANSPARENT
		if family == unix.AF_INET6 {
			level, opt = unix.IPPROTO_IPV6, unix.IPV6_TRANSPARENT
		}
		if unix.SetsockoptInt(fd, level, opt, 1) != nil {
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_FREEBIND, 1)
		}
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Addr: a.As4()}
	} else {
		sa6 := &unix.SockaddrInet6{Addr: a.As16()}
		if z := a.Zone(); z != "" {
			ifi, err := net.InterfaceByName(z)
			if err != nil {
				return "ENODEV", nil
			}
			sa6.ZoneId = uint32(ifi.Index)
		}
		sa = sa6
	}
	if err := unix.Bind(fd, sa); err != nil {
		var errno unix.Errno
		if errors.As(err, &errno) {
			return unix.ErrnoName(errno), nil
		}
		return "", err
	}
	return "", nil
}
