package haproxy

import (
	"fmt"
	"strconv"
	"strings"
)

// maxLineArgs is HAProxy's MAX_LINE_ARGS: a line with more words is refused.
const maxLineArgs = 64

// env answers environment look-ups the way getenv(3) would for HAProxy,
// including what "setenv", "presetenv", "unsetenv" and "resetenv" in the
// global section changed while the configuration was being read.
type env struct {
	base func(string) (string, bool)
	over map[string]envVal // set or unset after start
	// reset is true after "resetenv": base variables not in keep are gone.
	reset bool
	keep  map[string]bool
}

type envVal struct {
	val string
	set bool
}

func (e *env) lookup(name string) (string, bool) {
	if v, ok := e.over[name]; ok {
		return v.val, v.set
	}
	if e.reset && !e.keep[name] {
		return "", false
	}
	if e.base == nil {
		return "", false
	}
	return e.base(name)
}

func (e *env) set(name, val string) {
	if e.over == nil {
		e.over = make(map[string]envVal)
	}
	e.over[name] = envVal{val: val, set: true}
}

func (e *env) unset(name string) {
	if e.over == nil {
		e.over = make(map[string]envVal)
	}
	e.over[name] = envVal{}
}

// resetTo keeps only the named variables, as "resetenv" does.
func (e *env) resetTo(names []string) {
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[n] = true
	}
	for n := range e.over {
		if !keep[n] {
			e.over[n] = envVal{}
		}
	}
	if e.reset {
		// An earlier reset already dropped base variables not kept then.
		for n := range keep {
			if !e.keep[n] {
				delete(keep, n)
			}
		}
	}
	e.reset = true
	e.keep = keep
}

// lexError is a tokenizer failure; pos is the 1-based byte offset in the
// raw line, as HAProxy prints it.
type lexError struct {
	what string
	pos  int
}

func (e *lexError) msg() string {
	if e.pos == 0 {
		return e.what
	}
	return fmt.Sprintf("%s at position %d", e.what, e.pos)
}

// cIsSpace is isspace(3) in the C locale, which HAProxy's tokenizer uses.
func cIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// pseudo answers HAProxy's pseudo-variables .FILE, .LINE and .SECTION.
type pseudo struct {
	file    string
	line    int
	section string
}

// lexer is HAProxy's parse_line() (src/tools.c) with the options the
// configuration reader uses: environment variables, double and single
// quotes, backslash escapes, '#' comments and "${VAR[*]}" word expansion.
// Its buffers are reused from line to line.
type lexer struct {
	buf    []byte
	starts []int
	args   []string
	// empty lists the variables that expanded to nothing on the last line,
	// with the word they fell in.
	empty []emptyVar
}

// emptyVar is a variable that expanded to nothing in word number word.
type emptyVar struct {
	word int
	name string
}

// emptyIn lists the variables that expanded to nothing in word i of the
// last line.
func (lx *lexer) emptyIn(i int) []string {
	var names []string
	for _, v := range lx.empty {
		if v.word == i {
			names = appendName(names, v.name)
		}
	}
	return names
}

// appendName appends name unless it is already there.
func appendName(names []string, name string) []string {
	for _, n := range names {
		if n == name {
			return names
		}
	}
	return append(names, name)
}

// split cuts one raw line (no trailing LF) into words. A word list always
// has at least one (possibly empty) word, like HAProxy's args[0].
func (lx *lexer) split(line string, e *env, ps pseudo) ([]string, *lexError) {
	buf := lx.buf[:0]
	starts := append(lx.starts[:0], 0)
	lx.empty = lx.empty[:0]
	squote, dquote := false, false
	quote := -1
	n := len(line)
	i := 0
	// Leading blanks are skipped by the caller in HAProxy; do it here too.
	for i < n && cIsSpace(line[i]) {
		i++
	}
loop:
	for i < n {
		c := line[i]
		switch {
		case c >= '-' && c != '\\' && c < 0x80:
			buf = append(buf, c)
			i++
		case c == 0 || c == '\n' || c == '\r':
			break loop
		case c == '#' && !squote && !dquote:
			break loop
		case c == '"' && !squote:
			dquote = !dquote
			if dquote {
				quote = i
			} else {
				quote = -1
			}
			i++
		case c == '\'' && !dquote:
			squote = !squote
			if squote {
				quote = i
			} else {
				quote = -1
			}
			i++
		case c == '\\' && !squote:
			tosend := c
			var next byte
			if i+1 < n {
				next = line[i+1]
			}
			switch next {
			case ' ', '\\':
				tosend = next
				i++
			case 't':
				tosend = '\t'
				i++
			case 'n':
				tosend = '\n'
				i++
			case 'r':
				tosend = '\r'
				i++
			case '#', '\'', '"':
				tosend = next
				i++
			case '$':
				if dquote {
					tosend = next
					i++
				}
			case 'x':
				if i+3 >= n || !isHex(line[i+2]) || !isHex(line[i+3]) {
					return nil, &lexError{"truncated or invalid hexadecimal sequence", i + 1}
				}
				tosend = unhex(line[i+2])<<4 | unhex(line[i+3])
				i += 3
			}
			i++
			buf = append(buf, tosend)
		case cIsSpace(c) && !squote && !dquote:
			for i < n && cIsSpace(line[i]) {
				i++
			}
			buf = append(buf, 0)
			starts = append(starts, len(buf))
		case c == '$' && dquote:
			i++
			brace := -1
			if i < n && line[i] == '{' {
				brace = i
				i++
			}
			if i >= n || !(isAlpha(line[i]) || line[i] == '_' || line[i] == '.') {
				return nil, &lexError{"forbidden first char in environment variable name", i + 1}
			}
			nameStart := i
			if line[i] == '.' {
				i++
			}
			for i < n && (isAlnum(line[i]) || line[i] == '_') {
				i++
			}
			name := line[nameStart:i]
			var value string
			var ok bool
			if name[0] == '.' {
				switch name {
				case ".LINE":
					value, ok = strconv.Itoa(ps.line), true
				case ".FILE":
					value, ok = ps.file, true
				case ".SECTION":
					value, ok = ps.section, true
				default:
					return nil, &lexError{"forbidden first char in environment variable name", nameStart + 1}
				}
			} else {
				value, ok = e.lookup(name)
			}
			wordExpand := false
			if i < n && line[i] == '[' && brace >= 0 {
				at := i
				if i+2 >= n || line[i+1] != '*' || line[i+2] != ']' {
					return nil, &lexError{"truncated or invalid word expansion sequence", at + 1}
				}
				wordExpand = true
				i += 3
			}
			if brace >= 0 {
				if i < n && line[i] == '-' {
					end := strings.IndexByte(line[i:], '}')
					if end < 0 {
						return nil, &lexError{"unmatched brace in environment variable name", brace + 1}
					}
					if !ok {
						value, ok = line[i+1:i+end], true
					}
					i += end
				} else if i >= n || line[i] != '}' {
					return nil, &lexError{"unmatched brace in environment variable name", brace + 1}
				}
				i++ // the closing brace
			}
			if value == "" && name[0] != '.' {
				lx.empty = append(lx.empty, emptyVar{word: len(starts) - 1, name: name})
			}
			if !wordExpand {
				buf = append(buf, value...)
				continue
			}
			for j := 0; j < len(value); {
				if cIsSpace(value[j]) {
					buf = append(buf, 0)
					starts = append(starts, len(buf))
					for j < len(value) && cIsSpace(value[j]) {
						j++
					}
					continue
				}
				buf = append(buf, value[j])
				j++
			}
		default:
			buf = append(buf, c)
			i++
		}
	}
	if squote || dquote {
		return nil, &lexError{"unmatched quote", quote + 1}
	}
	lx.buf, lx.starts = buf, starts
	if len(starts) > maxLineArgs {
		return nil, &lexError{what: fmt.Sprintf("too many words, truncating after word %d", maxLineArgs)}
	}
	// One string for the whole line, sliced per word: one allocation.
	all := string(buf)
	args := lx.args[:0]
	for k, s := range starts {
		end := len(all)
		if k+1 < len(starts) {
			end = starts[k+1] - 1
		}
		args = append(args, all[s:end])
	}
	lx.args = args
	return args, nil
}

// envExpand is HAProxy's env_expand() (src/tools.c), applied to addresses
// after tokenizing: "$NAME" and "${NAME}" anywhere in the string are
// replaced by the variable's value, or by nothing when it is unset. It knows
// no default values: "${A-x}" reads A and keeps "-x}". The names of the
// variables that expanded to nothing are appended to empty.
func envExpand(s string, e *env, empty []string) (string, []string) {
	i := strings.IndexByte(s, '$')
	if i < 0 {
		return s, empty
	}
	var b strings.Builder
	for {
		b.WriteString(s[:i])
		varBeg := i + 1
		if varBeg < len(s) && s[varBeg] == '{' {
			varBeg++
		}
		varEnd := varBeg
		for varEnd < len(s) && (isAlnum(s[varEnd]) || s[varEnd] == '_') {
			varEnd++
		}
		next := varEnd
		if varEnd < len(s) && s[varEnd] == '}' && varBeg > i+1 {
			next++
		}
		name := s[varBeg:varEnd]
		v, _ := e.lookup(name)
		b.WriteString(v)
		if v == "" && name != "" {
			empty = appendName(empty, name)
		}
		s = s[next:]
		i = strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), empty
		}
	}
}
