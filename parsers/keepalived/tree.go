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
}

// buildTree nests logical lines into blocks. It knows no keyword: a '{'
// belongs to the line just before it, wherever the '{' was written, which
// is what keepalived's reader ends up doing for every block it knows.
// Block balance is global, as in keepalived: an include may open a block
// that its includer closes.
func buildTree(lines []line, cfg *parsers.Config) []*node {
	root := &node{}
	stack := []*node{root}
	var last *node // the line that a following '{' would belong to
	for _, l := range lines {
		cur := stack[len(stack)-1]
		switch {
		case len(l.words) == 1 && l.words[0] == "{":
			owner := last
			if owner == nil || owner.hasBlock {
				owner = &node{pos: l.pos}
				cur.block = append(cur.block, owner)
			}
			owner.hasBlock = true
			owner.open = l.pos
			stack = append(stack, owner)
			last = nil
		case len(l.words) == 1 && l.words[0] == "}":
			if len(stack) == 1 {
				cfg.Errors = append(cfg.Errors, parsers.Error{Pos: l.pos, Msg: "extra '}' found"})
			} else {
				stack = stack[:len(stack)-1]
			}
			last = nil
		default:
			n := &node{pos: l.pos, words: l.words}
			cur.block = append(cur.block, n)
			last = n
		}
	}
	if open := len(stack) - 1; open > 0 {
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
		cfg.Errors = append(cfg.Errors, parsers.Error{Pos: inner.open, Msg: msg})
	}
	return root.block
}
