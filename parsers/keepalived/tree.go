package keepalived

import (
	"fmt"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// node is one logical line with the block that follows it, if any. A block
// opened where no line can own it ("{" at the start of a block, or a second
// "{" in a row) becomes a node without words.
type node struct {
	pos      parsers.Pos
	words    []string
	block    []*node
	hasBlock bool
	open     parsers.Pos // where the block's '{' is
	close    parsers.Pos // where its '}' is, if anywhere
	// cond is the undecided conditions of the line and of the lines whose
	// blocks hold it: a block opened on a conditional line exists only
	// when the condition holds.
	cond string
}

// buildTree nests logical lines into blocks. It knows no keyword: a '{'
// belongs to the line just before it, wherever the '{' was written, which
// is what keepalived's reader ends up doing for every block it knows.
// Block balance is global, as in keepalived: an include may open a block
// that its includer closes. A truncated configuration (the preprocessor
// stopped reading it) has lost its closing braces, so it gets no "never
// closed" error: the reason it stopped was reported instead.
func buildTree(lines []line, cfg *parsers.Config, truncated bool) []*node {
	root := &node{}
	stack := []*node{root}
	var last *node // the line that a following '{' would belong to
	for _, l := range lines {
		cur := stack[len(stack)-1]
		switch {
		case len(l.words) == 1 && l.words[0] == "{":
			owner := last
			if owner == nil || owner.hasBlock {
				owner = &node{pos: l.pos, cond: cur.cond}
				cur.block = append(cur.block, owner)
			}
			owner.hasBlock = true
			owner.open = l.pos
			stack = append(stack, owner)
			last = nil
		case len(l.words) == 1 && l.words[0] == "}":
			if len(stack) == 1 {
				addWarning(cfg, l.pos, "Extra '}' found")
			} else {
				stack[len(stack)-1].close = l.pos
				stack = stack[:len(stack)-1]
			}
			last = nil
		default:
			n := &node{pos: l.pos, words: l.words, cond: joinCond(cur.cond, l.cond)}
			cur.block = append(cur.block, n)
			last = n
		}
	}
	if open := len(stack) - 1; open > 0 && !truncated {
		// The innermost open block is the likeliest place for the missing
		// '}': everything after it was swallowed into it.
		inner := stack[open]
		what := "block"
		if inner.words != nil {
			what = inner.words[0] + " block"
		}
		msg := fmt.Sprintf("%s opened here is never closed (missing '}')", what)
		if open > 1 {
			msg = fmt.Sprintf("%s opened here is never closed (%d '}' missing at end of configuration)", what, open)
		}
		addWarning(cfg, inner.open, msg)
	}
	return root.block
}
