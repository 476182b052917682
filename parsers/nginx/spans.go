package nginx

import (
	"bytes"
	"regexp"
	"strings"

	crossplane "github.com/nginxinc/nginx-go-crossplane"
)

// nginx reports an error of a directive at the line its tokenizer is on
// when the directive ends (cf->conf_file->line), the line of its ";" or
// "{", while crossplane gives each directive the line of its first word.
// The two differ only for a directive that spans lines, which a few files
// have (a log_format, a listen with its options one per line) and most
// do not; those files are read once more by tokenCheck, which notes where
// each such directive ends.

// span is a directive that starts on one line and ends on another, or
// one that starts on the same line as such a directive.
type span struct {
	name string // its first word, as written
	end  int    // the line of its ";" or "{"
}

// spanLines maps the first line of directives to the directives that
// start there, in order, for each line where one of them ends on a later
// line.
type spanLines map[int][]span

// spanRec collects spanLines as tokenCheck reads a file held in data.
type spanRec struct {
	data []byte
	out  spanLines

	line     int // where the directives in cur start
	cur      []spanAt
	spanning bool // one of cur ends on a later line

	nameStart, nameEnd int64
}

// spanAt is a span whose name is still offsets into the file.
type spanAt struct {
	start, stop int64
	end         int
}

func (r *spanRec) start(at int64, line int) {
	if line != r.line {
		r.flush()
		r.line = line
	}
	r.nameStart, r.nameEnd = at, at
}

func (r *spanRec) end(line int) {
	r.cur = append(r.cur, spanAt{start: r.nameStart, stop: r.nameEnd, end: line})
	if line != r.line {
		r.spanning = true
	}
}

func (r *spanRec) flush() {
	if r.spanning {
		if r.out == nil {
			r.out = spanLines{}
		}
		ss := make([]span, len(r.cur))
		for i, c := range r.cur {
			if c.start <= c.stop && c.stop <= int64(len(r.data)) {
				ss[i].name = string(r.data[c.start:c.stop])
			}
			ss[i].end = c.end
		}
		r.out[r.line] = ss
	}
	r.cur, r.spanning = r.cur[:0], false
}

// maySpan is a quick look at a file for a directive that could span
// lines: it says false only when every line is blank, a comment, or ends
// its last directive with ";", "{" or "}" and holds no quote or escape
// that could carry a word over to the next line.
func maySpan(data []byte) bool {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimLeft(line, " \t\r")
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if bytes.ContainsAny(line, "\"'\\") {
			return true
		}
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimRight(line, " \t\r")
		if len(line) == 0 {
			return true
		}
		last, before := line[len(line)-1], byte(' ')
		if len(line) > 1 {
			before = line[len(line)-2]
		}
		switch {
		case last == ';':
		case last == '{' && before != '$': // "${" goes on as a variable
		case last == '}' && (isSpace(before) || before == ';' || before == '{' || before == '}'): // "a}" is a word
		default:
			return true
		}
	}
	return false
}

// scanSpans runs tokenCheck over a whole file for its spanLines; nil when
// no directive spans lines (or tokenCheck gave up before one did).
func scanSpans(data []byte) spanLines {
	t := newTokenCheck()
	t.spans = &spanRec{data: data}
	t.write(data)
	t.end()
	return t.spans.out
}

// directiveEnds matches the directives of one parsed file with its
// spanLines: the k-th directive named N on line L is the k-th of the
// spans of line L named N. It adds to ends the line each spanning
// directive ends on.
func directiveEnds(dirs crossplane.Directives, sl spanLines, ends map[*crossplane.Directive]int) {
	type key struct {
		line int
		name string
	}
	seen := map[key]int{}
	var visit func(dirs crossplane.Directives)
	visit = func(dirs crossplane.Directives) {
		for _, d := range dirs {
			if ss, ok := sl[d.Line]; ok {
				k := key{d.Line, d.Directive}
				n := seen[k]
				seen[k]++
				for _, s := range ss {
					if s.name != d.Directive {
						continue
					}
					if n == 0 {
						if s.end != d.Line {
							ends[d] = s.end
						}
						break
					}
					n--
				}
			}
			visit(d.Block)
		}
	}
	visit(dirs)
}

// quotedName is the first quoted word of a crossplane message, which
// names the directive it is about: "x" directive is not allowed here,
// invalid number of arguments in "x" directive.
var quotedName = regexp.MustCompile(`"([^"]*)"`)

// payloadEnd is the line nginx reports crossplane's error msg at, given
// at line: the end of the directive msg names when every directive of
// that name starting there ends on the same line, else line.
func payloadEnd(sl spanLines, line int, msg string) int {
	var name string
	switch {
	case strings.HasPrefix(msg, "open() "), strings.HasPrefix(msg, "pread() "), strings.HasPrefix(msg, "glob() "):
		// A file an include names could not be read.
		name = "include"
	default:
		m := quotedName.FindStringSubmatch(msg)
		if m == nil {
			return line
		}
		name = m[1]
	}
	end := 0
	for _, s := range sl[line] {
		if s.name != name {
			continue
		}
		if end != 0 && end != s.end {
			return line
		}
		end = s.end
	}
	if end == 0 {
		return line
	}
	return end
}
