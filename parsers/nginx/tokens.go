package nginx

import (
	"bytes"
	"fmt"
	"io"
)

// confBuffer is NGX_CONF_BUFFER, the buffer ngx_conf_read_token reads a
// config file through: a token that does not fit in it is an error.
const confBuffer = 4096

// luaBlock ends the names of the lua module's *_by_lua_block directives,
// whose bodies that module reads with a lexer of its own.
var luaBlock = []byte("_by_lua_block")

// tokenCheck follows ngx_conf_read_token byte by byte to find the two
// failures nginx's tokenizer has and crossplane's lexer does not, with
// nginx's message and line:
//
//   - "too long parameter": nginx refills its buffer by moving the bytes
//     from the start of the current token to the front and reading the
//     rest, so it fails when 4096 bytes from that start are used up and
//     the file goes on. That start is where the token's first byte is, or
//     the byte after its opening quote, and it moves on only when the byte
//     after the token's end is read: the space that ends a bare token and
//     the closing quote plus the byte after it count too, and a comment
//     counts from its "#" to its end of line.
//   - a file that ends inside a directive: "unexpected end of file,
//     expecting ";" or "}"" on the file's last line, wherever the
//     directive started (an unterminated quote is one).
//
// It gives up, and says nothing, where nginx's tokenizer would fail on
// something crossplane already reports (a stray ";" or "{") or where
// another lexer takes over (a lua block).
type tokenCheck struct {
	off       int64 // offset of the next byte
	line      int
	start     int64 // nginx's start: where the current token's span began
	startLine int
	prefix    []byte // up to 10 bytes from start, for the message
	nargs     int    // words of the current directive so far
	depth     int    // blocks open in this file

	lastSpace, needSpace, quoted, comment, variable, dq, sq bool

	lua    []byte   // the last bytes read, to find luaBlock across reads
	spans  *spanRec // nil unless the caller wants the directives that span lines
	done   bool
	failed bool
	line0  int // where the error is, when failed
	msg    string
}

func newTokenCheck() *tokenCheck {
	t := &tokenCheck{line: 1, prefix: make([]byte, 0, 10), lua: make([]byte, 0, 2*len(luaBlock))}
	t.next()
	return t
}

// next starts reading a directive, as a new call of ngx_conf_read_token.
func (t *tokenCheck) next() {
	t.nargs = 0
	t.lastSpace = true
	t.needSpace, t.quoted, t.comment, t.variable, t.dq, t.sq = false, false, false, false, false, false
	t.begin(t.off, t.line)
}

func (t *tokenCheck) begin(at int64, line int) {
	t.start, t.startLine = at, line
	t.prefix = t.prefix[:0]
}

func (t *tokenCheck) fail(line int, msg string) {
	t.done, t.failed, t.line0, t.msg = true, true, line, msg
}

// plain reports whether c, inside a bare token, only adds to it.
func plain(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ';', '{', '\\', '$':
		return false
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// write reads the next bytes of the file.
func (t *tokenCheck) write(p []byte) {
	if t.done || len(p) == 0 {
		return
	}
	if t.sawLua(p) {
		t.done = true
		return
	}
	for i := 0; i < len(p); i++ {
		if t.off-t.start >= confBuffer {
			// nginx's buffer holds the span and more of the file follows.
			switch {
			case t.dq:
				t.fail(t.startLine, `too long parameter, probably missing terminating """ character`)
			case t.sq:
				t.fail(t.startLine, `too long parameter, probably missing terminating "'" character`)
			default:
				t.fail(t.startLine, fmt.Sprintf(`too long parameter "%s..." started`, t.prefix))
			}
			return
		}
		if t.comment && p[i] != '\n' {
			// Skip to the end of the line at once: comments are most
			// of the bytes of a big config.
			n := bytes.IndexByte(p[i:], '\n')
			if n < 0 {
				n = len(p) - i
			}
			if room := int(confBuffer - (t.off - t.start)); n > room {
				n = room
			}
			t.keep(p[i : i+n])
			t.off += int64(n)
			i += n - 1
			continue
		}
		if !t.lastSpace && !t.needSpace && !t.quoted && !t.dq && !t.sq {
			// Inside a bare token, skip the bytes that change nothing.
			n := 0
			for room := min(len(p)-i, int(confBuffer-(t.off-t.start))); n < room && plain(p[i+n]); n++ {
			}
			if n > 0 {
				t.keep(p[i : i+n])
				t.off += int64(n)
				t.variable = false
				i += n - 1
				continue
			}
		}
		c := p[i]
		if t.off >= t.start && len(t.prefix) < cap(t.prefix) {
			t.prefix = append(t.prefix, c)
		}
		t.off++
		if !t.step(c) {
			t.done = true
			return
		}
	}
}

// keep adds bytes of the span to the message prefix.
func (t *tokenCheck) keep(b []byte) {
	if n := cap(t.prefix) - len(t.prefix); n > 0 && t.off >= t.start {
		t.prefix = append(t.prefix, b[:min(n, len(b))]...)
	}
}

// sawLua reports whether p, with the bytes read before it, names a lua
// block anywhere.
func (t *tokenCheck) sawLua(p []byte) bool {
	if bytes.Contains(p, luaBlock) {
		return true
	}
	k := len(luaBlock) - 1
	joint := append(t.lua, p[:min(len(p), k)]...)
	if bytes.Contains(joint, luaBlock) {
		return true
	}
	if len(p) >= k {
		t.lua = append(t.lua[:0], p[len(p)-k:]...)
	} else {
		t.lua = append(t.lua[:0], joint[max(0, len(joint)-k):]...)
	}
	return false
}

// step reads byte c, at t.off-1, as ngx_conf_read_token does; it returns
// false where nginx's tokenizer fails on something else.
func (t *tokenCheck) step(c byte) bool {
	at := t.off - 1
	if c == '\n' {
		t.line++
		t.comment = false
	}
	switch {
	case t.comment:
		return true
	case t.quoted:
		t.quoted = false
		return true
	case t.needSpace:
		switch {
		case isSpace(c):
			t.lastSpace, t.needSpace = true, false
			return true
		case c == ';' || c == '{':
			t.terminate(c)
			return true
		case c == ')':
			t.lastSpace, t.needSpace = true, false
		default:
			return false
		}
	}
	if t.lastSpace {
		t.begin(at, t.line)
		t.prefix = append(t.prefix, c)
		if isSpace(c) {
			return true
		}
		if t.spans != nil && t.nargs == 0 && c != ';' && c != '{' && c != '}' && c != '#' {
			name := at
			if c == '"' || c == '\'' {
				name++
			}
			t.spans.start(name, t.line)
		}
		switch c {
		case ';', '{':
			if t.nargs == 0 {
				return false
			}
			t.terminate(c)
		case '}':
			// A "}" closing no block of this file is an error of
			// ngx_conf_parse, where nginx stops.
			if t.nargs != 0 || t.depth == 0 {
				return false
			}
			t.depth--
			t.next()
		case '#':
			t.comment = true
		case '\\':
			t.quoted, t.lastSpace = true, false
		case '"', '\'':
			t.begin(at+1, t.line)
			t.dq, t.sq = c == '"', c == '\''
			t.lastSpace = false
		case '$':
			t.variable, t.lastSpace = true, false
		default:
			t.lastSpace = false
		}
		return true
	}
	if c == '{' && t.variable {
		return true
	}
	t.variable = false
	switch {
	case c == '\\':
		t.quoted = true
	case c == '$':
		t.variable = true
	case t.dq:
		if c == '"' {
			t.dq, t.needSpace = false, true
			t.word(at)
		}
	case t.sq:
		if c == '\'' {
			t.sq, t.needSpace = false, true
			t.word(at)
		}
	case isSpace(c) || c == ';' || c == '{':
		t.lastSpace = true
		t.word(at)
		if !isSpace(c) {
			t.terminate(c)
		}
	}
	return true
}

// word counts a word of the directive that ended before offset at.
func (t *tokenCheck) word(at int64) {
	t.nargs++
	if t.nargs == 1 && t.spans != nil {
		t.spans.nameEnd = at
	}
}

// terminate ends the directive at c, a ";" or a "{".
func (t *tokenCheck) terminate(c byte) {
	if c == '{' {
		t.depth++
	}
	if t.spans != nil {
		t.spans.end(t.line)
	}
	t.next()
}

// end is the end of the file.
func (t *tokenCheck) end() {
	if t.spans != nil {
		t.spans.flush()
	}
	if t.done {
		return
	}
	t.done = true
	if t.nargs > 0 || !t.lastSpace {
		t.fail(t.line, `unexpected end of file, expecting ";" or "}"`)
	}
}

// verdict is what the tokenizer check found in one file.
type verdict struct {
	line int
	msg  string // "" when nginx's tokenizer reads the whole file, or gave up
}

func (t *tokenCheck) verdict() verdict {
	if !t.failed {
		return verdict{}
	}
	return verdict{line: t.line0, msg: t.msg}
}

// checkTokens runs the check on a whole file.
func checkTokens(data []byte) verdict {
	t := newTokenCheck()
	t.write(data)
	t.end()
	return t.verdict()
}

// checkReader runs the check on a file as it is read, and calls done with
// the verdict when the reader reaches the end of the file.
type checkReader struct {
	r    io.Reader
	t    *tokenCheck
	done func(verdict)
}

func (c *checkReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.t.write(p[:n])
	if err == io.EOF && c.done != nil {
		c.t.end()
		c.done(c.t.verdict())
		c.done = nil
	}
	return n, err
}

func (c *checkReader) Close() error {
	if cl, ok := c.r.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
