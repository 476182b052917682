package nginx

import (
	"fmt"
	"strconv"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// sockState is what nginx keeps per listening address of one context: the
// options of the one listen that set any (ngx_http_add_addresses copies
// them over the address), and which servers listen there.
type sockState struct {
	set           bool
	opts          listenOpts
	defaultServer bool
	servers       map[int]bool
}

// group applies nginx's per-address merging and per-port grouping to ls in
// place and returns the duplicate errors nginx would stop at.
//
// http, stream and mail each keep their own port list
// (ngx_http_optimize_servers, ngx_stream_optimize_servers,
// ngx_mail_optimize_servers) and each create their own listening sockets,
// so grouping never crosses contexts: a stream listen on 10.0.0.5:80 is not
// served by http's *:80 and binds on its own (and then clashes with it).
// Within a context, addresses are grouped by port, socket type and family;
// when a group holds the wildcard address nginx binds only the wildcard and
// the listens that have bind or a parameter that implies it (backlog,
// rcvbuf, sndbuf, fastopen, deferred, ipv6only, reuseport, so_keepalive,
// multipath; setfib and accept_filter do not exist on Linux). The others
// are served from the wildcard socket, which Via names.
func group(ls []listen) []parsers.Error {
	var errs []parsers.Error
	socks := map[string]*sockState{}
	keys := make([]string, len(ls))
	for i := range ls {
		l := &ls[i]
		k, ok := sockKey(l)
		if !ok {
			continue
		}
		keys[i] = k
		s := socks[k]
		if s == nil {
			s = &sockState{servers: map[int]bool{}}
			socks[k] = s
		} else if msg := duplicate(l, s); msg != "" {
			errs = append(errs, parsers.Error{Pos: l.errPos, Msg: msg})
			continue
		}
		s.servers[l.server] = true
		if l.opts.set {
			s.set, s.opts = true, l.opts
		}
		if l.opts.defaultServer {
			s.defaultServer = true
		}
	}

	wild := map[string]string{}
	for i := range ls {
		l := &ls[i]
		if keys[i] == "" {
			continue
		}
		s := socks[keys[i]]
		if l.l.Addr.Is6() {
			l.l.V6Only = parsers.V6OnlyOn
			if s.set && s.opts.v6only == parsers.V6OnlyOff {
				l.l.V6Only = parsers.V6OnlyOff
			}
		}
		l.l.ReusePort = s.set && s.opts.reuseport
		if l.wildcard {
			wild[groupKey(l)] = sockText(l)
		}
	}
	for i := range ls {
		l := &ls[i]
		if keys[i] == "" || l.wildcard || l.l.Proto == parsers.Unix || socks[keys[i]].set {
			continue
		}
		l.l.Via = wild[groupKey(l)]
	}
	return errs
}

// duplicate is nginx's complaint about l joining an address already listed
// in its context, or "" when nginx just adds the server to the address.
func duplicate(l *listen, s *sockState) string {
	text := sockText(l)
	if l.ctx == "mail" {
		// ngx_mail_core_listen refuses any repeated address and port.
		return fmt.Sprintf(`duplicate "%s" address and port pair`, text)
	}
	pair := l.ctx == "stream"
	switch {
	case s.servers[l.server] && pair:
		return fmt.Sprintf(`duplicate "%s" address and port pair`, text)
	case s.servers[l.server]:
		return "a duplicate listen " + text
	case l.opts.set && s.set && pair:
		return fmt.Sprintf(`duplicate "%s" address and port pair`, text)
	case l.opts.set && s.set:
		return "duplicate listen options for " + text
	case l.opts.defaultServer && s.defaultServer:
		return "a duplicate default server for " + text
	}
	// A stream address shared by two servers is an error before nginx
	// 1.25.5 and virtual servers since; say nothing rather than be wrong
	// for one of them.
	return ""
}

// sockKey identifies the socket address a listen names within its context;
// ok is false for a host name that was not resolved.
func sockKey(l *listen) (string, bool) {
	if l.l.Proto != parsers.Unix && !l.l.Addr.IsValid() {
		return "", false
	}
	return l.ctx + "|" + string(l.l.Proto) + "|" + sockText(l), true
}

// groupKey is nginx's port list entry: context, port, socket type, family.
func groupKey(l *listen) string {
	family := "6"
	if l.l.Addr.Is4() {
		family = "4"
	}
	return l.ctx + "|" + string(l.l.Proto) + "|" + family + "|" + strconv.Itoa(l.l.Port)
}

// sockText is the address as nginx prints it (ngx_sock_ntop).
func sockText(l *listen) string {
	if l.l.Proto == parsers.Unix {
		return "unix:" + l.l.Path
	}
	return parsers.JoinHostPort(l.l.Addr.String(), l.l.Port)
}
