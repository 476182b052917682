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
// defined(), streq(), strneq(), strstr() and numbers are decided;
// version_atleast() and version_before() when Options.Version is known,
// feature() when Options.Features is; the SSL library predicates and
// enabled() evaluate to unknown.
type condParser struct {
	s   string
	i   int
	ps  *parser
	err string
}

// condPredicates maps each predicate to its number of arguments and the
// first HAProxy version that knows it.
var condPredicates = map[string]struct {
	nargs int
	since string
}{
	"defined":                 {1, ""},
	"feature":                 {1, ""},
	"streq":                   {2, ""},
	"strneq":                  {2, ""},
	"version_atleast":         {1, ""},
	"version_before":          {1, ""},
	"openssl_version_atleast": {1, ""},
	"openssl_version_before":  {1, ""},
	"ssllib_name_startswith":  {1, ""},
	"strstr":                  {2, "2.8"},
	"enabled":                 {1, "2.8"},
	"awslc_api_atleast":       {1, "3.3"},
	"awslc_api_before":        {1, "3.3"},
}

// evalCond returns the condition's value, or an error message.
func (ps *parser) evalCond(expr string) (tri, string) {
	if expr == "" {
		return triFalse, "" // HAProxy: an empty condition is false
	}
	p := &condParser{s: expr, ps: ps}
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
	pred, ok := condPredicates[name]
	if !ok || !p.ps.atLeast(pred.since) {
		return 0, false
	}
	nargs := pred.nargs
	p.i += end
	args, ok := p.argList()
	if !ok || len(args) != nargs {
		p.err = fmt.Sprintf("wrong number of arguments of predicate '%s' used in conditional expression", name)
		return 0, false
	}
	switch name {
	case "defined":
		_, set := p.ps.env.lookup(args[0])
		return triOf(set), true
	case "streq":
		return triOf(args[0] == args[1]), true
	case "strneq":
		return triOf(args[0] != args[1]), true
	case "strstr":
		return triOf(strings.Contains(args[0], args[1])), true
	case "feature":
		return p.ps.feature(args[0]), true
	case "version_atleast", "version_before":
		if !p.ps.haveVersion {
			return triUnknown, true
		}
		// compare_current_version(): an unparsable argument compares
		// as older, so version_atleast() is true.
		c := -1
		if v, ok := splitVersion(args[0]); ok {
			c = compareVersions(v, p.ps.version)
		}
		if name == "version_atleast" {
			return triOf(c <= 0), true
		}
		return triOf(c > 0), true
	}
	return triUnknown, true
}

// versionElts is HAProxy's VERSION_MAX_ELTS.
const versionElts = 7

// splitVersion is split_version() (src/haproxy.c): "a.b.c.d-{dev,rc,pre}f-g"
// as seven numbers, a release tag counting 3, "dev" 1, "rc" and "pre" 2.
func splitVersion(s string) ([versionElts]uint32, bool) {
	var v [versionElts]uint32
	v[4] = 3
	if s == "" {
		return v, false
	}
	// num is strtol(s, &end, 10) cast to unsigned, with the rest.
	num := func(s string) (uint32, string) {
		n, used := strtol10(s)
		return uint32(n), s[used:]
	}
	rest := s
	for k := 0; k < 4; k++ {
		v[k], rest = num(rest)
		if rest == "" {
			return v, true
		}
		sep := rest[0]
		rest = rest[1:]
		if sep == '-' {
			break
		}
		if sep != '.' || k == 3 {
			return v, false
		}
	}
	if rest == "" || !isDigit(rest[0]) {
		tag := 0
		switch {
		case strings.HasPrefix(rest, "dev"):
			v[4], tag = 1, 3
		case strings.HasPrefix(rest, "rc"):
			v[4], tag = 2, 2
		case strings.HasPrefix(rest, "pre"):
			v[4], tag = 2, 3
		}
		if tag > 0 {
			v[5], rest = num(rest[tag:])
			if rest == "" {
				return v, true
			}
			if rest[0] != '-' {
				return v, false
			}
			rest = rest[1:]
		}
	}
	// The commit number: after the last '-', else the rest.
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		rest = rest[i+1:]
		if rest == "" {
			return v, false
		}
	}
	if n, tail := num(rest); tail == "" {
		v[6] = n
	}
	return v, true
}

// compareVersions is -1, 0 or 1 as a is older than, the same as or newer
// than b.
func compareVersions(a, b [versionElts]uint32) int {
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

// strtol10 is strtol(s, &end, 10): the value and the bytes used, 0 when
// there is no number.
func strtol10(s string) (int64, int) {
	i := 0
	for i < len(s) && cIsSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	from := i
	var v int64
	for ; i < len(s) && isDigit(s[i]); i++ {
		if v < 1<<40 {
			v = v*10 + int64(s[i]-'0')
		}
	}
	if i == from {
		return 0, 0
	}
	if neg {
		v = -v
	}
	return v, i
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
