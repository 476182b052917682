package node

import (
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/systemd"
)

// DeclaredService is one entry of .lbdoctor.yaml's services: a daemon
// lbdoctor has no parser for, described by the team that runs it.
//
//	services:
//	  - name: rabbitmq
//	    unit: rabbitmq-server.service
//	    user: rabbitmq
//	    listen: ["10.0.0.100:5672/tcp", "[::]:15672"]
type DeclaredService struct {
	Name   string
	Unit   string
	User   string
	Listen []declaredListen
	Line   int
}

// declaredListen is one listen entry, with its line in the file.
type declaredListen struct {
	Value string
	Line  int
}

// UnmarshalYAML reads an entry, refusing unknown keys (a typo never drops
// a listener silently) and keeping each listen entry's line.
func (d *DeclaredService) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a service is a mapping with name, unit, user and listen", n.Line)
	}
	d.Line = n.Line
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		scalar := func(dst *string) error {
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: %s is a string", v.Line, k.Value)
			}
			*dst = v.Value
			return nil
		}
		var err error
		switch k.Value {
		case "name":
			err = scalar(&d.Name)
		case "unit":
			err = scalar(&d.Unit)
		case "user":
			err = scalar(&d.User)
		case "listen":
			if v.Kind != yaml.SequenceNode {
				return fmt.Errorf("line %d: listen is a list of addresses", v.Line)
			}
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode {
					return fmt.Errorf("line %d: a listen entry is a string like \"10.0.0.100:5672/tcp\"", item.Line)
				}
				d.Listen = append(d.Listen, declaredListen{Value: item.Value, Line: item.Line})
			}
		default:
			return fmt.Errorf("line %d: field %s not found in a service (want name, unit, user, listen)", k.Line, k.Value)
		}
		if err != nil {
			return err
		}
	}
	if d.Name == "" {
		return fmt.Errorf("line %d: a service needs a name", n.Line)
	}
	return nil
}

// CheckDeclared validates the declared services' names.
func CheckDeclared(services []DeclaredService) error {
	seen := map[string]bool{}
	for _, d := range services {
		switch d.Name {
		case "nginx", "haproxy", "keepalived":
			return fmt.Errorf("line %d: service %q is read from its config; name a config with %s: instead", d.Line, d.Name, d.Name)
		}
		for _, k := range MoreServices() {
			if d.Name == k.Name {
				return fmt.Errorf("line %d: service %q is read from its config; name a config with %s: instead", d.Line, d.Name, d.Name)
			}
		}
		if seen[d.Name] {
			return fmt.Errorf("line %d: service %q declared twice", d.Line, d.Name)
		}
		seen[d.Name] = true
		if strings.ContainsAny(d.Name, " \t\n") {
			return fmt.Errorf("line %d: service name %q has white space", d.Line, d.Name)
		}
	}
	return nil
}

// declaredConfig turns a declaration in file into the service's listeners.
// A listen entry lbdoctor cannot read is an LBD001 finding on its line.
// Each socket stands alone (any failure stops the daemon) and is bound
// without special options.
func declaredConfig(file string, d DeclaredService) *parsers.Config {
	cfg := &parsers.Config{Service: d.Name, Path: file, Files: []string{file}}
	for _, e := range d.Listen {
		pos := parsers.Pos{File: file, Line: e.Line}
		l, err := parseDeclaredListen(e.Value)
		if err != "" {
			cfg.Errors = append(cfg.Errors, parsers.Error{Pos: pos, Msg: fmt.Sprintf("service %s: listen %q: %s", d.Name, e.Value, err)})
			continue
		}
		l.Service, l.Pos, l.Context, l.Raw = d.Name, pos, "listen", e.Value
		cfg.Listeners = append(cfg.Listeners, l)
	}
	return cfg
}

// parseDeclaredListen reads "ADDR:PORT[/tcp|/udp]", "[V6]:PORT[/PROTO]",
// "*:PORT" (0.0.0.0) or a unix socket "/PATH" (also "unix:/PATH").
func parseDeclaredListen(s string) (parsers.Listener, string) {
	var l parsers.Listener
	if p, ok := strings.CutPrefix(s, "unix:"); ok || strings.HasPrefix(s, "/") {
		if !ok {
			p = s
		}
		if !strings.HasPrefix(p, "/") {
			return l, "a unix socket needs an absolute path"
		}
		l.Proto, l.Path = parsers.Unix, path.Clean(p)
		return l, ""
	}
	l.Proto = parsers.TCP
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		switch strings.ToLower(s[i+1:]) {
		case "tcp":
		case "udp":
			l.Proto = parsers.UDP
		default:
			return l, fmt.Sprintf("unknown protocol %q (want tcp or udp)", s[i+1:])
		}
		s = s[:i]
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return l, "want ADDRESS:PORT, e.g. 10.0.0.100:5672/tcp, [::]:5672 or *:5672"
	}
	host, portText := s[:i], s[i+1:]
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return l, fmt.Sprintf("bad port %q", portText)
	}
	l.Port = port
	switch {
	case host == "*" || host == "":
		l.Addr = netip.IPv4Unspecified()
		return l, ""
	case strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]"):
		host = host[1 : len(host)-1]
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return l, fmt.Sprintf("bad IPv6 address %q", host)
		}
		l.Addr = a
		return l, ""
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return l, fmt.Sprintf("bad address %q (an IPv4 address, [IPv6] in brackets, or *)", host)
	}
	l.Addr = a
	return l, ""
}

// declaredUnit is the declared service's unit as systemd would load it,
// with the declared user winning; nil when neither is given.
func declaredUnit(root parsers.Root, d DeclaredService) *systemd.Unit {
	var u *systemd.Unit
	if d.Unit != "" {
		u, _ = systemd.ReadUnit(root, d.Unit)
	}
	if d.User == "" {
		return u
	}
	if u == nil {
		name := d.Unit
		if name == "" {
			name = d.Name + ".service"
		}
		return systemd.UserUnit(name, d.User)
	}
	u.User = d.User
	return u
}

// declaredServices are the declared services as checks see them.
func declaredServices(root parsers.Root, file string, ds []DeclaredService) []checks.Service {
	var out []checks.Service
	for _, d := range ds {
		out = append(out, checks.Service{Name: d.Name, Path: file, Config: declaredConfig(file, d), Unit: declaredUnit(root, d), Declared: true})
	}
	return out
}
