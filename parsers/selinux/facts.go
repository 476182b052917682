// Package selinux reads what SELinux decides about a daemon's bind(): the
// mode now and after a reboot, the domain each daemon runs in, the type of
// every port and which port types each domain may name_bind, with the
// booleans that widen it. It reads the installed policy's module store
// (compressed CIL text) and /sys/fs/selinux below a root, with no SELinux
// tool and no SELinux kernel, so a snapshot taken on a node can be judged
// anywhere.
package selinux

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// The modes of SELinux.
const (
	Enforcing  = "enforcing"
	Permissive = "permissive"
	Disabled   = "disabled"
)

// Facts is what a host's SELinux says about the daemons lbdoctor judges.
// Its YAML form is a snapshot's "selinux" section.
type Facts struct {
	// Mode is the mode now: /sys/fs/selinux/enforce, "disabled" without it.
	Mode string `yaml:"mode"`
	// BootMode is SELINUX= of /etc/selinux/config: the mode after a reboot.
	BootMode string `yaml:"boot_mode,omitempty"`
	// Policy is SELINUXTYPE= of /etc/selinux/config.
	Policy string `yaml:"policy,omitempty"`
	// Booleans are the booleans the domains' grants read.
	Booleans []Boolean `yaml:"booleans,omitempty"`
	// DefaultPortType labels a port no entry of Ports holds.
	DefaultPortType string `yaml:"default_port_type,omitempty"`
	// Ports are the port contexts in the kernel's search order.
	Ports []Port `yaml:"ports,omitempty"`
	// Domains are the daemons' domains and what each may bind.
	Domains []Domain `yaml:"domains,omitempty"`
	// Notes say what lbdoctor could not read.
	Notes []string `yaml:"notes,omitempty"`
	// Unread says why the policy was not read although SELinux is on or
	// enforcing after a reboot (the module store is root's alone); then
	// SELinux's verdict on the ports is unknown.
	Unread string `yaml:"unread,omitempty"`
}

// Boolean is a policy boolean's value now and after a reboot.
type Boolean struct {
	Name string `yaml:"name"`
	// Value is the value now (/sys/fs/selinux/booleans/NAME); with
	// SELinux disabled, the persisted one.
	Value bool `yaml:"value"`
	// Persisted is the value at boot: booleans.local ("setsebool -P"),
	// else the policy's default.
	Persisted bool `yaml:"persisted"`
}

// Domain is the SELinux domain a daemon runs in and what it may bind.
type Domain struct {
	Service string `yaml:"service"`
	// Exec is the daemon's executable; ExecType its file type, from its
	// security.selinux attribute (Label "xattr") or, without one, from
	// the policy's file_contexts (Label "file_contexts FILE:LINE").
	Exec     string `yaml:"exec"`
	ExecType string `yaml:"exec_type"`
	Label    string `yaml:"label"`
	// Domain is what init_t (systemd) enters executing ExecType.
	Domain     string `yaml:"domain"`
	Permissive bool   `yaml:"permissive,omitempty"`
	Binds      []Bind `yaml:"binds,omitempty"`
}

// Bind is a name_bind grant: ports of Proto whose type is one of Types
// ("*": every port type), when the boolean expression If holds ("": always).
type Bind struct {
	Proto string   `yaml:"proto"`
	Types []string `yaml:"types,flow"`
	If    string   `yaml:"if,omitempty"`
}

// MarshalYAML writes a port context as one line: "tcp 8080 http_cache_port_t".
func (p Port) MarshalYAML() (any, error) { return p.String(), nil }

// UnmarshalYAML reads a port context as MarshalYAML writes it.
func (p *Port) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := ParsePort(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*p = v
	return nil
}

// Validate reports what makes recorded facts unusable: an unknown mode, a
// condition that does not parse.
func (f *Facts) Validate() error {
	for _, m := range []string{f.Mode, f.BootMode} {
		switch m {
		case "", Enforcing, Permissive, Disabled:
		default:
			return fmt.Errorf("selinux: unknown mode %q (want enforcing, permissive or disabled)", m)
		}
	}
	for _, d := range f.Domains {
		for _, b := range d.Binds {
			if _, err := EvalCond(b.If, func(string) (bool, bool) { return false, false }); err != nil {
				return fmt.Errorf("selinux: domain %s: %w", d.Domain, err)
			}
		}
	}
	return nil
}

// Executables are where each service's daemon is installed, in the order
// tried.
var Executables = map[string][]string{
	"nginx":      {"/usr/sbin/nginx"},
	"haproxy":    {"/usr/sbin/haproxy"},
	"apache":     {"/usr/sbin/httpd", "/usr/sbin/apache2"},
	"redis":      {"/usr/bin/redis-server", "/usr/sbin/redis-server"},
	"keepalived": {"/usr/sbin/keepalived"},
	"envoy":      {"/usr/bin/envoy", "/usr/local/bin/envoy"},
	"postgresql": {"/usr/bin/postgres"},
}

// Services lists the services of Executables, sorted.
func Services() []string {
	out := make([]string, 0, len(Executables))
	for s := range Executables {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// InitDomain is the domain systemd runs in, which starts the daemons.
const InitDomain = "init_t"

// Read reads the SELinux facts below root for the services named. The
// policy is read only when it can decide something: SELinux is on now or
// will be enforcing after a reboot. A policy it cannot read is said in
// Unread, not as an error.
func Read(root parsers.Root, services []string) (*Facts, error) {
	f := Modes(root)
	name := f.Policy
	if f.Mode == Disabled && f.BootMode != Enforcing {
		return f, nil
	}
	if name == "" {
		f.Unread = "/etc/selinux/config names no SELINUXTYPE"
		return f, nil
	}
	p, err := ReadPolicy(root, name)
	if err != nil {
		f.Unread = err.Error()
		return f, nil
	}
	fc, err := ReadFileContexts(root, name)
	if err != nil {
		f.Notes = append(f.Notes, err.Error())
	}
	return f.fill(root, p, fc, services), nil
}

// Modes reads the mode now (/sys/fs/selinux/enforce), the mode after a
// reboot and the policy's name (/etc/selinux/config) below root.
func Modes(root parsers.Root) *Facts {
	f := &Facts{Mode: Disabled}
	if data, err := root.ReadFile("/sys/fs/selinux/enforce"); err == nil {
		f.Mode = Permissive
		if strings.TrimSpace(string(data)) == "1" {
			f.Mode = Enforcing
		}
	}
	name := ""
	if data, err := root.ReadFile("/etc/selinux/config"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok || strings.HasPrefix(k, "#") {
				continue
			}
			v = strings.Trim(strings.TrimSpace(v), `"'`)
			switch strings.TrimSpace(k) {
			case "SELINUX":
				f.BootMode = strings.ToLower(v)
			case "SELINUXTYPE":
				name = v
			}
		}
	} else {
		f.BootMode = Disabled
	}
	f.Policy = name
	return f
}

// fill records the policy's facts for the services' domains.
func (f *Facts) fill(root parsers.Root, p *Policy, fc *FileContexts, services []string) *Facts {
	f.Ports = p.Ports
	f.DefaultPortType = p.DefaultPortType
	f.Notes = append(f.Notes, p.Notes...)
	universe := map[string]bool{p.DefaultPortType: true}
	for _, pc := range p.Ports {
		universe[pc.Type] = true
	}
	used := map[string]bool{}
	for _, svc := range services {
		d, ok := domainOf(root, p, fc, svc)
		if !ok {
			continue
		}
		d.Binds = p.domainBinds(d.Domain, universe, used)
		f.Domains = append(f.Domains, d)
	}
	for _, n := range sortedKeys(used) {
		b := Boolean{Name: n, Persisted: p.Booleans[n]}
		b.Value = b.Persisted
		if f.Mode != Disabled {
			if data, err := root.ReadFile("/sys/fs/selinux/booleans/" + n); err == nil {
				cur, _, _ := strings.Cut(strings.TrimSpace(string(data)), " ")
				b.Value = cur == "1"
			}
		}
		f.Booleans = append(f.Booleans, b)
	}
	return f
}

// domainBinds are the grants of domain as a snapshot records them: the port
// types of universe each grant covers ("*" for all), the condition in
// CIL's syntax. The booleans the conditions read are added to used.
func (p *Policy) domainBinds(domain string, universe, used map[string]bool) []Bind {
	var out []Bind
	for _, g := range p.Grants(domain) {
		b := Bind{Proto: g.Proto}
		all := true
		for t := range universe {
			if g.Types[t] {
				b.Types = append(b.Types, t)
			} else {
				all = false
			}
		}
		if len(b.Types) == 0 {
			continue
		}
		sort.Strings(b.Types)
		if all {
			b.Types = []string{"*"}
		}
		if g.Cond != "" {
			b.If = g.Cond
			if !g.Branch {
				b.If = "(not " + g.Cond + ")"
			}
			for _, n := range CondNames(g.Cond) {
				used[n] = true
			}
		}
		out = mergeBind(out, b)
	}
	return out
}

// mergeBind adds b to binds, into the grant of the same protocol and
// condition when there is one.
func mergeBind(binds []Bind, b Bind) []Bind {
	for i := range binds {
		if binds[i].Proto != b.Proto || binds[i].If != b.If {
			continue
		}
		if len(binds[i].Types) == 1 && binds[i].Types[0] == "*" {
			return binds
		}
		if len(b.Types) == 1 && b.Types[0] == "*" {
			binds[i].Types = b.Types
			return binds
		}
		set := map[string]bool{}
		for _, t := range append(binds[i].Types, b.Types...) {
			set[t] = true
		}
		binds[i].Types = sortedKeys(set)
		return binds
	}
	return append(binds, b)
}

// domainOf finds the executable of svc, its type and the domain init_t
// enters executing it.
func domainOf(root parsers.Root, p *Policy, fc *FileContexts, svc string) (Domain, bool) {
	exes := Executables[svc]
	if len(exes) == 0 {
		return Domain{}, false
	}
	exe := exes[0]
	for _, e := range exes {
		if _, err := root.Stat(e); err == nil {
			exe = e
			break
		}
	}
	d := Domain{Service: svc, Exec: exe}
	if ctx := fileLabel(root.Path(exe)); ctx != "" {
		d.ExecType, d.Label = contextType(ctx), "xattr"
	} else if fc != nil {
		ctx, at, ok := fc.Lookup(exe)
		if !ok {
			return Domain{}, false
		}
		d.ExecType, d.Label = contextType(ctx), "file_contexts "+at.String()
	} else {
		return Domain{}, false
	}
	dom, ok := p.Transition(InitDomain, d.ExecType)
	if !ok {
		dom = InitDomain
	}
	d.Domain = dom
	d.Permissive = p.Permissive[dom]
	return d, true
}

// Domain finds the recorded domain of service svc.
func (f *Facts) Domain(svc string) (*Domain, bool) {
	if f == nil {
		return nil, false
	}
	for i := range f.Domains {
		if f.Domains[i].Service == svc {
			return &f.Domains[i], true
		}
	}
	return nil, false
}

// PortType is the context that labels port of proto.
func (f *Facts) PortType(proto string, port int) (Port, bool) {
	return PortType(f.Ports, f.DefaultPortType, proto, port)
}

// BoolValue is a recorded boolean's value now, or persisted.
func (f *Facts) BoolValue(persisted bool) func(string) (bool, bool) {
	return func(name string) (bool, bool) {
		for _, b := range f.Booleans {
			if b.Name == name {
				if persisted {
					return b.Persisted, true
				}
				return b.Value, true
			}
		}
		return false, false
	}
}

// MayBind reports whether d may name_bind a port of type typ and proto
// with the booleans' values from value.
func (d *Domain) MayBind(proto, typ string, value func(string) (bool, bool)) bool {
	for _, b := range d.Binds {
		if b.Proto != proto || !b.covers(typ) {
			continue
		}
		if ok, err := EvalCond(b.If, value); err == nil && ok {
			return true
		}
	}
	return false
}

func (b Bind) covers(typ string) bool {
	for _, t := range b.Types {
		if t == "*" || t == typ {
			return true
		}
	}
	return false
}
