package nginx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// maxFileSize bounds one config file, so that a sparse or runaway file is
// refused rather than read; streamSize is where reading whole stops paying.
const (
	maxFileSize = 512 << 20
	streamSize  = 4 << 20
)

// files reads config files below a Root the way nginx would find them and
// remembers the problems a glob ran into, because crossplane's Glob hook has
// no way to report them at the include's line.
type files struct {
	root parsers.Root

	// mu guards the maps: the parses of a sharded read share one files.
	mu sync.Mutex
	// globErrs holds, per absolute pattern, the matches nginx would fail
	// to read; the walker reports them at every include of the pattern.
	globErrs map[string][]string
	// globs remembers each pattern's matches, since a sharded read
	// expands the main file's patterns once per shard.
	globs map[string][]string
	// verdicts holds what nginx's tokenizer says of each file read whole
	// (see tokenCheck); a sharded read opens the main file more than once.
	verdicts map[string]verdict
	// spans holds the directives spanning lines of each file that has
	// any (see spanLines), read in files smaller than streamSize.
	spans map[string]spanLines

	// stats remembers each name's stat(2): a sharded read asks about
	// every file several times (glob, the shards' opens, their sizes),
	// and on thousands of files the calls added up. statMu is its own
	// lock because glob stats files while holding mu.
	statMu sync.Mutex
	stats  map[string]statResult
}

// statResult is what is kept of a stat: the FileInfo itself is ten times
// bigger, and an include glob may match 100,000 files.
type statResult struct {
	size int64
	mode fs.FileMode
	err  error
}

func newFiles(root parsers.Root) *files {
	return &files{root: root, globErrs: map[string][]string{}, globs: map[string][]string{}, verdicts: map[string]verdict{}, spans: map[string]spanLines{}, stats: map[string]statResult{}}
}

// stat is root.Stat(name), asked once per name.
func (f *files) stat(name string) statResult {
	f.statMu.Lock()
	defer f.statMu.Unlock()
	r, ok := f.stats[name]
	if !ok {
		fi, err := f.root.Stat(name)
		r.err = err
		if err == nil {
			r.size, r.mode = fi.Size(), fi.Mode()
		}
		f.stats[name] = r
	}
	return r
}

// setVerdict records the tokenizer's verdict on name.
func (f *files) setVerdict(name string, v verdict) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verdicts[name] = v
}

// verdict is the tokenizer's verdict on name: the one recorded when the
// file was read, or else from reading it again.
func (f *files) verdict(name string) verdict {
	f.mu.Lock()
	v, ok := f.verdicts[name]
	f.mu.Unlock()
	if ok || f.check(name) != "" {
		return v
	}
	data, err := f.root.ReadFile(name)
	if err != nil {
		return verdict{}
	}
	v = checkTokens(data)
	f.setVerdict(name, v)
	return v
}

// fileSpans are the directives of name that span lines, nil for most files.
func (f *files) fileSpans(name string) spanLines {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.spans[name]
}

// tokenErrors are the errors of every verdict, sorted by file.
func (f *files) tokenErrors() []parsers.Error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []parsers.Error
	for name, v := range f.verdicts {
		if v.msg != "" {
			out = append(out, parsers.Error{Pos: parsers.Pos{File: name, Line: v.line}, Msg: v.msg})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pos.File < out[j].Pos.File })
	return out
}

// open is crossplane's Open hook. It refuses anything but a regular file:
// nginx fails on a directory (pread: EISDIR), and a FIFO or a device would
// block or never end, which a parser must not do. It reads the whole file
// at once because crossplane keeps every file it opens open until the
// parse ends, and a config with thousands of includes would run out of
// file descriptors. A file longer than nginx's token buffer is checked
// the way nginx's tokenizer reads it (see tokenCheck) on the way.
func (f *files) open(name string) (io.ReadCloser, error) {
	if msg := f.check(name); msg != "" {
		return nil, errors.New(msg)
	}
	// A big file is streamed instead: it is one descriptor, and holding
	// it whole beside crossplane's own buffers would double the memory.
	if st := f.stat(name); st.err == nil && st.size > streamSize {
		file, err := f.root.Open(name)
		if err != nil {
			return nil, errors.New(sysMsg("open", name, err))
		}
		return &checkReader{r: file, t: newTokenCheck(), done: func(v verdict) { f.setVerdict(name, v) }}, nil
	}
	data, err := f.root.ReadFile(name)
	if err != nil {
		return nil, errors.New(sysMsg("open", name, err))
	}
	// A token cannot overflow the buffer of a file that fits in it; the
	// same pass notes the directives that span lines (streamed files
	// keep crossplane's first lines).
	multi := maySpan(data)
	if len(data) > confBuffer || multi {
		t := newTokenCheck()
		if multi {
			t.spans = &spanRec{data: data}
		}
		t.write(data)
		t.end()
		if len(data) > confBuffer {
			f.setVerdict(name, t.verdict())
		}
		if multi && t.spans.out != nil {
			f.mu.Lock()
			f.spans[name] = t.spans.out
			f.mu.Unlock()
		}
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// check says, in nginx's words, why name cannot be read as a config file,
// or returns "" when it can.
func (f *files) check(name string) string {
	st := f.stat(name)
	switch {
	case st.err != nil:
		return sysMsg("open", name, st.err)
	case st.mode.IsDir():
		return sysMsg("pread", name, syscall.EISDIR)
	case !st.mode.IsRegular():
		return fmt.Sprintf("open() \"%s\" failed: not a regular file", name)
	case st.size > maxFileSize:
		return fmt.Sprintf("open() \"%s\" failed: %d bytes, larger than the %d lbdoctor reads", name, st.size, int64(maxFileSize))
	}
	return ""
}

// glob is crossplane's Glob hook. It follows glob(3) as nginx calls it:
// sorted, no match is no error, and "*" does not match a leading dot (Go's
// filepath.Glob would include ".swp" files nginx never reads). Matches that
// cannot be read are dropped and kept for the walker, because crossplane
// aborts the whole parse when a queued file fails to open.
func (f *files) glob(pattern string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if out, ok := f.globs[pattern]; ok {
		// crossplane sorts what it gets in place.
		return slices.Clone(out), nil
	}
	out := f.expand(pattern)
	f.globs[pattern] = out
	return slices.Clone(out), nil
}

func (f *files) expand(pattern string) []string {
	matches, err := f.root.Glob(goPattern(pattern))
	if err != nil {
		f.globErrs[pattern] = append(f.globErrs[pattern], fmt.Sprintf("glob() \"%s\" failed: %v", pattern, err))
		return nil
	}
	pat := strings.Split(filepath.ToSlash(pattern), "/")
	var out []string
	for _, m := range matches {
		if hidden(pat, strings.Split(filepath.ToSlash(m), "/")) {
			continue
		}
		if msg := f.check(m); msg != "" {
			f.globErrs[pattern] = append(f.globErrs[pattern], msg)
			continue
		}
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// goPattern rewrites a glob(3) pattern into the filepath.Match syntax for
// the same names. The two differ where glibc is lenient: an unclosed "["
// is a literal "[" (nginx reads "evil[.conf" as it is named, Go refuses
// the pattern), "!" negates a class like "^", a "]" first in a class and
// a "-" first or last in it are members, and a trailing backslash is
// itself. Backslash escapes are kept: both honour them.
func goPattern(pattern string) string {
	if !strings.ContainsAny(pattern, "[\\") {
		return pattern
	}
	var b strings.Builder
	b.Grow(len(pattern) + 8)
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '\\':
			if i+1 == len(pattern) {
				b.WriteString(`\\`)
				break
			}
			b.WriteByte(c)
			b.WriteByte(pattern[i+1])
			i++
		case '[':
			end := classEnd(pattern, i)
			if end < 0 {
				b.WriteString(`\[`)
				break
			}
			writeClass(&b, pattern[i+1:end])
			i = end
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// classEnd is the index of the "]" closing the class opened at pattern[open]
// as glob(3) reads it, or -1 when the class is not closed within the same
// path element.
func classEnd(pattern string, open int) int {
	j := open + 1
	if j < len(pattern) && (pattern[j] == '!' || pattern[j] == '^') {
		j++
	}
	if j < len(pattern) && pattern[j] == ']' {
		j++
	}
	for ; j < len(pattern); j++ {
		switch pattern[j] {
		case '/':
			return -1
		case '\\':
			j++
		case ']':
			return j
		}
	}
	return -1
}

// writeClass writes the class body (between "[" and "]") in Go's syntax.
func writeClass(b *strings.Builder, body string) {
	b.WriteByte('[')
	if body != "" && (body[0] == '!' || body[0] == '^') {
		b.WriteByte('^')
		body = body[1:]
	}
	for k := 0; k < len(body); k++ {
		switch c := body[k]; {
		case c == '\\' && k+1 < len(body):
			b.WriteByte(c)
			b.WriteByte(body[k+1])
			k++
		case c == ']' || c == '\\' || (c == '-' && (k == 0 || k == len(body)-1)):
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(']')
}

// hidden reports whether glob(3) would skip match: a name starting with a
// dot is matched only by a pattern element that starts with a dot.
func hidden(pattern, match []string) bool {
	if len(pattern) != len(match) {
		return false
	}
	for i, m := range match {
		if strings.HasPrefix(m, ".") && !strings.HasPrefix(pattern[i], ".") {
			return true
		}
	}
	return false
}

// sysMsg words a failed system call as nginx logs it:
// open() "/etc/nginx/x.conf" failed (2: No such file or directory).
func sysMsg(call, name string, err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Sprintf("%s() \"%s\" failed (%d: %s)", call, name, int(errno), capitalize(errno.Error()))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("%s() \"%s\" failed (2: No such file or directory)", call, name)
	}
	return fmt.Sprintf("%s() \"%s\" failed (%v)", call, name, err)
}

// capitalize turns Go's errno text into glibc's strerror wording.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
