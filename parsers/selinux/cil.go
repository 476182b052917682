package selinux

import (
	"bytes"
	"fmt"
)

// node is one CIL expression: an atom (Atom set, List nil) or a list.
type node struct {
	Atom string
	List []*node
	Line int
}

func (n *node) isList() bool { return n.Atom == "" }

// head is the keyword of a list statement, "" for atoms and empty lists.
func (n *node) head() string {
	if !n.isList() || len(n.List) == 0 || n.List[0].isList() {
		return ""
	}
	return n.List[0].Atom
}

// atoms lists the atoms of a list, flattening one level of nesting: CIL
// writes a set of names as (a b c) and a single name as a.
func (n *node) atoms() []string {
	if !n.isList() {
		return []string{n.Atom}
	}
	var out []string
	for _, c := range n.List {
		if !c.isList() {
			out = append(out, c.Atom)
		}
	}
	return out
}

// parseCIL reads CIL text into its top-level statements. Comments start
// with ';' and run to the end of the line; strings are double-quoted.
func parseCIL(src []byte) ([]*node, error) {
	var stack [][]*node
	var top []*node
	line := 1
	push := func(n *node) {
		if len(stack) == 0 {
			top = append(top, n)
			return
		}
		stack[len(stack)-1] = append(stack[len(stack)-1], n)
	}
	var lines []int
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\n':
			line++
		case c == ' ' || c == '\t' || c == '\r':
		case c == ';':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case c == '(':
			if end, nl, ok := skippable(src, i); ok {
				line += nl
				i = end
				continue
			}
			stack = append(stack, nil)
			lines = append(lines, line)
		case c == ')':
			if len(stack) == 0 {
				return nil, fmt.Errorf("line %d: unbalanced )", line)
			}
			l := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			ln := lines[len(lines)-1]
			lines = lines[:len(lines)-1]
			if l == nil {
				l = []*node{}
			}
			push(&node{List: l, Line: ln})
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\n' {
					line++
				}
				j++
			}
			if j >= len(src) {
				return nil, fmt.Errorf("line %d: unterminated string", line)
			}
			push(&node{Atom: "\"" + string(src[i+1:j]) + "\"", Line: line})
			i = j
		default:
			j := i
			for j < len(src) && !isDelim(src[j]) {
				j++
			}
			push(&node{Atom: string(src[i:j]), Line: line})
			i = j - 1
		}
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("line %d: unbalanced (", lines[len(lines)-1])
	}
	return top, nil
}

// unused are the statements lbdoctor never reads; they are most of a
// policy (roletype, dontaudit, filecon, ...), and skipping them unparsed
// saves most of the reading.
var unused = map[string]bool{
	"roletype": true, "dontaudit": true, "filecon": true, "mlsconstrain": true, "category": true,
	"auditallow": true, "neverallow": true, "typechange": true, "typemember": true, "genfscon": true,
	"fsuse": true, "rangetransition": true, "roleallow": true, "roletransition": true, "userrole": true,
	"constrain": true, "mlsvalidatetrans": true, "validatetrans": true, "allowx": true,
	"dontauditx": true, "auditallowx": true, "neverallowx": true, "nodecon": true, "netifcon": true,
}

// skippable reports whether the list opening at src[open] is a statement
// lbdoctor does not read: an unused one, or an allow rule that does not
// grant name_bind. It returns the index of its closing parenthesis and the
// newlines it spans.
func skippable(src []byte, open int) (end, newlines int, ok bool) {
	j := open + 1
	for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
		j++
	}
	k := j
	for k < len(src) && !isDelim(src[k]) {
		k++
	}
	kw := string(src[j:k])
	if kw != "allow" && !unused[kw] {
		return 0, 0, false
	}
	depth := 0
	for i := open; i < len(src); i++ {
		switch src[i] {
		case '\n':
			newlines++
		case ';':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case '"':
			for i++; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\n' {
					newlines++
				}
			}
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				if kw == "allow" {
					body := src[open : i+1]
					if bytes.Contains(body, []byte("name_bind")) || bytes.Contains(body, []byte("(all)")) {
						return 0, 0, false
					}
				}
				return i, newlines, true
			}
		}
	}
	return 0, 0, false // unbalanced: the parser reports it
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '(', ')', ';', '"':
		return true
	}
	return false
}
