package host

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// vishvananda/netlink's SocketDiagTCP and SocketDiagUDP ask the kernel for
// sockets in every state and filter afterwards, which on a busy load
// balancer means copying hundreds of thousands of established connections
// out of the kernel to keep a few dozen. The request below asks sock_diag
// for listening sockets only, as "ss -ltn" and "ss -lun" do: for TCP the
// kernel then walks only the listening hash and never the established one.

// TCP states as the kernel numbers them (include/net/tcp_states.h).
const (
	tcpClose  = 7  // an unconnected, bound UDP socket
	tcpListen = 10 // a listening TCP socket
)

// Sizes and attribute types of the sock_diag messages
// (include/uapi/linux/inet_diag.h).
const (
	sizeofInetDiagReqV2 = 56
	sizeofInetDiagMsg   = 72
	inetDiagSKV6Only    = 11 // INET_DIAG_SKV6ONLY, sent for listening and closed IPv6 sockets
)

// diagSocket is a socket as sock_diag describes it, before interface
// indexes are turned into names.
type diagSocket struct {
	Socket
	ifindex int
}

// listeningSockets returns the listening TCP and bound, unconnected UDP
// sockets of the current network namespace, IPv6 ones too when withV6.
func listeningSockets(withV6 bool) ([]diagSocket, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, os.NewSyscallError("socket(NETLINK_SOCK_DIAG)", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, os.NewSyscallError("bind(NETLINK_SOCK_DIAG)", err)
	}

	type query struct {
		family uint8
		proto  uint8
		state  uint
	}
	queries := []query{
		{unix.AF_INET, unix.IPPROTO_TCP, tcpListen},
		{unix.AF_INET, unix.IPPROTO_UDP, tcpClose},
	}
	if withV6 {
		queries = append(queries,
			query{unix.AF_INET6, unix.IPPROTO_TCP, tcpListen},
			query{unix.AF_INET6, unix.IPPROTO_UDP, tcpClose})
	}
	var out []diagSocket
	buf := make([]byte, 64<<10)
	for i, q := range queries {
		var socks []diagSocket
		var err error
		for range dumpRetries {
			socks, err = diagDump(fd, buf, uint32(i+1), q.family, q.proto, 1<<q.state)
			if !errors.Is(err, errDumpInterrupted) {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("sock_diag %s: %w", queryName(q.family, q.proto), err)
		}
		out = append(out, socks...)
	}
	return out, nil
}

func queryName(family, proto uint8) string {
	n := "tcp"
	if proto == unix.IPPROTO_UDP {
		n = "udp"
	}
	if family == unix.AF_INET6 {
		return n + "6"
	}
	return n + "4"
}

var errDumpInterrupted = errors.New("dump interrupted by a concurrent change")

// diagDump sends one inet_diag_req_v2 and reads the whole answer.
func diagDump(fd int, buf []byte, seq uint32, family, proto uint8, states uint32) ([]diagSocket, error) {
	req := make([]byte, unix.NLMSG_HDRLEN+sizeofInetDiagReqV2)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], seq)
	body := req[unix.NLMSG_HDRLEN:]
	body[0] = family
	body[1] = proto
	ne.PutUint32(body[4:], states)
	// The socket id stays zero: no address filter, no cookie.
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, os.NewSyscallError("sendto", err)
	}

	proto2 := "tcp"
	if proto == unix.IPPROTO_UDP {
		proto2 = "udp"
	}
	var out []diagSocket
	interrupted := false
	for {
		n, _, flags, _, err := unix.Recvmsg(fd, buf, nil, 0)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return nil, os.NewSyscallError("recvmsg", err)
		}
		if flags&unix.MSG_TRUNC != 0 {
			return nil, errors.New("netlink message truncated")
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(ne.Uint32(b[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return nil, errors.New("malformed netlink answer")
			}
			typ, flags, mseq := ne.Uint16(b[4:]), ne.Uint16(b[6:]), ne.Uint32(b[8:])
			data := b[unix.NLMSG_HDRLEN:l]
			b = b[min((l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1), len(b)):]
			if mseq != seq {
				continue // a late answer to an earlier request
			}
			if flags&unix.NLM_F_DUMP_INTR != 0 {
				interrupted = true
			}
			switch typ {
			case unix.NLMSG_DONE:
				if interrupted {
					return nil, errDumpInterrupted
				}
				return out, nil
			case unix.NLMSG_ERROR:
				if len(data) >= 4 {
					if errno := int32(ne.Uint32(data)); errno != 0 {
						return nil, unix.Errno(-errno)
					}
				}
				return nil, errors.New("netlink error without code")
			case unix.SOCK_DIAG_BY_FAMILY:
				if s, ok := parseDiagMsg(data, proto2); ok {
					out = append(out, s)
				}
			}
		}
	}
}

// parseDiagMsg reads an inet_diag_msg and its attributes.
func parseDiagMsg(b []byte, proto string) (diagSocket, bool) {
	if len(b) < sizeofInetDiagMsg {
		return diagSocket{}, false
	}
	ne := binary.NativeEndian
	var addr netip.Addr
	switch b[0] {
	case unix.AF_INET:
		addr = netip.AddrFrom4([4]byte(b[8:12]))
	case unix.AF_INET6:
		addr = netip.AddrFrom16([16]byte(b[8:24]))
	default:
		return diagSocket{}, false
	}
	s := diagSocket{
		Socket: Socket{
			Proto:   proto,
			Address: addr.String(),
			Port:    int(binary.BigEndian.Uint16(b[4:6])),
			UID:     int(ne.Uint32(b[64:])),
			Inode:   uint64(ne.Uint32(b[68:])),
		},
		ifindex: int(ne.Uint32(b[40:])),
	}
	// Attributes: struct rtattr { u16 len; u16 type; } then the value, each
	// padded to 4 bytes.
	for a := b[sizeofInetDiagMsg:]; len(a) >= 4; {
		l := int(ne.Uint16(a[0:]))
		typ := ne.Uint16(a[2:]) & 0x3fff // drop NLA_F_NESTED and NLA_F_NET_BYTEORDER
		if l < 4 || l > len(a) {
			break
		}
		if typ == inetDiagSKV6Only && l >= 5 {
			s.V6Only = a[4] != 0
		}
		next := (l + 3) &^ 3
		if next > len(a) {
			break
		}
		a = a[next:]
	}
	return s, true
}
