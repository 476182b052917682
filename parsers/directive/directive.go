// Package directive finds lbdoctor's inline ignores in config files:
//
//	# lbdoctor:ignore LBD101,LBD401 the VIP is added by our orchestrator first
//
// An ignore covers findings on its own line (a trailing comment) or on the
// line below (a comment line of its own). It needs a reason, like
// staticcheck's //lint:ignore.
package directive

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Ignore is one lbdoctor:ignore directive.
type Ignore struct {
	Pos    parsers.Pos
	IDs    []string // "LBD101", or patterns like "LBD1*"
	Reason string
	// Own is true when the directive is a comment line of its own, so it
	// covers the next line rather than its own.
	Own bool
}

const marker = "lbdoctor:ignore"

// Scan finds the directives in one file's content; name is the file as the
// service names it. Lines have no length limit.
func Scan(name string, data []byte) []Ignore {
	// Most files hold no directive; saying so costs one search.
	if !bytes.Contains(data, []byte(marker)) {
		return nil
	}
	var out []Ignore
	for n := 1; len(data) > 0; n++ {
		text := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			text, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if ig, ok := scanLine(name, n, text); ok {
			out = append(out, ig)
		}
	}
	return out
}

// scanLine reads the directive on one line, if it has one.
func scanLine(name string, n int, raw []byte) (Ignore, bool) {
	if !bytes.Contains(raw, []byte(marker)) {
		return Ignore{}, false
	}
	text := strings.TrimSuffix(string(raw), "\r")
	i := strings.Index(text, marker)
	before := strings.TrimSpace(text[:i])
	// The marker must sit in a comment: "#", or keepalived's "!".
	hash := strings.LastIndexAny(before, "#!")
	if hash < 0 || strings.TrimSpace(before[hash+1:]) != "" {
		return Ignore{}, false
	}
	fields := strings.Fields(text[i+len(marker):])
	ig := Ignore{Pos: parsers.Pos{File: name, Line: n}, Own: strings.TrimSpace(before[:hash]) == ""}
	if len(fields) > 0 {
		ig.IDs = strings.Split(fields[0], ",")
		ig.Reason = strings.Join(fields[1:], " ")
	}
	return ig, true
}

// scanReader is Scan over a stream: memory grows with the longest line,
// not with the file, so a huge config is not held twice.
func scanReader(name string, r io.Reader) ([]Ignore, error) {
	br := bufio.NewReaderSize(r, readBuf)
	var out []Ignore
	var long []byte // a line longer than the buffer, assembled
	for n := 1; ; {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
		}
		if len(line) > 0 {
			if ig, ok := scanLine(name, n, bytes.TrimSuffix(line, []byte("\n"))); ok {
				out = append(out, ig)
			}
		}
		long = nil
		n++
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// Files up to smallFile bytes are read whole (one allocation, one search
// for the marker); larger ones are streamed through a readBuf buffer.
const (
	smallFile = 1 << 20
	readBuf   = 64 << 10
)

// Covers reports whether the directive applies to a finding at line.
func (ig Ignore) Covers(line int) bool {
	if ig.Own {
		return line == ig.Pos.Line+1
	}
	return line == ig.Pos.Line
}

// ScanFiles scans every file a parser read; a file that cannot be read now
// was reported by its parser already. A config of thousands of files is
// mostly waiting on reads, so the files are scanned on every CPU, and the
// ignores come out in the order of files.
func ScanFiles(root parsers.Root, files []string) []Ignore {
	found := make([][]Ignore, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for i := range next {
				found[i] = scanFile(root, files[i])
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []Ignore
	for _, ig := range found {
		out = append(out, ig...)
	}
	return out
}

func scanFile(root parsers.Root, name string) []Ignore {
	fh, err := root.Open(name)
	if err != nil {
		return nil
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	if st.Size() <= smallFile {
		data, err := io.ReadAll(io.LimitReader(fh, smallFile+1))
		if err != nil {
			return nil
		}
		if len(data) <= smallFile {
			return Scan(name, data)
		}
		// It grew since Stat: scan what was read, then the rest.
		out, _ := scanReader(name, io.MultiReader(bytes.NewReader(data), fh))
		return out
	}
	out, _ := scanReader(name, fh)
	return out
}
