// Package redis reads a Redis (or Redis Sentinel) config the way
// redis-server 7.0 does and returns the sockets it opens: every bind
// address on port and on tls-port, and unixsocket.
//
// The rules, checked against the real redis-server 7.0:
//   - "bind" lists addresses; the last bind line wins. Without one Redis
//     binds "* -::*": "*" is 0.0.0.0, "::*" is :: (IPV6_V6ONLY on).
//   - An address written with a "-" prefix is optional: when bind() fails
//     with EADDRNOTAVAIL (or the family is missing) Redis logs "Could not
//     create server TCP listening socket ADDR:PORT: bind: ..." and goes
//     on; any other address failing, or a "-" one failing otherwise (the
//     port taken), stops it ("Failed listening on port 6379 (TCP),
//     aborting."). When nothing at all is left to listen on it exits with
//     "Configured to not listen anywhere, exiting.".
//   - port 0 (or tls-port 0, the default) opens no TCP socket.
//   - Sentinel reads the same keywords; its default port is 26379.
package redis

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Options says how the server is started.
type Options struct {
	Root parsers.Root
	// Sentinel is true for redis-sentinel (default port 26379); a config
	// with "sentinel" lines is read as one too.
	Sentinel bool
	// Hosts resolves host names; nil: parsers.HostsFile.
	Hosts func(string) []netip.Addr
}

// optional are the errnos Redis skips for a "-" address
// (anetTcpServer's EPROTONOSUPPORT, ENOPROTOOPT, ESOCKTNOSUPPORT,
// EPFNOSUPPORT, EAFNOSUPPORT and EADDRNOTAVAIL).
var optional = []string{"EADDRNOTAVAIL", "EAFNOSUPPORT"}

type value struct {
	args []string
	pos  parsers.Pos
}

type parser struct {
	opts     Options
	cfg      *parsers.Config
	settings map[string]value
	sentinel bool
	depth    int
	// reads counts the files read; stop ends the parse at an include
	// loop, which the daemon never gets out of either.
	reads int
	stop  bool
}

// maxReads bounds the files one parse reads, so that includes that fan out
// cannot take lbdoctor down.
const maxReads = 10000

// Parse reads the config at path.
func Parse(path string, opts Options) (*parsers.Config, error) {
	p := &parser{opts: opts, cfg: &parsers.Config{Service: "redis", Path: path}, settings: map[string]value{}, sentinel: opts.Sentinel}
	data, err := opts.Root.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	p.file(path, data)
	p.listeners()
	return p.cfg, nil
}

func (p *parser) errorf(pos parsers.Pos, format string, a ...any) {
	p.cfg.Errors = append(p.cfg.Errors, parsers.Error{Pos: pos, Msg: fmt.Sprintf(format, a...)})
}

// file reads one config file's lines.
func (p *parser) file(name string, data []byte) {
	p.cfg.Files = append(p.cfg.Files, name)
	for n, text := range strings.Split(string(data), "\n") {
		if p.stop {
			return
		}
		pos := parsers.Pos{File: name, Line: n + 1}
		text = strings.TrimSpace(text)
		if text == "" || text[0] == '#' {
			continue
		}
		args, ok := splitArgs(text)
		if !ok {
			p.errorf(pos, "Unbalanced quotes in configuration line")
			continue
		}
		if len(args) == 0 {
			continue
		}
		key := strings.ToLower(args[0])
		switch key {
		case "include":
			if len(args) != 2 {
				p.errorf(pos, "wrong number of arguments")
				continue
			}
			p.include(pos, args[1])
		case "sentinel":
			p.sentinel = true
		default:
			p.settings[key] = value{args[1:], pos}
		}
	}
}

// include reads an included file; Redis opens a relative name from its
// working directory (/ under systemd).
func (p *parser) include(pos parsers.Pos, name string) {
	if !filepath.IsAbs(name) {
		name = filepath.Join("/", name)
	}
	if p.depth >= 10 || p.reads >= maxReads {
		p.errorf(pos, "include nesting too deep at %s (an include loop: lbdoctor stops reading here)", name)
		p.stop = true
		return
	}
	p.reads++
	data, err := p.opts.Root.ReadFile(name)
	if err != nil {
		p.errorf(pos, "Fatal error, can't open config file '%s': %s", name, parsers.ErrText(err))
		return
	}
	p.depth++
	p.file(name, data)
	p.depth--
}

// splitArgs is sdssplitargs: words, "double quotes" with \ escapes,
// 'single quotes'; false on an unbalanced quote.
func splitArgs(s string) ([]string, bool) {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t\r")
		if s == "" {
			return out, true
		}
		var b strings.Builder
		i := 0
		for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' {
			q := s[i]
			if q != '"' && q != '\'' {
				b.WriteByte(q)
				i++
				continue
			}
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if q == '"' && c == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if q == '\'' && c == '\\' && i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i += 2
					continue
				}
				i++
				if c == q {
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed || (i < len(s) && s[i] != ' ' && s[i] != '\t') {
				return nil, false
			}
		}
		out = append(out, b.String())
		s = s[i:]
	}
}

// port reads a port setting, with its default.
func (p *parser) port(key string, def int) (int, parsers.Pos) {
	v, ok := p.settings[key]
	if !ok {
		return def, parsers.Pos{File: p.cfg.Path}
	}
	if len(v.args) != 1 {
		p.errorf(v.pos, "wrong number of arguments")
		return 0, v.pos
	}
	n, err := strconv.Atoi(v.args[0])
	if err != nil || n < 0 || n > 65535 {
		p.errorf(v.pos, "argument couldn't be parsed into an integer")
		return 0, v.pos
	}
	return n, v.pos
}

// listeners turns the settings into sockets.
func (p *parser) listeners() {
	def := 6379
	if p.sentinel {
		def = 26379
	}
	port, portPos := p.port("port", def)
	tlsPort, tlsPos := p.port("tls-port", 0)
	bind, ok := p.settings["bind"]
	if !ok {
		bind = value{args: []string{"*", "-::*"}, pos: portPos}
	}
	if len(bind.args) == 0 {
		p.errorf(bind.pos, "wrong number of arguments")
	}
	hosts := p.opts.Hosts
	if hosts == nil {
		hosts = parsers.HostsFile(p.opts.Root)
	}
	for _, tcp := range []struct {
		port    int
		pos     parsers.Pos
		context string
	}{{port, portPos, "port"}, {tlsPort, tlsPos, "tls-port"}} {
		if tcp.port == 0 {
			continue
		}
		for _, raw := range bind.args {
			word, opt := strings.CutPrefix(raw, "-")
			if word == "" {
				// getaddrinfo("") fails and Redis stops, as redis-server 7.0 does
				// for "bind -" ("Could not create
				// server TCP listening socket :6379: Name or service not
				// known").
				p.errorf(bind.pos, "Could not create server TCP listening socket :%d: Name or service not known", tcp.port)
				continue
			}
			base := parsers.Listener{Service: "redis", Pos: bind.pos, Context: tcp.context, Raw: raw, Proto: parsers.TCP, Port: tcp.port, Group: "bind", InOrder: true}
			if opt {
				base.Optional = optional
			}
			add := func(a netip.Addr, host string) {
				l := base
				l.Addr, l.Host = a, host
				if a.Is6() {
					l.V6Only = parsers.V6OnlyOn
				}
				p.cfg.Listeners = append(p.cfg.Listeners, l)
			}
			switch word {
			case "*":
				add(netip.IPv4Unspecified(), "")
				continue
			case "::*":
				add(netip.IPv6Unspecified(), "")
				continue
			}
			if a, err := netip.ParseAddr(word); err == nil {
				add(a.Unmap(), "")
				continue
			}
			addrs := hosts(word)
			if len(addrs) == 0 {
				l := base
				l.Host = word
				p.cfg.Listeners = append(p.cfg.Listeners, l)
			}
			// Redis binds the first address getaddrinfo gives.
			if len(addrs) > 0 {
				add(addrs[0], word)
			}
		}
	}
	if v, ok := p.settings["unixsocket"]; ok && len(v.args) == 1 && v.args[0] != "" {
		l := parsers.Listener{Service: "redis", Pos: v.pos, Context: "unixsocket", Raw: v.args[0], Proto: parsers.Unix, Path: v.args[0], Group: "bind"}
		if m, ok := p.settings["unixsocketperm"]; ok && len(m.args) == 1 {
			if n, err := strconv.ParseUint(m.args[0], 8, 32); err == nil {
				l.UnixMode = os.FileMode(n)
			}
		}
		p.cfg.Listeners = append(p.cfg.Listeners, l)
	}
}
