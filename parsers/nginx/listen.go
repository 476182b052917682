package nginx

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// sockAddr is one socket address a listen directive names; a port range or
// a host name with several addresses yields several.
type sockAddr struct {
	proto    parsers.Proto // TCP or Unix here; the udp/quic parameters change it later
	addr     netip.Addr    // invalid for unix sockets and unresolved host names
	host     string        // the host name as written, when it is one
	path     string        // unix socket path
	port     int
	wildcard bool // 0.0.0.0, [::] or *
}

// listenOpts is what a listen directive asks for besides its address.
type listenOpts struct {
	udp           bool // stream "udp" or http "quic": a datagram socket
	set           bool // a parameter nginx can only apply by bind()ing this address itself
	defaultServer bool
	v6only        parsers.V6Only // ipv6only=; empty when not given (nginx then sets it on)
	reuseport     bool
}

// parseListen reads the arguments of a listen directive in ctx ("http",
// "stream" or "mail") following nginx's ngx_parse_url and the listen handlers
// of the three modules as built on Linux. lookup resolves a host name. The
// returned message is nginx's own, empty when nginx accepts the directive.
func parseListen(args []string, ctx string, lookup func(string) []netip.Addr) ([]sockAddr, listenOpts, string) {
	var opts listenOpts
	if len(args) == 0 {
		return nil, opts, `invalid number of arguments in "listen" directive`
	}
	defaultPort := 0
	if ctx == "http" {
		defaultPort = 80
	}
	addrs, msg := parseURL(args[0], defaultPort, lookup)
	if msg != "" {
		return nil, opts, fmt.Sprintf(`%s in "%s" of the "listen" directive`, msg, args[0])
	}
	var udpIncompatible []string
	for _, p := range args[1:] {
		name, value, hasValue := strings.Cut(p, "=")
		known := true
		switch {
		case (p == "default_server" || p == "default") && ctx == "http",
			p == "default_server" && ctx == "stream": // stream since nginx 1.25.5
			opts.defaultServer = true
		case p == "bind":
			opts.set = true
		case p == "udp" && ctx == "stream":
			opts.udp = true
		case p == "quic" && ctx == "http":
			opts.udp = true
		case p == "ssl", p == "proxy_protocol":
			udpIncompatible = append(udpIncompatible, p)
		case p == "http2" && ctx == "http":
		case p == "deferred" && ctx != "mail":
			opts.set = true // TCP_DEFER_ACCEPT exists on Linux
		case p == "reuseport" && ctx != "mail":
			opts.set, opts.reuseport = true, true
		case p == "multipath":
			opts.set = true
		case name == "accept_filter" && hasValue && ctx != "mail":
			// FreeBSD only: on Linux nginx logs "accept filters ... are not
			// supported on this platform, ignored" and goes on without bind.
		case name == "fastopen" && hasValue && ctx != "mail":
			if atoi(value) < 0 {
				return nil, opts, fmt.Sprintf(`invalid fastopen "%s"`, p)
			}
			opts.set = true
			udpIncompatible = append(udpIncompatible, "fastopen")
		case name == "backlog" && hasValue:
			if atoi(value) <= 0 {
				return nil, opts, fmt.Sprintf(`invalid backlog "%s"`, p)
			}
			opts.set = true
			udpIncompatible = append(udpIncompatible, "backlog")
		case (name == "rcvbuf" || name == "sndbuf") && hasValue:
			if !validSize(value) {
				return nil, opts, fmt.Sprintf(`invalid %s "%s"`, name, p)
			}
			opts.set = true
		case strings.HasPrefix(p, "ipv6only=o"):
			switch p {
			case "ipv6only=on":
				opts.v6only = parsers.V6OnlyOn
			case "ipv6only=off":
				opts.v6only = parsers.V6OnlyOff
			default:
				return nil, opts, fmt.Sprintf(`invalid ipv6only flags "%s"`, p[9:])
			}
			opts.set = true
		case name == "so_keepalive" && hasValue:
			if !validKeepalive(value) {
				return nil, opts, fmt.Sprintf(`invalid so_keepalive value: "%s"`, value)
			}
			opts.set = true
			udpIncompatible = append(udpIncompatible, "so_keepalive")
		default:
			// setfib= lands here too: it exists on FreeBSD only.
			known = false
		}
		if !known {
			if ctx == "http" {
				return nil, opts, fmt.Sprintf(`invalid parameter "%s"`, p)
			}
			return nil, opts, fmt.Sprintf(`the invalid "%s" parameter`, p)
		}
	}
	if opts.udp {
		kind := "udp"
		if ctx == "http" {
			kind = "quic"
		}
		for _, p := range udpIncompatible {
			return nil, opts, fmt.Sprintf(`"listen" directive "%s" parameter is incompatible with "%s"`, p, kind)
		}
	}
	return addrs, opts, ""
}

// parseURL is ngx_parse_url for a listen address: "unix:PATH", "[IPv6]:PORT",
// "ADDR:PORT", "PORT", "ADDR", "*:PORT", each port possibly a range "A-B"
// (nginx 1.15.10 and later). It returns one sockAddr per port and address.
func parseURL(s string, defaultPort int, lookup func(string) []netip.Addr) ([]sockAddr, string) {
	if len(s) >= 5 && strings.EqualFold(s[:5], "unix:") {
		path := s[5:]
		if path == "" {
			return nil, "no path in the unix domain socket"
		}
		if len(path)+1 > 108 { // sizeof(sun_path) on Linux
			return nil, "too long path in the unix domain socket"
		}
		return []sockAddr{{proto: parsers.Unix, path: path}}, ""
	}
	if strings.HasPrefix(s, "[") {
		return parseInet6(s, defaultPort)
	}
	return parseInet(s, defaultPort, lookup)
}

func parseInet6(s string, defaultPort int) ([]sockAddr, string) {
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return nil, "invalid host"
	}
	host, rest := s[1:end], s[end+1:]
	if strings.IndexByte(rest, '/') >= 0 {
		return nil, "invalid host"
	}
	first, last := defaultPort, 0
	if rest != "" {
		if rest[0] != ':' {
			return nil, "invalid host"
		}
		var msg string
		if first, last, msg = parsePorts(rest[1:]); msg != "" {
			return nil, msg
		}
	}
	if host == "" {
		return nil, "no host"
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is6() || a.Zone() != "" {
		// ngx_inet6_addr knows neither zones nor plain IPv4.
		return nil, "invalid IPv6 address"
	}
	return expand(sockAddr{proto: parsers.TCP, addr: a, wildcard: a.IsUnspecified()}, first, last), ""
}

func parseInet(s string, defaultPort int, lookup func(string) []netip.Addr) ([]sockAddr, string) {
	if strings.ContainsAny(s, "/?") {
		return nil, "invalid host"
	}
	host := s
	first, last := defaultPort, 0
	if i := strings.IndexByte(s, ':'); i >= 0 {
		host = s[:i]
		var msg string
		if first, last, msg = parsePorts(s[i+1:]); msg != "" {
			return nil, msg
		}
	} else if p, l, msg, ok := portOnly(s); ok {
		if msg != "" {
			return nil, msg
		}
		return expand(sockAddr{proto: parsers.TCP, addr: netip.IPv4Unspecified(), wildcard: true}, p, l), ""
	}
	if host == "" {
		return nil, "no host"
	}
	if host == "*" {
		return expand(sockAddr{proto: parsers.TCP, addr: netip.IPv4Unspecified(), wildcard: true}, first, last), ""
	}
	if a, ok := inetAddr(host); ok {
		return expand(sockAddr{proto: parsers.TCP, addr: a, wildcard: a.IsUnspecified()}, first, last), ""
	}
	var out []sockAddr
	resolved := lookup(host)
	for _, a := range resolved {
		out = append(out, expand(sockAddr{proto: parsers.TCP, addr: a, host: host, wildcard: a.IsUnspecified()}, first, last)...)
	}
	if len(resolved) == 0 {
		// Not in the hosts file: nginx would ask DNS, which a parser must
		// not. The listener keeps the name and no address.
		out = expand(sockAddr{proto: parsers.TCP, host: host}, first, last)
	}
	return out, ""
}

// portOnly is nginx's "test value as port only" branch for a listen value
// without ':' and '/': "8080" or "8080-8090". ok is false when s is not a
// port, and s is then a host with the default port.
func portOnly(s string) (first, last int, msg string, ok bool) {
	num := s
	if i := strings.IndexByte(s, '-'); i >= 0 {
		n := atoi(s[i+1:])
		if n < 0 {
			return 0, 0, "", false
		}
		if n < 1 || n > 65535 {
			msg = "invalid port"
		}
		last, num = n, s[:i]
	}
	n := atoi(num)
	if n < 0 {
		return 0, 0, "", false
	}
	switch {
	case msg != "":
	case n < 1 || n > 65535:
		msg = "invalid port"
	case last != 0 && n > last:
		msg = "invalid port range"
	}
	return n, last, msg, true
}

// parsePorts reads "80" or "8000-8010" after the colon.
func parsePorts(s string) (first, last int, msg string) {
	num := s
	if i := strings.IndexByte(s, '-'); i >= 0 {
		last = atoi(s[i+1:])
		if last < 1 || last > 65535 {
			return 0, 0, "invalid port"
		}
		num = s[:i]
	}
	first = atoi(num)
	if first < 1 || first > 65535 {
		return 0, 0, "invalid port"
	}
	if last != 0 && first > last {
		return 0, 0, "invalid port range"
	}
	return first, last, ""
}

// expand makes one sockAddr per port of the range first..last (last 0: one).
func expand(sa sockAddr, first, last int) []sockAddr {
	if last == 0 {
		last = first
	}
	out := make([]sockAddr, 0, last-first+1)
	for p := first; p <= last; p++ {
		sa.port = p
		out = append(out, sa)
	}
	return out
}

// atoi is ngx_atoi: decimal digits only, -1 on anything else or overflow.
func atoi(s string) int {
	if s == "" {
		return -1
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' || n > (1<<31-1)/10 {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	if n > 1<<31-1 {
		return -1
	}
	return n
}

// inetAddr is ngx_inet_addr: a dotted quad whose parts are decimal numbers
// up to 255; unlike netip it accepts leading zeros ("010.0.0.1" is 10.0.0.1).
func inetAddr(s string) (netip.Addr, bool) {
	var b [4]byte
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	for i, p := range parts {
		n := atoi(p)
		if n < 0 || n > 255 {
			return netip.Addr{}, false
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b), true
}

// validSize is ngx_parse_size: a number with an optional k or m suffix.
func validSize(s string) bool {
	if s != "" && strings.ContainsRune("kKmM", rune(s[len(s)-1])) {
		s = s[:len(s)-1]
	}
	return atoi(s) >= 0
}

// validKeepalive accepts so_keepalive=on|off|[keepidle]:[keepintvl]:[keepcnt]
// with at least one field set, times optionally with a unit.
func validKeepalive(v string) bool {
	if v == "on" || v == "off" {
		return true
	}
	fields := strings.Split(v, ":")
	if len(fields) > 3 {
		return false
	}
	any := false
	for i, f := range fields {
		if f == "" {
			continue
		}
		if i < 2 {
			f = strings.TrimRight(f, "smhd")
		}
		if atoi(f) < 0 {
			return false
		}
		any = true
	}
	return any
}
