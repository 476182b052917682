package selinux

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// optional is one CIL optional block: it is compiled in only when every
// name it requires is declared by code that is itself compiled in, and its
// parent is.
type optional struct {
	parent   int
	requires []string
	decls    []string
	enabled  bool
}

// item is a statement lbdoctor uses, with the optional it sits in.
type item struct {
	opt    int
	stmt   *node
	cond   *node
	branch bool
}

type builder struct {
	opts     []optional
	global   map[string]bool // names declared outside any optional
	items    []item
	tunables map[string]bool
	contexts map[string]*node // named contexts
	notes    []string
}

func newBuilder() *builder {
	return &builder{global: map[string]bool{}, tunables: map[string]bool{}, contexts: map[string]*node{}}
}

// declares lists the statements that declare a name, and where the name is.
var declares = map[string]bool{
	"type": true, "typeattribute": true, "typealias": true, "boolean": true,
	"role": true, "roleattribute": true, "user": true, "tunable": true,
	"class": true, "common": true, "sensitivity": true, "category": true,
}

func (b *builder) declare(opt int, name string) {
	if opt < 0 {
		b.global[name] = true
		return
	}
	b.opts[opt].decls = append(b.opts[opt].decls, name)
}

// walk records the statements of a module, inside optional opt (-1: none)
// and the booleanif condition cond (nil: none).
func (b *builder) walk(stmts []*node, opt int, cond *node, branch bool, mod string) {
	for _, s := range stmts {
		h := s.head()
		switch {
		case declares[h] && len(s.List) >= 2 && !s.List[1].isList():
			b.declare(opt, s.List[1].Atom)
			if h == "tunable" && len(s.List) == 3 {
				b.tunables[s.List[1].Atom] = s.List[2].Atom == "true"
			}
			if h == "type" || h == "typeattribute" || h == "typealias" || h == "boolean" {
				b.items = append(b.items, item{opt, s, cond, branch})
			}
		case (h == "typeattributeset" || h == "roleattributeset") && len(s.List) == 3 && s.List[1].Atom == "cil_gen_require":
			if opt >= 0 {
				b.opts[opt].requires = append(b.opts[opt].requires, s.List[2].atoms()...)
			}
		case h == "optional" && len(s.List) >= 2:
			b.opts = append(b.opts, optional{parent: opt, enabled: true})
			b.walk(s.List[2:], len(b.opts)-1, cond, branch, mod)
		case h == "booleanif" && len(s.List) >= 3:
			for _, br := range s.List[2:] {
				switch br.head() {
				case "true":
					b.walk(br.List[1:], opt, s.List[1], true, mod)
				case "false":
					b.walk(br.List[1:], opt, s.List[1], false, mod)
				}
			}
		case h == "tunableif" && len(s.List) >= 3:
			// A tunable is decided when the policy is compiled.
			v := evalCond(s.List[1], func(n string) (bool, bool) { t, ok := b.tunables[n]; return t, ok })
			for _, br := range s.List[2:] {
				if (br.head() == "true" && v) || (br.head() == "false" && !v) {
					b.walk(br.List[1:], opt, cond, branch, mod)
				}
			}
		case h == "context" && len(s.List) == 3:
			b.contexts[s.List[1].Atom] = s.List[2]
		case h == "typeattributeset" || h == "typealiasactual" || h == "allow" || h == "typetransition" ||
			h == "typepermissive" || h == "portcon" || h == "sidcontext":
			b.items = append(b.items, item{opt, s, cond, branch})
		case h == "block" || h == "macro" || h == "call" || h == "in" || h == "blockinherit":
			b.notes = append(b.notes, fmt.Sprintf("module %s uses CIL %s statements (line %d), which lbdoctor does not expand: its rules inside them are not read", mod, h, s.Line))
		}
	}
}

// resolve decides which optionals are compiled in, as the CIL compiler
// does: it starts with every one enabled and disables those whose
// requirements are not declared, until nothing changes.
func (b *builder) resolve() {
	for changed := true; changed; {
		changed = false
		declared := make(map[string]bool, len(b.global)*2)
		for k := range b.global {
			declared[k] = true
		}
		for i := range b.opts {
			if b.enabled(i) {
				for _, d := range b.opts[i].decls {
					declared[d] = true
				}
			}
		}
		for i := range b.opts {
			o := &b.opts[i]
			if !o.enabled {
				continue
			}
			if o.parent >= 0 && !b.opts[o.parent].enabled {
				o.enabled, changed = false, true
				continue
			}
			for _, r := range o.requires {
				if !declared[r] {
					o.enabled, changed = false, true
					break
				}
			}
		}
	}
}

func (b *builder) enabled(opt int) bool {
	for ; opt >= 0; opt = b.opts[opt].parent {
		if !b.opts[opt].enabled {
			return false
		}
	}
	return true
}

// fill builds p from the statements that are compiled in.
func (b *builder) fill(p *Policy) {
	p.types = map[string]bool{}
	p.aliases = map[string]string{}
	p.attrs = map[string][]*node{}
	p.Booleans = map[string]bool{}
	p.Permissive = map[string]bool{}
	p.memo = map[string]map[string]bool{}
	var ports []Port
	for _, it := range b.items {
		if !b.enabled(it.opt) {
			continue
		}
		s := it.stmt
		switch s.head() {
		case "type":
			p.types[s.List[1].Atom] = true
		case "typeattribute":
			if _, ok := p.attrs[s.List[1].Atom]; !ok {
				p.attrs[s.List[1].Atom] = nil
			}
		case "boolean":
			if len(s.List) == 3 {
				p.Booleans[s.List[1].Atom] = s.List[2].Atom == "true"
			}
		case "typeattributeset":
			if len(s.List) == 3 {
				p.attrs[s.List[1].Atom] = append(p.attrs[s.List[1].Atom], s.List[2])
			}
		case "typealiasactual":
			if len(s.List) == 3 {
				p.aliases[s.List[1].Atom] = s.List[2].Atom
			}
		case "typepermissive":
			if len(s.List) == 2 {
				p.Permissive[s.List[1].Atom] = true
			}
		case "allow":
			// (allow SRC TGT (CLASS (PERMS)))
			if len(s.List) != 4 || !s.List[3].isList() || len(s.List[3].List) != 2 {
				continue
			}
			cls := s.List[3].List[0].Atom
			if _, ok := bindClasses[cls]; !ok {
				continue
			}
			for _, perm := range s.List[3].List[1].atoms() {
				if perm == "name_bind" || perm == "all" {
					p.binds = append(p.binds, bindRule{src: s.List[1], tgt: s.List[2], class: cls, cond: it.cond, branch: it.branch})
					break
				}
			}
		case "typetransition":
			// (typetransition SRC TGT process DOMAIN); the five-field form
			// names a file and is no process transition.
			if len(s.List) == 5 && s.List[3].Atom == "process" && !s.List[4].isList() {
				p.trans = append(p.trans, transRule{src: s.List[1], tgt: s.List[2], domain: s.List[4].Atom})
			}
		case "portcon":
			if pc, ok := b.portcon(s); ok {
				ports = append(ports, pc)
			} else {
				b.notes = append(b.notes, fmt.Sprintf("portcon at line %d not understood: %s", s.Line, condString(s)))
			}
		case "sidcontext":
			if len(s.List) == 3 && s.List[1].Atom == "port" {
				p.DefaultPortType = b.ctxType(s.List[2])
			}
		}
	}
	for a := range p.aliases {
		delete(p.types, a)
	}
	for i := range ports {
		ports[i].Type = p.resolveAlias(ports[i].Type)
	}
	// The CIL compiler sorts port contexts by the size of their range,
	// then by the low port, and the kernel takes the first that holds a
	// port: the most specific range wins.
	sort.SliceStable(ports, func(i, j int) bool {
		si, sj := ports[i].High-ports[i].Low, ports[j].High-ports[j].Low
		if si != sj {
			return si < sj
		}
		return ports[i].Low < ports[j].Low
	})
	p.Ports = ports
}

// portcon reads (portcon PROTO PORT|(LOW HIGH) CONTEXT).
func (b *builder) portcon(s *node) (Port, bool) {
	if len(s.List) != 4 {
		return Port{}, false
	}
	pc := Port{Proto: s.List[1].Atom, Type: b.ctxType(s.List[3])}
	var err1, err2 error
	if r := s.List[2]; r.isList() && len(r.List) == 2 {
		pc.Low, err1 = strconv.Atoi(r.List[0].Atom)
		pc.High, err2 = strconv.Atoi(r.List[1].Atom)
	} else {
		pc.Low, err1 = strconv.Atoi(r.Atom)
		pc.High = pc.Low
	}
	return pc, err1 == nil && err2 == nil && pc.Type != ""
}

// ctxType is the type of a CIL context: (USER ROLE TYPE LEVELRANGE) or the
// name of a context statement.
func (b *builder) ctxType(n *node) string {
	if !n.isList() {
		if c, ok := b.contexts[n.Atom]; ok {
			n = c
		} else {
			return ""
		}
	}
	if len(n.List) >= 3 && !n.List[2].isList() {
		return n.List[2].Atom
	}
	return ""
}

// resolveAlias maps a type alias to its type.
func (p *Policy) resolveAlias(name string) string {
	if a, ok := p.aliases[name]; ok {
		return a
	}
	return name
}

// expand is the set of types a name or a CIL type expression stands for.
func (p *Policy) expand(n *node) map[string]bool {
	if !n.isList() {
		return p.expandName(n.Atom)
	}
	out := map[string]bool{}
	if len(n.List) > 0 && !n.List[0].isList() {
		switch n.List[0].Atom {
		case "all":
			for t := range p.types {
				out[t] = true
			}
			return out
		case "not":
			if len(n.List) == 2 {
				ex := p.expand(n.List[1])
				for t := range p.types {
					if !ex[t] {
						out[t] = true
					}
				}
			}
			return out
		case "and", "or", "xor":
			if len(n.List) != 3 {
				return out
			}
			a, c := p.expand(n.List[1]), p.expand(n.List[2])
			for t := range p.types {
				switch n.List[0].Atom {
				case "and":
					if a[t] && c[t] {
						out[t] = true
					}
				case "or":
					if a[t] || c[t] {
						out[t] = true
					}
				case "xor":
					if a[t] != c[t] {
						out[t] = true
					}
				}
			}
			return out
		}
	}
	for _, c := range n.List {
		for t := range p.expand(c) {
			out[t] = true
		}
	}
	return out
}

// expandName is the set of types of a type, alias or attribute name.
func (p *Policy) expandName(name string) map[string]bool {
	name = p.resolveAlias(name)
	if p.types[name] {
		return map[string]bool{name: true}
	}
	exprs, ok := p.attrs[name]
	if !ok {
		return nil
	}
	p.mu.Lock()
	m, done := p.memo[name]
	if !done {
		p.memo[name] = map[string]bool{} // a cycle expands to nothing
	}
	p.mu.Unlock()
	if done {
		return m
	}
	out := map[string]bool{}
	for _, e := range exprs {
		for t := range p.expand(e) {
			out[t] = true
		}
	}
	p.mu.Lock()
	p.memo[name] = out
	p.mu.Unlock()
	return out
}

// Types is every type the policy declares, aliases excluded, sorted.
func (p *Policy) Types() []string {
	out := make([]string, 0, len(p.types))
	for t := range p.types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// IsType reports whether name is a type or alias of the policy.
func (p *Policy) IsType(name string) bool { return p.types[p.resolveAlias(name)] }

// Grant is what a domain may name_bind: ports of protocol Proto whose type
// is in Types, when Cond (a CIL boolean expression, "" for always)
// evaluates to Branch.
type Grant struct {
	Proto  string
	Types  map[string]bool
	Cond   string
	Branch bool
}

// Grants lists the name_bind grants of domain, as the rules name them
// (attributes expanded), in the order of the rules.
func (p *Policy) Grants(domain string) []Grant {
	domain = p.resolveAlias(domain)
	var out []Grant
	for _, r := range p.binds {
		src := r.src
		if !p.expand(src)[domain] {
			continue
		}
		var tgt map[string]bool
		if !r.tgt.isList() && r.tgt.Atom == "self" {
			tgt = map[string]bool{domain: true}
		} else {
			tgt = p.expand(r.tgt)
		}
		g := Grant{Proto: bindClasses[r.class], Types: tgt, Branch: r.branch}
		if r.cond != nil {
			g.Cond = condString(r.cond)
		}
		out = append(out, g)
	}
	return out
}

// Transition is the domain a process of domain src enters when it
// executes a file of type exec; ok is false when no type_transition names
// the pair.
func (p *Policy) Transition(src, exec string) (string, bool) {
	src, exec = p.resolveAlias(src), p.resolveAlias(exec)
	for _, r := range p.trans {
		if p.expand(r.src)[src] && p.expand(r.tgt)[exec] {
			return p.resolveAlias(r.domain), true
		}
	}
	return "", false
}

// PortType is the type of port number port of protocol proto: the first
// port context holding it, or the default.
func PortType(ports []Port, def, proto string, port int) (Port, bool) {
	for _, pc := range ports {
		if pc.Proto == proto && pc.Low <= port && port <= pc.High {
			return pc, true
		}
	}
	return Port{Proto: proto, Low: port, High: port, Type: def}, false
}

// condString writes a CIL boolean expression in CIL's own syntax.
func condString(n *node) string {
	if !n.isList() {
		return n.Atom
	}
	parts := make([]string, len(n.List))
	for i, c := range n.List {
		parts[i] = condString(c)
	}
	return "(" + strings.Join(parts, " ") + ")"
}
