package keepalived

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Limits that keep hostile or broken input from hanging the parser or
// eating memory. keepalived itself has none of them (a self-include runs it
// out of file descriptors), so hitting one is always reported.
const (
	maxSeqLen      = 100000  // values one ~SEQ or ~LST may expand to
	maxSteps       = 1 << 20 // lines processed, generated ones included
	maxDepth       = 32      // nested expansions of one line
	maxIncludes    = 32      // nested include files
	maxLineLen     = 1 << 16 // a line after parameter substitution
	maxSubsts      = 1000    // parameter substitutions on one line
	maxBraceAlts   = 256     // patterns one include's {a,b} may expand to
	defLineEnd     = "\n"    // separates the lines of a multiline definition
	errStepsBudget = "configuration expands to more than %d lines, lbdoctor stops reading it here"
)

// line is one logical line: its words, or a lone "{" or "}".
type line struct {
	pos   parsers.Pos
	words []string
}

// definition is a $NAME=VALUE parameter. A multiline value holds its lines
// separated by defLineEnd.
type definition struct {
	value     string
	multiline bool
}

// rawLine is a decommented line waiting for the preprocessor.
type rawLine struct {
	text  string
	pos   parsers.Pos
	blank bool // empty before decommenting: ends a multiline definition
}

// preprocessor turns files into logical lines, doing what keepalived's
// read_line does: comments, includes, conditional lines, definitions,
// sequences, and splitting '{' and '}' off the words around them.
type preprocessor struct {
	root    parsers.Root
	cfg     *parsers.Config
	defs    map[string]*definition
	reading []string // the include chain, to catch cycles
	files   []string
	seen    map[string]bool
	lines   []line
	steps   int
	stopped bool
}

func newPreprocessor(root parsers.Root, cfg *parsers.Config) *preprocessor {
	return &preprocessor{root: root, cfg: cfg, defs: map[string]*definition{}, seen: map[string]bool{}}
}

func (p *preprocessor) errorf(pos parsers.Pos, format string, args ...any) {
	p.cfg.Errors = append(p.cfg.Errors, parsers.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// step counts work done and stops everything once the budget is spent.
func (p *preprocessor) step(pos parsers.Pos) bool {
	if p.stopped {
		return false
	}
	p.steps++
	if p.steps > maxSteps {
		p.stopped = true
		p.errorf(pos, errStepsBudget, maxSteps)
		return false
	}
	return true
}

// readFile preprocesses one file's contents.
func (p *preprocessor) readFile(name string, data []byte) {
	if !p.seen[name] {
		p.seen[name] = true
		p.files = append(p.files, name)
	}
	p.reading = append(p.reading, name)
	defer func() { p.reading = p.reading[:len(p.reading)-1] }()

	var raws []rawLine
	for i, text := range strings.Split(string(data), "\n") {
		pos := parsers.Pos{File: name, Line: i + 1}
		text = strings.TrimRight(text, "\r")
		if text == "" {
			raws = append(raws, rawLine{pos: pos, blank: true})
			continue
		}
		if strings.IndexByte(text, 0) >= 0 {
			p.errorf(pos, "line has embedded NUL characters, keepalived ignores it")
			continue
		}
		out, unterminated := decomment(text)
		if unterminated {
			p.errorf(pos, "unterminated quote in %q", out)
		}
		raws = append(raws, rawLine{text: out, pos: pos})
	}
	p.processLines(raws, 0)
}

// processLines runs lines through the preprocessor, collecting the lines of
// multiline definitions on the way.
func (p *preprocessor) processLines(raws []rawLine, depth int) {
	var collecting *definition
	for _, r := range raws {
		if p.stopped {
			return
		}
		if collecting != nil {
			if r.blank {
				collecting = nil
				continue
			}
			if r.text == "" {
				continue // a comment line, which keepalived never sees
			}
			text, more := strings.CutSuffix(r.text, "\\")
			text = strings.TrimRight(text, " \t")
			if more {
				text += defLineEnd
			}
			if len(text) >= 2 || (text != "" && !more) {
				collecting.value += text
			}
			if !more {
				collecting = nil
			}
			continue
		}
		if r.text == "" {
			continue
		}
		if d := p.processLine(r.text, r.pos, depth); d != nil {
			collecting = d
		}
	}
}

// processLine handles one line: a conditional prefix, a definition, a
// sequence, parameter substitution, then an include or the words. It
// returns the definition that following lines continue, if the line starts
// a multiline one.
func (p *preprocessor) processLine(s string, pos parsers.Pos, depth int) *definition {
	if !p.step(pos) {
		return nil
	}
	if depth > maxDepth {
		p.errorf(pos, "definitions or sequences nested more than %d deep, lbdoctor skips this line", maxDepth)
		return nil
	}
	var rest []rawLine // further lines of an expanded multiline definition
	for iter := 0; ; iter++ {
		if iter > maxDepth {
			p.errorf(pos, "parameter substitution does not settle, lbdoctor skips this line")
			return nil
		}
		if s == "" {
			break
		}
		if s[0] == '@' {
			// The config id is unknown (see the package doc): keep the
			// line whatever its condition. "@id" alone is dropped, as
			// keepalived does.
			i := strings.IndexAny(s, " \t")
			if i < 0 {
				return nil
			}
			s = strings.TrimLeft(s[i:], " \t")
			if s == "" {
				return nil
			}
		}
		if s[0] == '$' {
			if d, ok := p.define(s); ok {
				if d.multiline {
					return d
				}
				return nil
			}
		}
		if strings.HasPrefix(s, "~SEQ") || strings.HasPrefix(s, "~LST") {
			p.sequence(s, pos, depth)
			return nil
		}
		if s[0] == '~' || !strings.Contains(s, "$") {
			break
		}
		out, more, changed, ok := p.substitute(s, pos)
		if !ok {
			return nil
		}
		if !changed {
			break
		}
		if more != "" {
			for _, t := range strings.Split(more, defLineEnd) {
				rest = append(rest, rawLine{text: t, pos: pos})
			}
		}
		s, _ = decomment(out)
		if s == "" || (s[0] != '@' && !strings.Contains(s, "$")) {
			break
		}
	}
	if s != "" {
		p.emit(s, pos)
	}
	if rest != nil {
		p.processLines(rest, depth+1)
	}
	return nil
}

// define handles "$NAME=VALUE"; ok is false when the line is not one.
func (p *preprocessor) define(s string) (*definition, bool) {
	if len(s) < 2 || !isNameStart(s[1]) {
		return nil, false
	}
	eq := strings.IndexByte(s, '=')
	if eq < 0 {
		return nil, false
	}
	name := s[1:eq]
	for i := 0; i < len(name); i++ {
		if !isNameChar(name[i]) {
			return nil, false
		}
	}
	value := strings.TrimLeft(s[eq+1:], " \t")
	d := &definition{}
	if v, ok := strings.CutSuffix(value, "\\"); ok {
		d.multiline = true
		value = strings.TrimRight(v, " \t")
		if value != "" {
			value += defLineEnd
		}
	}
	d.value = value
	p.defs[name] = d
	return d, true
}

func isNameStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || ('0' <= c && c <= '9') }

// substitute replaces $NAME and ${NAME} references. Replaced text is scanned
// again, so values may refer to other parameters. A multiline definition is
// only replaced when it ends the line; its first line takes its place and
// more holds the others.
func (p *preprocessor) substitute(s string, pos parsers.Pos) (out, more string, changed, ok bool) {
	n := 0
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			break
		}
		at := i + j
		name, end, params, found := scanReference(s, at)
		if !found {
			i = at + 1
			continue
		}
		value, multiline, defined := p.lookup(name, params, end == len(s), pos)
		if !defined {
			i = at + 1
			continue
		}
		if multiline {
			first, others, _ := strings.Cut(value, defLineEnd)
			value, more = first, others
		}
		s = s[:at] + value + s[end:]
		changed = true
		n++
		if n > maxSubsts || len(s) > maxLineLen {
			p.errorf(pos, "parameter substitution does not terminate, lbdoctor skips this line")
			return "", "", false, false
		}
		// keepalived stops here so that a value can start a sequence.
		if strings.HasPrefix(strings.TrimLeft(value, " \t"), "~") {
			break
		}
		i = at
	}
	return s, more, changed, true
}

// scanReference reads the reference starting at s[at] == '$'. end is the
// index just after it. Without braces the name must be followed by a
// blank, ',', ')' or the end of the line; with them it may carry
// parameters, as in ${_RANDOM 1 10}.
func scanReference(s string, at int) (name string, end int, params []string, ok bool) {
	i := at + 1
	braces := i < len(s) && s[i] == '{'
	if braces {
		i++
	}
	if i >= len(s) || !isNameStart(s[i]) {
		return "", 0, nil, false
	}
	start := i
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	name = s[start:i]
	if !braces {
		if i < len(s) && !strings.ContainsRune(" \t,)", rune(s[i])) {
			return "", 0, nil, false
		}
		return name, i, nil, true
	}
	close := strings.IndexByte(s[i:], '}')
	if close < 0 {
		return "", 0, nil, false
	}
	inner := s[i : i+close]
	for k := 0; k < len(inner); k++ {
		if c := inner[k]; c != ' ' && c != '\t' && !isNameChar(c) {
			return "", 0, nil, false
		}
	}
	if inner != "" && strings.TrimRight(inner, " \t") != inner {
		return "", 0, nil, false
	}
	return name, i + close + 1, strings.Fields(inner), true
}

// lookup finds a parameter's value: a definition from the configuration,
// else one of keepalived's predefined ones that can be known without the
// host (${_PWD}, ${_HASH}, ${_BANG}, ${_RANDOM}, the latter as its minimum
// so that output stays deterministic). ${_INSTANCE} and ${_ENV} depend on
// the node and stay as written.
func (p *preprocessor) lookup(name string, params []string, lineEnd bool, pos parsers.Pos) (value string, multiline, ok bool) {
	if d, found := p.defs[name]; found && len(params) == 0 {
		if d.multiline && !lineEnd {
			return "", false, false
		}
		return d.value, d.multiline, true
	}
	switch name {
	case "_PWD":
		// keepalived gives the absolute directory of the file being read;
		// a relative name is relative to our working directory, as the
		// main file's name was to keepalived's.
		if len(params) == 0 {
			dir := filepath.Dir(pos.File)
			if abs, err := filepath.Abs(dir); err == nil {
				dir = abs
			}
			return dir, false, true
		}
	case "_HASH", "_BANG":
		if len(params) == 0 {
			return map[string]string{"_HASH": "#", "_BANG": "!"}[name], false, true
		}
	case "_RANDOM":
		if len(params) > 2 {
			return "", false, false
		}
		for _, v := range params {
			if _, err := strconv.ParseUint(v, 10, 32); err != nil {
				return "", false, false
			}
		}
		if len(params) > 0 {
			return params[0], false, true
		}
		return "0", false, true
	}
	return "", false, false
}

// sequence expands "~SEQ(var, start, step, end) TEXT", "~SEQx(...)" and
// "~LST(var, v1, v2, ...)" / "~LST({v1, v2}, {a, b}, {c, d}) TEXT".
func (p *preprocessor) sequence(s string, pos parsers.Pos, depth int) {
	kind := s[:4]
	open := strings.IndexByte(s, '(')
	close := strings.IndexByte(s, ')')
	if open < 0 || close < open {
		p.errorf(pos, "invalid %s specification %q", kind, s)
		return
	}
	head := strings.TrimSpace(s[4:open])
	body := s[open+1 : close]
	text := strings.TrimLeft(s[close+1:], " \t")
	if strings.Contains(body, "$") {
		out, more, _, ok := p.substitute(body, pos)
		if !ok {
			return
		}
		if more != "" {
			p.errorf(pos, "%s parameter is a multiline definition", kind)
			return
		}
		body = out
	}
	if kind == "~SEQ" && (head == "" || head == "x") {
		seq, err := parseSeq(body, head == "x")
		if err != nil {
			p.errorf(pos, "invalid %s specification %q: %v", kind, s, err)
			return
		}
		// Counting down from the number of values, not testing n against
		// end, so that no step can overflow past it.
		n := seq.start
		for left := seq.count; left > 0 && !p.stopped; left-- {
			v := strconv.FormatInt(n, 10)
			if seq.hex {
				v = strconv.FormatInt(n, 16)
			}
			p.defs[seq.name] = &definition{value: v}
			p.processLine(text, pos, depth+1)
			n += seq.step
		}
		return
	}
	if kind != "~LST" || head != "" {
		p.errorf(pos, "invalid %s specification %q", kind, s)
		return
	}
	vars, sets, err := lstValues(body)
	if err != nil {
		p.errorf(pos, "invalid %s specification %q: %v", kind, s, err)
		return
	}
	for _, set := range sets {
		if p.stopped {
			return
		}
		for k, v := range vars {
			p.defs[v] = &definition{value: set[k]}
		}
		p.processLine(text, pos, depth+1)
	}
}

// seq is a parsed ~SEQ: count values from start by step.
type seq struct {
	name        string
	start, step int64
	count       uint64
	hex         bool
}

// parseSeq reads the inside of ~SEQ(var, [[start,] step,] end).
func parseSeq(body string, hex bool) (seq, error) {
	parts := strings.Split(body, ",")
	v := strings.TrimSpace(parts[0])
	if v == "" || !isNameStart(v[0]) || len(parts) < 2 || len(parts) > 4 {
		return seq{}, fmt.Errorf("want (var, start, step, end)")
	}
	nums := make([]int64, len(parts)-1)
	for i, t := range parts[1:] {
		n, err := strconv.ParseInt(strings.TrimSpace(t), 0, 64)
		if err != nil {
			return seq{}, fmt.Errorf("bad number %q", strings.TrimSpace(t))
		}
		nums[i] = n
	}
	var start, step, end int64
	switch len(nums) {
	case 1:
		end = nums[0]
		start, step = 1, 1
		if end < 0 {
			start = -1
		}
		if end < 1 {
			step = -1
		}
	case 2:
		start, end = nums[0], nums[1]
		step = 1
		if start > end {
			step = -1
		}
	case 3:
		start, step, end = nums[0], nums[1], nums[2]
		if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
			return seq{}, fmt.Errorf("step %d never reaches %d from %d", step, end, start)
		}
	}
	if hex && (start < 0 || end < 0) {
		return seq{}, fmt.Errorf("~SEQx is only valid for positive numbers")
	}
	// Unsigned arithmetic, so that huge ranges cannot overflow.
	span, abs := uint64(end)-uint64(start), uint64(step)
	if step < 0 {
		span, abs = uint64(start)-uint64(end), -uint64(step)
	}
	if span/abs >= maxSeqLen {
		return seq{}, fmt.Errorf("it expands to %d lines, more than %d", span/abs+1, maxSeqLen)
	}
	return seq{name: v, start: start, step: step, count: span/abs + 1, hex: hex}, nil
}

// lstValues reads the inside of ~LST(var, v1, v2) or ~LST({a, b}, {1, 2}, ...).
func lstValues(body string) ([]string, [][]string, error) {
	var items [][]string
	for rest := strings.TrimSpace(body); rest != ""; {
		var item []string
		if rest[0] == '{' {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return nil, nil, fmt.Errorf("missing '}'")
			}
			for _, v := range strings.Split(rest[1:end], ",") {
				item = append(item, strings.TrimSpace(v))
			}
			rest = strings.TrimSpace(rest[end+1:])
		} else {
			v, after, _ := strings.Cut(rest, ",")
			item = []string{strings.TrimSpace(v)}
			rest = "," + after
			if after == "" {
				rest = ""
			}
		}
		items = append(items, item)
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, nil, fmt.Errorf("want ',' before %q", rest)
		}
		rest = strings.TrimSpace(rest[1:])
		if len(items) > maxSeqLen {
			return nil, nil, fmt.Errorf("more than %d values", maxSeqLen)
		}
	}
	if len(items) < 2 {
		return nil, nil, fmt.Errorf("want a variable and at least one value")
	}
	vars := items[0]
	for _, v := range vars {
		if v == "" || !isNameStart(v[0]) {
			return nil, nil, fmt.Errorf("bad variable name %q", v)
		}
	}
	for _, set := range items[1:] {
		if len(set) != len(vars) {
			return nil, nil, fmt.Errorf("%d values for %d variables", len(set), len(vars))
		}
	}
	return vars, items[1:], nil
}

// emit turns a fully processed line into logical lines, or reads the files
// an include names.
func (p *preprocessor) emit(s string, pos parsers.Pos) {
	if p.include(s, pos) {
		return
	}
	for _, seg := range splitBraces(s) {
		if words := fields(seg); len(words) > 0 {
			p.lines = append(p.lines, line{pos: pos, words: words})
		}
	}
}

// splitBraces cuts a line before and after every '{' and '}' that is not
// inside double quotes, as keepalived's read_line does.
func splitBraces(s string) []string {
	var out []string
	for s != "" {
		if s[0] == '{' || s[0] == '}' {
			out = append(out, s[:1])
			s = strings.TrimLeft(s[1:], " \t")
			continue
		}
		i := 0
		for i < len(s) && s[i] != '{' && s[i] != '}' {
			if s[i] == '"' {
				q := strings.IndexByte(s[i+1:], '"')
				if q < 0 {
					// An unterminated quote hides any brace after it.
					i = len(s)
					break
				}
				i += q + 1
			}
			i++
		}
		out = append(out, strings.TrimRight(s[:i], " \t"))
		s = s[i:]
	}
	return out
}

// fields splits a line into words; double quotes group words and are
// removed, and a quote also ends the word before it.
func fields(s string) []string {
	var words []string
	for {
		s = strings.TrimLeft(s, " \t\v\f\r\n")
		if s == "" {
			return words
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				// keepalived drops the rest of the line; decomment has
				// already reported the quote.
				return words
			}
			words = append(words, s[1:1+end])
			s = s[end+2:]
			continue
		}
		end := strings.IndexAny(s, " \t\v\f\r\n\"")
		if end < 0 {
			end = len(s)
		}
		words = append(words, s[:end])
		s = s[end:]
	}
}

// decomment strips leading blanks, a comment ('#' or '!' outside double
// quotes, to the end of the line), and trailing blanks. "\#" and "\!"
// outside quotes stand for the characters themselves. A trailing '\'
// (continuation of a multiline definition) is kept, with the blanks before
// it removed.
func decomment(s string) (out string, unterminated bool) {
	s = strings.TrimLeft(s, " \t")
	var b strings.Builder
	quote, cont := false, false
loop:
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quote = !quote
			b.WriteByte(c)
		case c == '\\':
			if i+1 == len(s) {
				cont = true
				break loop
			}
			if quote || (s[i+1] != '#' && s[i+1] != '!') {
				b.WriteByte(c)
			}
			b.WriteByte(s[i+1])
			i++
		case !quote && (c == '#' || c == '!'):
			break loop
		default:
			b.WriteByte(c)
		}
	}
	out = strings.TrimRight(b.String(), " \t")
	if cont {
		out += "\\"
	}
	return out, quote
}

// include reads the files an include line names, reporting what keepalived
// reports. Plain "include" only warns about missing files (keepalived
// exits 0), so lbdoctor says nothing; includem, includew, includeb and
// includea make keepalived fail, so lbdoctor reports them.
func (p *preprocessor) include(s string, pos parsers.Pos) bool {
	if !strings.HasPrefix(s, "include") || len(s) < 9 {
		return false
	}
	var variant byte
	pattern := ""
	switch {
	case s[7] == ' ' || s[7] == '\t':
		pattern = s[8:]
	case strings.IndexByte("rmwba", s[7]) >= 0 && (s[8] == ' ' || s[8] == '\t'):
		variant = s[7]
		pattern = s[9:]
	default:
		return false
	}
	pattern = strings.TrimSpace(pattern)
	checkMatch := variant == 'm' || variant == 'w' || variant == 'a'
	checkWildcard := variant == 'w' || variant == 'a'
	checkReadable := variant != 0
	if pattern == "" {
		return true
	}
	if len(p.reading) > maxIncludes {
		p.errorf(pos, "includes nested more than %d deep, lbdoctor skips %s", maxIncludes, pattern)
		return true
	}
	dir := filepath.Dir(pos.File)
	var matches []string
	for _, alt := range expandBraces(pattern) {
		if !filepath.IsAbs(alt) {
			alt = filepath.Join(dir, alt)
		}
		m, err := p.root.Glob(alt)
		if err != nil {
			p.errorf(pos, "bad include pattern %s: %v", pattern, err)
			continue
		}
		if len(m) == 0 {
			wild := strings.ContainsAny(alt, "*?[")
			if (wild && checkWildcard) || (!wild && checkMatch) {
				p.errorf(pos, "no config files matched '%s'", pattern)
			}
		}
		matches = append(matches, m...)
	}
	for _, m := range matches {
		if p.stopped {
			return true
		}
		if p.isReading(m) {
			p.errorf(pos, "include cycle: %s is already being read, keepalived would include it forever", m)
			continue
		}
		fi, err := p.root.Stat(m)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 != 0 {
			// keepalived skips directories and executable files.
			if checkReadable {
				p.errorf(pos, "configuration file '%s' is not a regular non-executable file, keepalived skips it", m)
			}
			continue
		}
		data, err := p.root.ReadFile(m)
		if err != nil {
			if checkReadable || !errors.Is(err, fs.ErrNotExist) {
				p.errorf(pos, "cannot read included file: %v", err)
			}
			continue
		}
		p.readFile(m, data)
	}
	return true
}

func (p *preprocessor) isReading(name string) bool {
	for _, r := range p.reading {
		if r == name {
			return true
		}
	}
	return false
}

// expandBraces expands csh-style {a,b} alternatives as glob(GLOB_BRACE)
// does, keeping their order. Unbalanced braces are left alone.
func expandBraces(pattern string) []string {
	out := []string{}
	var expand func(s string)
	expand = func(s string) {
		if len(out) >= maxBraceAlts {
			return
		}
		open := -1
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' {
				i++
				continue
			}
			if s[i] == '{' {
				open = i
				break
			}
		}
		if open < 0 {
			out = append(out, s)
			return
		}
		depth, close := 0, -1
		var commas []int
		for i := open; i < len(s) && close < 0; i++ {
			switch s[i] {
			case '\\':
				i++
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					close = i
				}
			case ',':
				if depth == 1 {
					commas = append(commas, i)
				}
			}
		}
		if close < 0 {
			out = append(out, s)
			return
		}
		start := open + 1
		for _, c := range append(commas, close) {
			expand(s[:open] + s[start:c] + s[close+1:])
			start = c + 1
		}
	}
	expand(pattern)
	return out
}
