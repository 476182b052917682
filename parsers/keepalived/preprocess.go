package keepalived

import (
	"bytes"
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
	maxSteps       = 1 << 18 // lines processed, generated ones included: each costs ~400 bytes until the parse ends
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
	cond  string // the undecided conditional lines it depends on, if any
}

// definition is a $NAME=VALUE parameter. A multiline value holds its lines
// separated by defLineEnd.
type definition struct {
	value     string
	multiline bool
	cond      string // the undecided conditions of the line that set it
}

// rawLine is a decommented line waiting for the preprocessor.
type rawLine struct {
	text  string
	pos   parsers.Pos
	blank bool   // empty before decommenting: ends a multiline definition
	cond  string // conditions of the line that produced it, for expansions
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
	// configID decides conditional lines; empty keeps them all, each
	// marked with its condition.
	configID string
	// usedCond collects the conditions of the definitions one
	// substitution used: a line using "$VIP" depends on the conditional
	// line that defined VIP.
	usedCond string
}

func newPreprocessor(root parsers.Root, cfg *parsers.Config, configID string) *preprocessor {
	return &preprocessor{root: root, cfg: cfg, defs: map[string]*definition{}, seen: map[string]bool{}, configID: configID}
}

// errSeqLimit marks a sequence longer than lbdoctor expands.
var errSeqLimit = errors.New("more than lbdoctor expands")

// seqError reports a ~SEQ or ~LST that cannot be expanded: keepalived's
// complaint, or lbdoctor's own limit.
func (p *preprocessor) seqError(pos parsers.Pos, kind, s string, err error) {
	if errors.Is(err, errSeqLimit) {
		p.unreadf(pos, "%s %q not expanded: %v", kind, s, err)
		return
	}
	p.warnf(pos, "invalid %s specification %q: %v", kind, s, err)
}

// errorf records a problem keepalived stops on (LBD001).
func (p *preprocessor) errorf(pos parsers.Pos, format string, args ...any) {
	addError(p.cfg, pos, fmt.Sprintf(format, args...))
}

// warnf records a problem keepalived reports and runs with (LBD005).
func (p *preprocessor) warnf(pos parsers.Pos, format string, args ...any) {
	addWarning(p.cfg, pos, fmt.Sprintf(format, args...))
}

// unreadf records where one of lbdoctor's limits stopped it (LBD006).
func (p *preprocessor) unreadf(pos parsers.Pos, format string, args ...any) {
	addUnread(p.cfg, pos, fmt.Sprintf(format, args...))
}

// step counts work done and stops everything once the budget is spent.
func (p *preprocessor) step(pos parsers.Pos) bool {
	if p.stopped {
		return false
	}
	p.steps++
	if p.steps > maxSteps {
		p.stopped = true
		p.unreadf(pos, errStepsBudget, maxSteps)
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

	// Lines are fed one at a time, never all held: a huge file costs its
	// own bytes and no more, and reading stops with the step budget.
	f := feeder{p: p}
	defer f.end()
	for n := 1; len(data) > 0 && !p.stopped; n++ {
		b := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			b, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		pos := parsers.Pos{File: name, Line: n}
		b = bytes.TrimRight(b, "\r")
		if len(b) == 0 {
			f.feed(rawLine{pos: pos, blank: true})
			continue
		}
		if bytes.IndexByte(b, 0) >= 0 {
			if p.step(pos) {
				p.warnf(pos, "line has embedded NUL characters, keepalived ignores it")
			}
			continue
		}
		if t := bytes.TrimLeft(b, " \t"); len(t) > 0 && (t[0] == '#' || t[0] == '!') {
			// A comment line: keepalived never sees it, nor does a
			// multiline definition being collected.
			continue
		}
		out, unterminated := decomment(string(b))
		if unterminated {
			p.warnf(pos, "Unterminated quote '%s'", out)
		}
		f.feed(rawLine{text: out, pos: pos})
	}
}

// processLines runs lines through the preprocessor.
func (p *preprocessor) processLines(raws []rawLine, depth int) {
	f := feeder{p: p, depth: depth}
	defer f.end()
	for _, r := range raws {
		if p.stopped {
			return
		}
		f.feed(r)
	}
}

// feeder runs raw lines through the preprocessor one at a time, collecting
// the lines of multiline definitions on the way.
type feeder struct {
	p          *preprocessor
	depth      int
	collecting *definition
	value      strings.Builder // the value being collected, without quadratic copies
}

func (f *feeder) feed(r rawLine) {
	p := f.p
	if f.collecting != nil {
		if r.blank {
			f.end()
			return
		}
		if r.text == "" {
			return // a comment line, which keepalived never sees
		}
		if !p.step(r.pos) {
			f.end()
			return
		}
		text, more := strings.CutSuffix(r.text, "\\")
		text = strings.TrimRight(text, " \t")
		if more {
			text += defLineEnd
		}
		if len(text) >= 2 || (text != "" && !more) {
			f.value.WriteString(text)
		}
		if !more {
			f.end()
		}
		return
	}
	if r.text == "" {
		return
	}
	if d := p.processLine(r.text, r.pos, f.depth, r.cond); d != nil {
		f.collecting = d
		f.value.Reset()
		f.value.WriteString(d.value)
	}
}

// end stores the definition being collected, if any.
func (f *feeder) end() {
	if f.collecting != nil {
		f.collecting.value = f.value.String()
		f.collecting = nil
	}
}

// processLine handles one line: a conditional prefix, a definition, a
// sequence, parameter substitution, then an include or the words. It
// returns the definition that following lines continue, if the line starts
// a multiline one. cond holds the undecided conditions the line already
// depends on (a sequence or definition expanded on a conditional line).
//
// keepalived reads whatever follows a '{' or '}' as a line of its own,
// with all of the above (so "{ include x" includes x, and a '}' after an
// include's pattern becomes part of the pattern); processLine does the
// same, one segment at a time.
func (p *preprocessor) processLine(s string, pos parsers.Pos, depth int, cond string) *definition {
	if !p.step(pos) {
		return nil
	}
	for s != "" && !p.stopped {
		var d *definition
		s, cond, d = p.processSegment(s, pos, depth, cond)
		if d != nil {
			return d
		}
	}
	return nil
}

// processSegment processes the start of a line up to its first '{' or
// '}' (or the whole of it) and returns what is left to process, with the
// conditions that apply to it.
//
// A line costs one step of the budget, whatever its braces; a segment
// costs one more only when a substitution made it longer, which is what
// could otherwise go on forever ("{ $A" with A defined as "{ $A").
func (p *preprocessor) processSegment(s string, pos parsers.Pos, depth int, cond string) (residue, outCond string, d *definition) {
	if depth > maxDepth {
		p.unreadf(pos, "definitions or sequences nested more than %d deep, lbdoctor skips this line", maxDepth)
		return "", cond, nil
	}
	var rest []rawLine // further lines of an expanded multiline definition
	for iter := 0; ; iter++ {
		if iter > maxDepth {
			p.unreadf(pos, "parameter substitution does not settle, lbdoctor skips this line")
			return "", cond, nil
		}
		if s == "" {
			break
		}
		if s[0] == '@' {
			// "@id" alone is dropped, as keepalived does.
			i := strings.IndexAny(s, " \t")
			if i < 0 {
				return "", cond, nil
			}
			if !p.condition(s[:i], pos, &cond) {
				return "", cond, nil
			}
			s = strings.TrimLeft(s[i:], " \t")
			if s == "" {
				return "", cond, nil
			}
		}
		if s[0] == '$' {
			if d, ok := p.define(s, cond); ok {
				if d.multiline {
					return "", cond, d
				}
				return "", cond, nil
			}
		}
		if strings.HasPrefix(s, "~SEQ") || strings.HasPrefix(s, "~LST") {
			p.sequence(s, pos, depth, cond)
			return "", cond, nil
		}
		if s[0] == '~' || !strings.Contains(s, "$") {
			break
		}
		p.usedCond = ""
		out, more, changed, ok := p.substitute(s, pos)
		if !ok {
			return "", cond, nil
		}
		cond = joinCond(cond, p.usedCond)
		if !changed {
			break
		}
		if len(out) > len(s) && !p.step(pos) {
			return "", cond, nil
		}
		if more != "" {
			for _, t := range strings.Split(more, defLineEnd) {
				rest = append(rest, rawLine{text: t, pos: pos, cond: cond})
			}
		}
		s, _ = decomment(out)
		if s == "" || (s[0] != '@' && !strings.Contains(s, "$")) {
			break
		}
	}
	if s != "" {
		residue = p.emit(s, pos, cond)
	}
	if rest == nil {
		return residue, cond, nil
	}
	// keepalived finishes the line before it reads the further lines of
	// the definition.
	p.processLine(residue, pos, depth+1, cond)
	p.processLines(rest, depth+1)
	return "", cond, nil
}

// condition decides the conditional prefix word ("@id" or "@^id") of a
// line at pos: with a config id it says whether keepalived keeps the line;
// without one the line is kept and the condition added to cond.
func (p *preprocessor) condition(word string, pos parsers.Pos, cond *string) bool {
	if p.configID == "" {
		*cond = joinCond(*cond, word+" at "+pos.String())
		return true
	}
	id, negated := strings.CutPrefix(word[1:], "^")
	return (id == p.configID) != negated
}

// joinCond combines the conditions a line depends on.
func joinCond(a, b string) string {
	const more = " and more"
	switch {
	case a == "" || a == b:
		return b
	case b == "" || strings.Contains(a, b) || strings.HasSuffix(a, more):
		return a
	case len(a) > 512:
		// A line built from hundreds of conditional definitions: the
		// first conditions say enough.
		return a + more
	}
	return a + " and " + b
}

// define handles "$NAME=VALUE"; ok is false when the line is not one.
func (p *preprocessor) define(s, cond string) (*definition, bool) {
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
	d := &definition{cond: cond}
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
			p.unreadf(pos, "parameter substitution does not terminate, lbdoctor skips this line")
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
// so that output stays deterministic), and ${_INSTANCE} when the config id
// is known. Otherwise ${_INSTANCE} and ${_ENV} depend on the node and stay
// as written.
func (p *preprocessor) lookup(name string, params []string, lineEnd bool, pos parsers.Pos) (value string, multiline, ok bool) {
	if d, found := p.defs[name]; found && len(params) == 0 {
		if d.multiline && !lineEnd {
			return "", false, false
		}
		p.usedCond = joinCond(p.usedCond, d.cond)
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
	case "_INSTANCE":
		if len(params) == 0 && p.configID != "" {
			return p.configID, false, true
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
func (p *preprocessor) sequence(s string, pos parsers.Pos, depth int, cond string) {
	kind := s[:4]
	open := strings.IndexByte(s, '(')
	close := strings.IndexByte(s, ')')
	if open < 0 || close < open {
		p.warnf(pos, "invalid %s specification %q", kind, s)
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
			p.warnf(pos, "%s parameter is a multiline definition", kind)
			return
		}
		body = out
	}
	if kind == "~SEQ" && (head == "" || head == "x") {
		seq, err := parseSeq(body, head == "x")
		if err != nil {
			p.seqError(pos, kind, s, err)
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
			p.processLine(text, pos, depth+1, cond)
			n += seq.step
		}
		return
	}
	if kind != "~LST" || head != "" {
		p.warnf(pos, "invalid %s specification %q", kind, s)
		return
	}
	vars, sets, err := lstValues(body)
	if err != nil {
		p.seqError(pos, kind, s, err)
		return
	}
	for _, set := range sets {
		if p.stopped {
			return
		}
		for k, v := range vars {
			p.defs[v] = &definition{value: set[k]}
		}
		p.processLine(text, pos, depth+1, cond)
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
		return seq{}, fmt.Errorf("it expands to %d lines, %w (%d)", span/abs+1, errSeqLimit, maxSeqLen)
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
			return nil, nil, fmt.Errorf("it has %w (%d values)", errSeqLimit, maxSeqLen)
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

// emit turns a fully processed line into a logical line, or reads the files
// an include names. It returns what follows the line's first '{' or '}',
// which keepalived reads as a line of its own.
func (p *preprocessor) emit(s string, pos parsers.Pos, cond string) (residue string) {
	if p.include(s, pos) {
		return ""
	}
	seg, residue := cutBrace(s)
	if words := fields(seg); len(words) > 0 {
		p.lines = append(p.lines, line{pos: pos, words: words, cond: cond})
	}
	return residue
}

// cutBrace cuts a line at its first '{' or '}' that is not inside double
// quotes, as keepalived's read_line does: a brace that starts the line is
// a line of its own, any other one starts the residue.
func cutBrace(s string) (seg, residue string) {
	if s[0] == '{' || s[0] == '}' {
		return s[:1], strings.TrimLeft(s[1:], " \t")
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			q := strings.IndexByte(s[i+1:], '"')
			if q < 0 {
				// An unterminated quote hides any brace after it.
				return s, ""
			}
			i += q + 1
		case '{', '}':
			return strings.TrimRight(s[:i], " \t"), s[i:]
		}
	}
	return s, ""
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
	// What each variant makes fatal, as keepalived's include_t flags:
	// missing files (m), wildcards matching nothing (w), some of a {a,b}
	// alternative missing (b), all of them (a); all but plain "include"
	// also unreadable files (r).
	checkMatch := variant == 'm' || variant == 'w' || variant == 'a'
	checkWildcard := variant == 'w' || variant == 'a'
	checkBrace := variant == 'b' || variant == 'a'
	checkReadable := variant != 0
	if pattern == "" {
		return true
	}
	if len(p.reading) > maxIncludes {
		p.unreadf(pos, "includes nested more than %d deep, lbdoctor skips %s", maxIncludes, pattern)
		return true
	}
	dir := filepath.Dir(pos.File)
	var matches []string
	// keepalived's glob counts the files and directories it could not
	// find (missing) apart from wildcards that matched nothing in a
	// directory that exists (unmatched).
	missing, unmatched := false, false
	for _, alt := range expandBraces(pattern) {
		if !filepath.IsAbs(alt) {
			alt = filepath.Join(dir, alt)
		}
		m, err := p.root.Glob(alt)
		if err != nil {
			p.warnf(pos, "bad include pattern %s: %v", pattern, err)
			continue
		}
		if len(m) == 0 {
			if d := filepath.Dir(alt); strings.ContainsAny(alt, "*?[") && (strings.ContainsAny(d, "*?[") || p.isDir(d)) {
				unmatched = true
			} else {
				missing = true
			}
		}
		matches = append(matches, m...)
	}
	brace := len(expandBraces(pattern)) > 1
	switch {
	case len(matches) == 0 && missing:
		if (brace && checkBrace) || (!brace && checkMatch) {
			p.errorf(pos, "Config files missing '%s'.", pattern)
		}
		return true
	case len(matches) == 0 && unmatched:
		if checkWildcard {
			p.errorf(pos, "No config files matched '%s'.", pattern)
		}
		return true
	case missing && checkBrace:
		// keepalived then reads none of the files that do exist.
		p.errorf(pos, "Some config files missing: \"%s\", keepalived reads none of them", pattern)
		return true
	}
	for _, m := range matches {
		if p.stopped {
			return true
		}
		if p.isReading(m) {
			// keepalived opens the file again and again until it runs
			// out of descriptors, then skips it ("open problem (Too
			// many open files) - skipping"): fatal only when the
			// include checks readability.
			report := p.warnf
			if checkReadable {
				report = p.errorf
			}
			report(pos, "include cycle: %s is already being read, keepalived reads it again until it runs out of file descriptors", m)
			continue
		}
		fi, err := p.root.Stat(m)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 != 0 {
			// keepalived skips directories and executable files.
			if checkReadable {
				p.errorf(pos, "configuration file '%s' is not a regular non-executable file, which %s does not allow", m, s[:strings.IndexAny(s, " \t")])
			}
			continue
		}
		data, err := readConfig(p.root, m)
		if err != nil {
			if checkReadable || !errors.Is(err, fs.ErrNotExist) {
				var pe *fs.PathError
				if errors.As(err, &pe) {
					err = pe.Err // the path is in the message already
				}
				report := p.warnf
				if checkReadable {
					report = p.errorf
				}
				report(pos, "cannot read included file %s: %v", m, err)
			}
			continue
		}
		p.readFile(m, data)
	}
	return true
}

// isDir says whether name is a directory below the root.
func (p *preprocessor) isDir(name string) bool {
	fi, err := p.root.Stat(name)
	return err == nil && fi.IsDir()
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
