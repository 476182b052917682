package haproxy

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/haproxytech/config-parser/v5/params"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// sockType is what a statement accepts: "bind" takes stream sockets,
// "dgram-bind" datagram ones (str2sa_range's PA_O_STREAM / PA_O_DGRAM).
type sockType int

const (
	stream sockType = iota
	dgram
)

// family is the address family str2sa_range settles on.
type family int

const (
	famUnspec family = iota
	famInet
	famInet6
	famUnix
	famAbstract // abns@ and abnsz@: a unix socket in the abstract namespace
	famFD       // fd@: an inherited descriptor
	famSockpair // sockpair@: one end of an inherited socket pair
	famRHTTP    // rhttp@: a reverse HTTP listener that connects out
)

// endpoint is one parsed address of a listening statement.
type endpoint struct {
	fam    family
	udp    bool       // the socket is a datagram one (udp@, quic4@, dgram-bind)
	addr   netip.Addr // for famInet/famInet6 literal addresses and wildcards
	host   string     // a host name HAProxy would resolve at start-up
	path   string     // unix socket path, with any unix-bind prefix
	lo, hi int        // port range
	// empty names the variables env_expand() replaced with nothing.
	empty []string
	// uncheckable says why the endpoint opens nothing lbdoctor can judge.
	uncheckable string
}

// addrPrefix is one of str2sa_range()'s address prefixes.
type addrPrefix struct {
	name       string
	fam        family
	ctrl, xprt int    // 0 keep, 1 stream, 2 dgram
	since      string // the first HAProxy version that knows it
}

// addrPrefixes are tried in HAProxy's order; the first match wins.
var addrPrefixes = [...]addrPrefix{
	{"unix@", famUnix, 0, 0, ""},
	{"uxdg@", famUnix, 2, 2, ""},
	{"uxst@", famUnix, 1, 1, ""},
	{"abns@", famAbstract, 0, 0, ""},
	{"abnsz@", famAbstract, 0, 0, "3.1"},
	{"ip@", famUnspec, 0, 0, ""},
	{"ipv4@", famInet, 0, 0, ""},
	{"ipv6@", famInet6, 0, 0, ""},
	{"tcp4@", famInet, 1, 1, ""},
	{"mptcp4@", famInet, 1, 1, "3.1"},
	{"udp4@", famInet, 2, 2, ""},
	{"tcp6@", famInet6, 1, 1, ""},
	{"mptcp6@", famInet6, 1, 1, "3.1"},
	{"udp6@", famInet6, 2, 2, ""},
	{"tcp@", famUnspec, 1, 1, ""},
	{"mptcp@", famUnspec, 1, 1, "3.1"},
	{"udp@", famUnspec, 2, 2, ""},
	{"quic4@", famInet, 1, 2, ""}, // stream transport over datagram sockets
	{"quic6@", famInet6, 1, 2, ""},
	{"fd@", famFD, 0, 0, ""},
	{"sockpair@", famSockpair, 0, 0, ""},
	{"rhttp@", famRHTTP, 0, 0, "2.9"},
}

// parseEndpoint is HAProxy 2.6's str2sa_range() (src/tools.c) as str2listener
// and str2receiver call it: the port is mandatory, ranges are allowed,
// offsets are not, host names are resolved (which we leave to the caller).
// raw is one comma-separated element of the address list; pfx is the
// "unix-bind prefix", or empty. It returns the expanded address and the
// endpoint, or a message in HAProxy's words. Prefixes and checks of later
// HAProxy versions apply unless Options.Version says they are too new.
func (p *parser) parseEndpoint(raw string, want sockType, pfx string) (string, endpoint, string) {
	var ep endpoint
	str, empty := envExpand(raw, p.env, nil)
	ep.empty = empty
	if str == "" {
		return str, ep, fmt.Sprintf("'%s' resolves to an empty address (environment variable missing?)", raw)
	}
	s := str

	isDgram := want == dgram // the socket type (ctrl_type)
	xprtDgram := want == dgram
	switch {
	case strings.HasPrefix(s, "stream+"):
		s = s[7:]
		isDgram, xprtDgram = false, false
	case strings.HasPrefix(s, "dgram+"):
		s = s[6:]
		isDgram, xprtDgram = true, true
	case strings.HasPrefix(s, "quic+") && p.atLeast("2.8"):
		s = s[5:]
		isDgram, xprtDgram = false, true
	}

	ep.fam = famUnspec
	matched := false
	for _, pr := range &addrPrefixes {
		if strings.HasPrefix(s, pr.name) && p.atLeast(pr.since) {
			s = s[len(pr.name):]
			ep.fam = pr.fam
			if pr.ctrl != 0 {
				isDgram = pr.ctrl == 2
			}
			if pr.xprt != 0 {
				xprtDgram = pr.xprt == 2
			}
			matched = true
			break
		}
	}
	if !matched && strings.HasPrefix(s, "/") {
		ep.fam = famUnix
	}

	switch ep.fam {
	case famFD, famSockpair:
		// The descriptor is inherited: nothing of ours to bind.
		if !validFD(s) {
			return str, ep, fmt.Sprintf("file descriptor '%s' is not a valid integer in '%s'", s, raw)
		}
		ep.uncheckable = "inherited file descriptor " + s + ": the socket is opened by the process that starts HAProxy"
		if ep.fam == famSockpair {
			ep.uncheckable = "socket pair on inherited file descriptor " + s + ": no address to bind"
		}
	case famRHTTP:
		if !p.experimental {
			return str, ep, fmt.Sprintf("Address '%s' is experimental, must be allowed via a global 'expose-experimental-directives'", s)
		}
		ep.uncheckable = "reverse HTTP listener " + s + ": it connects out through that server and binds no address"
	case famUnix, famAbstract:
		// sun_path is 108 bytes; HAProxy keeps room for ".<pid>.<bak|tmp>"
		// next to a file-system socket while it swaps sockets on reload.
		max := 107
		if ep.fam == famUnix {
			max -= len(pfx) + 1 + 5 + 1 + 3
		}
		if len(s) > max {
			return str, ep, fmt.Sprintf("socket path '%s' too long (max %d)", raw, max)
		}
		if ep.fam == famUnix {
			ep.path = pfx + s
		} else {
			ep.uncheckable = "abstract unix socket @" + s + ": it has no file and lbdoctor does not read the abstract namespace"
		}
	default:
		if msg := parseIPPort(s, raw, &ep); msg != "" {
			return str, ep, msg
		}
		if ep.host != "" {
			p.resolve(&ep)
		}
	}

	if !isDgram && want != stream {
		return str, ep, fmt.Sprintf("stream-type address not acceptable in '%s'", raw)
	}
	if isDgram && want != dgram {
		return str, ep, fmt.Sprintf("dgram-type address not acceptable in '%s'", raw)
	}
	if !isDgram && xprtDgram && (ep.fam == famInet || ep.fam == famInet6) && p.feature("QUIC") == triFalse {
		// protocol_lookup() finds no QUIC protocol in a build without it.
		fam := 2
		if ep.fam == famInet6 {
			fam = 10
		}
		return str, ep, fmt.Sprintf("unsupported stream protocol for datagram family %d address '%s'; QUIC is not compiled in if this is what you were looking for.", fam, raw)
	}
	ep.udp = xprtDgram || isDgram
	return str, ep, ""
}

// resolve is str2ip2()'s name resolution at start-up: getaddrinfo() with
// the forced family, or gethostbyname() (IPv4 only) under
// "nogetaddrinfo"; HAProxy keeps the first answer. Without a resolver, or
// when the name does not resolve, ep keeps only the name.
func (p *parser) resolve(ep *endpoint) {
	if p.resolver == nil {
		return
	}
	for _, a := range p.resolver(ep.host) {
		switch {
		case a.Is4() && (ep.fam == famInet || ep.fam == famUnspec):
			ep.fam, ep.addr = famInet, a
			return
		case a.Is6() && (ep.fam == famInet6 || ep.fam == famUnspec && !p.noGetaddrinfo):
			ep.fam, ep.addr = famInet6, a
			return
		}
	}
}

// parseIPPort handles the IPv4/IPv6 branch of str2sa_range: the port is
// after the last colon unless a closing bracket comes first.
func parseIPPort(s, raw string, ep *endpoint) string {
	host, port := s, ""
	cut := -1
	for k := len(s) - 1; k >= 0; k-- {
		if s[k] == ']' || s[k] == ':' {
			cut = k
			break
		}
	}
	if cut >= 0 && s[cut] == ':' {
		host, port = s[:cut], s[cut+1:]
	} else {
		return fmt.Sprintf("missing port specification in '%s'", raw)
	}
	switch {
	case port != "" && isDigit(port[0]):
		p1, p2 := port, port
		if dash := strings.IndexByte(port, '-'); dash >= 0 {
			p1, p2 = port[:dash], port[dash+1:]
		}
		lo, hi := atoi(p1), atoi(p2)
		if lo < 1 || lo > 65535 {
			return fmt.Sprintf("invalid port '%s'", p1)
		}
		if hi < 1 || hi > 65535 {
			return fmt.Sprintf("invalid port '%s'", p2)
		}
		if lo > hi {
			return fmt.Sprintf("invalid port range '%d-%d'", lo, hi)
		}
		ep.lo, ep.hi = lo, hi
	case port != "" && (port[0] == '-' || port[0] == '+'):
		return fmt.Sprintf("port offset not permitted here in '%s'", raw)
	case port != "":
		return fmt.Sprintf("invalid character '%c' in port number '%s' in '%s'", port[0], port, raw)
	default:
		return fmt.Sprintf("missing port specification in '%s'", raw)
	}

	invalid := func() string { return fmt.Sprintf("invalid address: '%s' in '%s'", host, raw) }
	h := host
	if strings.HasPrefix(h, "[") {
		// Brackets around an IPv6 literal; an IPv6 literal fits in 47 bytes.
		if len(h) < 4 || len(h) >= 48 || h[len(h)-1] != ']' {
			return invalid()
		}
		h = h[1 : len(h)-1]
	}
	switch {
	case h == "::":
		if ep.fam == famInet {
			return invalid()
		}
		ep.fam, ep.addr = famInet6, netip.IPv6Unspecified()
		return ""
	case h == "" || h == "*":
		// The wildcard of the family, IPv4 unless forced to IPv6.
		if ep.fam == famInet6 {
			ep.addr = netip.IPv6Unspecified()
		} else {
			ep.fam, ep.addr = famInet, netip.IPv4Unspecified()
		}
		return ""
	}
	if a, err := netip.ParseAddr(h); err == nil && a.Zone() == "" {
		// inet_pton() semantics: no zone, dotted quad without leading zeros.
		if a.Is4() && ep.fam != famInet6 {
			ep.fam, ep.addr = famInet, a
			return ""
		}
		if a.Is6() && ep.fam != famInet {
			ep.fam, ep.addr = famInet6, a
			return ""
		}
		// A literal of the wrong family never resolves to the forced one.
		return invalid()
	}
	if !validHostname(h) {
		return invalid()
	}
	ep.host = h
	return ""
}

// atoi is C's atoi() as glibc implements it: strtol() then a cast to int,
// so it reads leading digits and ignores what follows ("80x" is 80).
func atoi(s string) int {
	i := 0
	for i < len(s) && cIsSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v int64
	for ; i < len(s) && isDigit(s[i]); i++ {
		d := int64(s[i] - '0')
		if v > (math.MaxInt64-d)/10 {
			v = math.MaxInt64 // strtol saturates at LONG_MAX
			for i < len(s) && isDigit(s[i]) {
				i++
			}
			break
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return int(int32(v))
}

// validFD is the strtol() check on fd@ and sockpair@ numbers.
func validFD(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	for i < len(s) && cIsSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i == len(s) {
		return false
	}
	zero := true
	for ; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
		if s[i] != '0' {
			zero = false
		}
	}
	return !neg || zero
}

// validHostname is resolv_hostname_validation() (src/resolvers.c): labels
// of at most 63 letters, digits, '-' or '_', a name of at most 255 bytes.
func validHostname(s string) bool {
	if len(s) > 255 {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			label = 0
			continue
		}
		if !(isAlnum(c) || c == '-' || c == '_') || label >= 63 {
			return false
		}
		label++
	}
	return true
}

// bindOpts is what the options of a bind line change in the socket.
type bindOpts struct {
	v6only      parsers.V6Only
	transparent bool
	iface       string
	netns       string
	ux          unixPerm
}

// unixPerm is what a unix socket file gets: "mode", "user"/"uid",
// "group"/"gid", from the bind line or "unix-bind" in global.
type unixPerm struct {
	mode        os.FileMode
	user, group string
}

// override is u with the settings o gives.
func (u *unixPerm) override(o unixPerm) unixPerm {
	r := *u
	if o.mode != 0 {
		r.mode = o.mode
	}
	if o.user != "" {
		r.user = o.user
	}
	if o.group != "" {
		r.group = o.group
	}
	return r
}

// set applies one option word and its value; the last one written wins,
// as HAProxy reads them in order.
func (u *unixPerm) set(name, value string) {
	switch name {
	case "mode":
		// strtol(value, &end, 8); HAProxy refuses the line on junk.
		if m, err := strconv.ParseUint(value, 8, 32); err == nil {
			u.mode = os.FileMode(m) & os.ModePerm
		}
	case "user":
		u.user = value
	case "uid":
		u.user = "uid " + value
	case "group":
		u.group = value
	case "gid":
		u.group = "gid " + value
	}
}

// parseBindOpts reads the options after the address with config-parser's
// table of bind options, which knows how many words each takes, so an
// option's value is never read as an option. Like HAProxy it stops at the
// first empty word.
func parseBindOpts(args []string) bindOpts {
	var o bindOpts
	for i, a := range args {
		if a == "" {
			args = args[:i]
			break
		}
	}
	if len(args) == 0 {
		return o
	}
	v4v6, v6only := false, false
	// ParseBindOptions fails only for a value-less option given a value,
	// which HAProxy's own check reports; the words it did read still count.
	parsed, _ := params.ParseBindOptions(args)
	for _, opt := range parsed {
		if v, ok := opt.(*params.BindOptionValue); ok {
			switch v.Name {
			case "interface":
				o.iface = v.Value
			case "namespace":
				o.netns = v.Value
			case "mode", "user", "uid", "group", "gid":
				o.ux.set(v.Name, v.Value)
			}
			continue
		}
		w, ok := opt.(*params.BindOptionWord)
		if !ok {
			continue
		}
		switch w.Name {
		case "transparent":
			o.transparent = true
		case "v4v6":
			v4v6 = true
		case "v6only":
			v6only = true
		}
	}
	// HAProxy sets flags for both and v6only wins at bind time, whatever
	// the order they were written in.
	switch {
	case v6only:
		o.v6only = parsers.V6OnlyOn
	case v4v6:
		o.v6only = parsers.V6OnlyOff
	}
	return o
}
