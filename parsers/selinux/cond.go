package selinux

import (
	"fmt"
	"sort"
)

// evalCond evaluates a CIL boolean expression: (NAME), (not E), (and E E),
// (or E E), (xor E E), (eq E E), (neq E E). A name value does not know is
// false.
func evalCond(n *node, value func(string) (bool, bool)) bool {
	if !n.isList() {
		v, _ := value(n.Atom)
		return v
	}
	if len(n.List) == 1 {
		return evalCond(n.List[0], value)
	}
	if len(n.List) == 0 || n.List[0].isList() {
		return false
	}
	arg := func(i int) bool {
		if i < len(n.List) {
			return evalCond(n.List[i], value)
		}
		return false
	}
	switch n.List[0].Atom {
	case "not":
		return !arg(1)
	case "and":
		return arg(1) && arg(2)
	case "or":
		return arg(1) || arg(2)
	case "xor", "neq":
		return arg(1) != arg(2)
	case "eq":
		return arg(1) == arg(2)
	}
	return false
}

// parseCond reads a condition as Grant.Cond writes it.
func parseCond(s string) (*node, error) {
	ns, err := parseCIL([]byte(s))
	if err != nil {
		return nil, err
	}
	if len(ns) != 1 {
		return nil, fmt.Errorf("condition %q: want one expression", s)
	}
	return ns[0], nil
}

// EvalCond evaluates a condition as Grant.Cond writes it, with the
// booleans' values from value; "" is true.
func EvalCond(cond string, value func(string) (bool, bool)) (bool, error) {
	if cond == "" {
		return true, nil
	}
	n, err := parseCond(cond)
	if err != nil {
		return false, err
	}
	return evalCond(n, value), nil
}

// CondNames lists the booleans a condition reads, sorted.
func CondNames(cond string) []string {
	n, err := parseCond(cond)
	if err != nil {
		return nil
	}
	set := map[string]bool{}
	var walk func(*node)
	walk = func(n *node) {
		if !n.isList() {
			switch n.Atom {
			case "not", "and", "or", "xor", "eq", "neq":
			default:
				set[n.Atom] = true
			}
			return
		}
		for _, c := range n.List {
			walk(c)
		}
	}
	walk(n)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CondText writes a condition for people, as sesearch does:
// "httpd_enable_cgi && httpd_can_network_connect"; with branch false the
// whole is negated.
func CondText(cond string, branch bool) string {
	n, err := parseCond(cond)
	if err != nil {
		return cond
	}
	s := infix(n, true)
	if !branch {
		return "!(" + s + ")"
	}
	return s
}

func infix(n *node, top bool) string {
	if !n.isList() {
		return n.Atom
	}
	if len(n.List) == 1 {
		return infix(n.List[0], top)
	}
	if len(n.List) == 0 || n.List[0].isList() {
		return "?"
	}
	ops := map[string]string{"and": " && ", "or": " || ", "xor": " ^ ", "eq": " == ", "neq": " != "}
	switch op := n.List[0].Atom; {
	case op == "not" && len(n.List) == 2:
		return "!" + infix(n.List[1], false)
	case ops[op] != "" && len(n.List) == 3:
		s := infix(n.List[1], false) + ops[op] + infix(n.List[2], false)
		if !top {
			s = "(" + s + ")"
		}
		return s
	}
	return "?"
}

// strip is a helper for tests and messages: the names of a set, sorted.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
