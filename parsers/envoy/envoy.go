// Package envoy reads the static listeners of an Envoy bootstrap config
// (YAML, or JSON, which YAML reads too) and returns the sockets Envoy binds
// at start-up: each listener's address and additional_addresses, and the
// admin interface's.
//
// The rules, from Envoy's documentation (config.listener.v3.Listener,
// config.core.v3.SocketAddress) and source; no Envoy package exists where
// lbdoctor is tested, so they are not checked against a running Envoy:
//   - socket_address has address (an IP: Envoy resolves no names for
//     listeners), port_value, protocol (TCP, the default, or UDP) and
//     ipv4_compat: an IPv6 listener sets IPV6_V6ONLY unless ipv4_compat is
//     true. pipe.path is a unix socket.
//   - freebind: true, transparent: true, or a socket_options entry setting
//     IP_FREEBIND / IP_TRANSPARENT (or their IPv6 twins) to non-zero before
//     bind let a non-local address bind.
//   - enable_reuse_port (default true on Linux) sets SO_REUSEPORT.
//   - bind_to_port: false opens no socket of its own.
//   - Two listeners with the same address are refused ("error adding
//     listener: 'b' has duplicate address '0.0.0.0:80' as existing
//     listener").
//   - A bind failure reads "listener 'NAME' failed to bind or apply socket
//     options: cannot bind '10.0.0.100:80': Cannot assign requested
//     address".
package envoy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Service is the name of Envoy's listeners.
const Service = "envoy"

// Socket option levels and names Envoy's socket_options may set.
const (
	solIP            = 0
	solIPv6          = 41
	ipFreebind       = 15
	ipTransparent    = 19
	ipv6Transparent  = 75
	ipv6Freebind     = 78
	statePrebind     = "STATE_PREBIND"
	maxListenerCount = 100000
)

// Options says how the config is read.
type Options struct {
	Root parsers.Root
}

type parser struct {
	cfg  *parsers.Config
	file string
	seen map[string]string // "proto addr:port" -> listener name
}

// Parse reads the bootstrap config at path.
func Parse(path string, opts Options) (*parsers.Config, error) {
	data, err := opts.Root.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	p := &parser{cfg: &parsers.Config{Service: Service, Path: path, Files: []string{path}}, file: path, seen: map[string]string{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return p.cfg, nil
		}
		line := 1
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			if n := lineOf(err.Error()); n > 0 {
				line = n
			}
		}
		p.errorf(line, "unable to parse YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return p.cfg, nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		if root.Kind != 0 {
			p.errorf(root.Line, "the bootstrap config is not a mapping")
		}
		return p.cfg, nil
	}
	if admin := get(root, "admin"); admin != nil {
		if addr := get(admin, "address"); addr != nil {
			p.address(addr, "admin", "admin", sockOpts{bindToPort: true}, true)
		}
	}
	static := get(root, "static_resources")
	if static == nil {
		return p.cfg, nil
	}
	listeners := get(static, "listeners")
	if listeners == nil {
		return p.cfg, nil
	}
	if listeners.Kind != yaml.SequenceNode {
		p.errorf(listeners.Line, "static_resources.listeners is not a list")
		return p.cfg, nil
	}
	for i, l := range listeners.Content {
		if i >= maxListenerCount {
			break
		}
		p.listener(l, i)
	}
	return p.cfg, nil
}

// lineOf finds "line N" in a YAML error.
func lineOf(s string) int {
	_, rest, ok := strings.Cut(s, "line ")
	if !ok {
		return 0
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	n, _ := strconv.Atoi(rest[:end])
	return n
}

func (p *parser) errorf(line int, format string, a ...any) {
	p.cfg.Errors = append(p.cfg.Errors, parsers.Error{Pos: parsers.Pos{File: p.file, Line: line}, Msg: fmt.Sprintf(format, a...)})
}

// get is the value of key in mapping n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := n.Content[i+1]
			if v.Kind == yaml.AliasNode && v.Alias != nil {
				return v.Alias
			}
			return v
		}
	}
	return nil
}

// boolean reads a bool, or a google.protobuf.BoolValue ({value: true}).
func boolean(n *yaml.Node) (value, set bool) {
	if n == nil {
		return false, false
	}
	if n.Kind == yaml.MappingNode {
		n = get(n, "value")
		if n == nil {
			return false, true
		}
	}
	b, err := strconv.ParseBool(n.Value)
	return b && err == nil, true
}

// sockOpts are a listener's settings that change how its sockets bind.
type sockOpts struct {
	transparent bool // freebind or transparent
	reusePort   bool
	bindToPort  bool
}

// listener reads one static listener.
func (p *parser) listener(n *yaml.Node, i int) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, "a listener is not a mapping")
		return
	}
	name := fmt.Sprintf("listener %d", i)
	if v := get(n, "name"); v != nil && v.Value != "" {
		name = v.Value
	}
	o := sockOpts{reusePort: true, bindToPort: true}
	if b, set := boolean(get(n, "enable_reuse_port")); set {
		o.reusePort = b
	} else if b, set := boolean(get(n, "reuse_port")); set {
		o.reusePort = b
	}
	if b, set := boolean(get(n, "bind_to_port")); set {
		o.bindToPort = b
	}
	free, _ := boolean(get(n, "freebind"))
	transp, _ := boolean(get(n, "transparent"))
	o.transparent = free || transp || nonlocalOption(get(n, "socket_options"))
	addr := get(n, "address")
	if addr == nil {
		p.errorf(n.Line, "listener '%s': address is required", name)
		return
	}
	p.address(addr, name, "listener "+name, o, false)
	if extra := get(n, "additional_addresses"); extra != nil && extra.Kind == yaml.SequenceNode {
		for _, a := range extra.Content {
			eo := o
			if so := get(get(a, "socket_options"), "socket_options"); so != nil {
				eo.transparent = eo.transparent || nonlocalOption(so)
			}
			if inner := get(a, "address"); inner != nil {
				p.address(inner, name, "listener "+name, eo, false)
			}
		}
	}
}

// nonlocalOption reports whether socket_options set IP_FREEBIND or
// IP_TRANSPARENT (IPv4 or IPv6) before bind.
func nonlocalOption(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.SequenceNode {
		return false
	}
	for _, o := range n.Content {
		level, _ := strconv.Atoi(valueOf(get(o, "level")))
		name, _ := strconv.Atoi(valueOf(get(o, "name")))
		value, _ := strconv.Atoi(valueOf(get(o, "int_value")))
		state := valueOf(get(o, "state"))
		if value == 0 || (state != "" && state != statePrebind) {
			continue
		}
		if (level == solIP && (name == ipFreebind || name == ipTransparent)) || (level == solIPv6 && (name == ipv6Freebind || name == ipv6Transparent)) {
			return true
		}
	}
	return false
}

func valueOf(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// address reads an Address message: socket_address or pipe.
func (p *parser) address(n *yaml.Node, name, context string, o sockOpts, admin bool) {
	l := parsers.Listener{Service: Service, Context: context, Transparent: o.transparent, ReusePort: o.reusePort && !admin}
	if pipe := get(n, "pipe"); pipe != nil {
		path := valueOf(get(pipe, "path"))
		l.Pos = parsers.Pos{File: p.file, Line: pipe.Line}
		if pn := get(pipe, "path"); pn != nil {
			l.Pos.Line = pn.Line
		}
		if path == "" {
			p.errorf(l.Pos.Line, "%s: pipe path is required", context)
			return
		}
		l.Proto, l.Raw, l.Path = parsers.Unix, path, path
		if strings.HasPrefix(path, "@") {
			l.Uncheckable = "abstract unix socket"
		}
		p.add(l, name, o)
		return
	}
	sa := get(n, "socket_address")
	if sa == nil {
		p.errorf(n.Line, "%s: address has no socket_address or pipe", context)
		return
	}
	an := get(sa, "address")
	l.Pos = parsers.Pos{File: p.file, Line: sa.Line}
	if an != nil {
		l.Pos.Line = an.Line
	}
	raw := valueOf(an)
	l.Raw = raw
	switch strings.ToUpper(valueOf(get(sa, "protocol"))) {
	case "", "TCP":
		l.Proto = parsers.TCP
	case "UDP":
		l.Proto = parsers.UDP
	default:
		p.errorf(l.Pos.Line, "%s: protocol %s is not TCP or UDP", context, valueOf(get(sa, "protocol")))
		return
	}
	a, err := netip.ParseAddr(raw)
	if err != nil {
		p.errorf(l.Pos.Line, "malformed IP address: %s", raw)
		return
	}
	l.Addr = a
	if a.Is6() {
		compat, _ := boolean(get(sa, "ipv4_compat"))
		l.V6Only = parsers.V6OnlyOn
		if compat {
			l.V6Only = parsers.V6OnlyOff
		}
	}
	if pv := get(sa, "port_value"); pv != nil {
		n, err := strconv.ParseUint(pv.Value, 10, 32)
		if err != nil || n > 65535 {
			p.errorf(pv.Line, "%s: port_value %s is not a port", context, pv.Value)
			return
		}
		l.Port = int(n)
	} else if get(sa, "named_port") != nil {
		p.errorf(l.Pos.Line, "%s: named_port is not supported for a listener", context)
		return
	}
	if l.Port == 0 {
		l.Uncheckable = "port 0: the kernel picks a free port"
	}
	p.add(l, name, o)
}

// add records a socket, refusing a second listener on the same address.
func (p *parser) add(l parsers.Listener, name string, o sockOpts) {
	if !o.bindToPort {
		l.Uncheckable = "bind_to_port: false: Envoy opens no socket of its own for it"
	}
	key := string(l.Proto) + " " + l.Socket()
	if prev, dup := p.seen[key]; dup && prev != name && l.Uncheckable == "" {
		p.errorf(l.Pos.Line, "error adding listener: '%s' has duplicate address '%s' as existing listener", name, l.Socket())
		return
	}
	p.seen[key] = name
	l.InOrder = true
	p.cfg.Listeners = append(p.cfg.Listeners, l)
}
