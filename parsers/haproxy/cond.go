package haproxy

import (
	"fmt"
	"strings"
)

// tri is a truth value that may be unknown: lbdoctor cannot tell which
// HAProxy build, version or SSL library will read the configuration.
type tri int8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func (t tri) not() tri {
	switch t {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triUnknown
}

// maxCondDepth bounds nested parentheses, like HAProxy's MAX_CFG_RECURSION.
const maxCondDepth = 1024

// condParser evaluates the expression of a ".if" or ".elif" line, after the
// tokenizer has expanded variables, like cfg_eval_condition() (src/cfgcond.c).
// defined() and streq()/strneq() and numbers are decided; feature(),
// version_atleast(), version_before() and the SSL library predicates depend
// on the HAProxy binary and evaluate to unknown.
type condParser struct {
	s   string
	i   int
	env *env
	err string
}

// evalCond returns the condition's value, or an error message.
func evalCond(expr string, e *env) (tri, string) {
	if expr == "" {
		return triFalse, "" // HAProxy: an empty condition is false
	}
	p := &condParser{s: expr, env: e}
	v, ok := p.expr(maxCondDepth)
	if !ok {
		if p.err == "" {
			p.err = fmt.Sprintf("unparsable conditional expression '%s'", expr)
		}
		return 0, p.err
	}
	p.skipBlanks()
	if p.i < len(p.s) {
		return 0, fmt.Sprintf("unexpected character '%c' at the end of conditional expression '%s'", p.s[p.i], expr)
	}
	return v, ""
}

func (p *condParser) skipBlanks() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// expr is and-terms joined by "||".
func (p *condParser) expr(depth int) (tri, bool) {
	if depth <= 0 {
		return 0, false
	}
	v, ok := p.and(depth - 1)
	if !ok {
		return 0, false
	}
	for {
		p.skipBlanks()
		if !strings.HasPrefix(p.s[p.i:], "||") {
			return v, true
		}
		p.i += 2
		r, ok := p.and(depth - 1)
		if !ok {
			return 0, false
		}
		switch {
		case v == triTrue || r == triTrue:
			v = triTrue
		case v == triUnknown || r == triUnknown:
			v = triUnknown
		default:
			v = triFalse
		}
	}
}

// and is terms joined by "&&".
func (p *condParser) and(depth int) (tri, bool) {
	if depth <= 0 {
		return 0, false
	}
	v, ok := p.term(depth - 1)
	if !ok {
		return 0, false
	}
	for {
		p.skipBlanks()
		if !strings.HasPrefix(p.s[p.i:], "&&") {
			return v, true
		}
		p.i += 2
		r, ok := p.term(depth - 1)
		if !ok {
			return 0, false
		}
		switch {
		case v == triFalse || r == triFalse:
			v = triFalse
		case v == triUnknown || r == triUnknown:
			v = triUnknown
		default:
			v = triTrue
		}
	}
}

func (p *condParser) term(depth int) (tri, bool) {
	p.skipBlanks()
	if p.i >= len(p.s) || depth <= 0 {
		return 0, false
	}
	neg := false
	for p.i < len(p.s) && p.s[p.i] == '!' {
		neg = !neg
		p.i++
		p.skipBlanks()
	}
	v, ok := p.atom(depth)
	if ok && neg {
		v = v.not()
	}
	return v, ok
}

func (p *condParser) atom(depth int) (tri, bool) {
	if n, used := strtol(p.s[p.i:]); used > 0 {
		p.i += used
		return triOf(n != 0), true
	}
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		v, ok := p.expr(depth - 1)
		if !ok {
			return 0, false
		}
		p.skipBlanks()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			p.err = fmt.Sprintf("expected ')' after conditional expression '%s'", p.s)
			return 0, false
		}
		p.i++
		return v, true
	}
	rest := p.s[p.i:]
	end := strings.IndexAny(rest, " (")
	if end < 0 {
		end = len(rest)
	}
	name := rest[:end]
	nargs := map[string]int{
		"defined": 1, "feature": 1, "streq": 2, "strneq": 2,
		"version_atleast": 1, "version_before": 1,
		"openssl_version_atleast": 1, "openssl_version_before": 1,
		"ssllib_name_startswith": 1,
	}[name]
	if nargs == 0 {
		return 0, false
	}
	p.i += end
	args, ok := p.argList()
	if !ok || len(args) != nargs {
		p.err = fmt.Sprintf("wrong number of arguments of predicate '%s' used in conditional expression", name)
		return 0, false
	}
	switch name {
	case "defined":
		_, set := p.env.lookup(args[0])
		return triOf(set), true
	case "streq":
		return triOf(args[0] == args[1]), true
	case "strneq":
		return triOf(args[0] != args[1]), true
	}
	return triUnknown, true
}

// argList reads "(a,b)" with the second-level quoting of make_arg_list().
func (p *condParser) argList() ([]string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		return nil, false
	}
	p.i++
	var args []string
	var cur strings.Builder
	var quote byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote = c
		case c == '\\' && p.i < len(p.s):
			cur.WriteByte(p.s[p.i])
			p.i++
		case c == ',':
			args = append(args, cur.String())
			cur.Reset()
		case c == ')':
			return append(args, cur.String()), true
		default:
			cur.WriteByte(c)
		}
	}
	return nil, false
}

// strtol reads an integer the way strtol(s, &end, 0) does and returns it
// with the number of bytes used (0 when there is no number).
func strtol(s string) (int64, int) {
	i := 0
	for i < len(s) && cIsSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	base := int64(10)
	digitsFrom := i
	switch {
	case i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && isHex(s[i+2]):
		base = 16
		i += 2
		digitsFrom = i
	case i < len(s) && s[i] == '0':
		base = 8
	}
	var v int64
	for i < len(s) {
		var d int64
		c := s[i]
		switch {
		case isDigit(c):
			d = int64(c - '0')
		case c >= 'a' && c <= 'f':
			d = int64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = int64(c-'A') + 10
		default:
			d = 99
		}
		if d >= base {
			break
		}
		if v < 1<<58 { // saturation is enough to tell zero from non-zero
			v = v*base + d
		}
		i++
	}
	if i == digitsFrom {
		return 0, 0
	}
	if neg {
		v = -v
	}
	return v, i
}
