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
	"strings"

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
// service names it.
func Scan(name string, data []byte) []Ignore {
	var out []Ignore
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		i := strings.Index(text, marker)
		if i < 0 {
			continue
		}
		before := strings.TrimSpace(text[:i])
		// The marker must sit in a comment: "#", or keepalived's "!".
		hash := strings.LastIndexAny(before, "#!")
		if hash < 0 || strings.TrimSpace(before[hash+1:]) != "" {
			continue
		}
		fields := strings.Fields(text[i+len(marker):])
		ig := Ignore{Pos: parsers.Pos{File: name, Line: line}, Own: strings.TrimSpace(before[:hash]) == ""}
		if len(fields) > 0 {
			ig.IDs = strings.Split(fields[0], ",")
			ig.Reason = strings.Join(fields[1:], " ")
		}
		out = append(out, ig)
	}
	return out
}

// Covers reports whether the directive applies to a finding at line.
func (ig Ignore) Covers(line int) bool {
	if ig.Own {
		return line == ig.Pos.Line+1
	}
	return line == ig.Pos.Line
}

// ScanFiles scans every file a parser read; a file that cannot be read now
// was reported by its parser already.
func ScanFiles(root parsers.Root, files []string) []Ignore {
	var out []Ignore
	for _, f := range files {
		data, err := root.ReadFile(f)
		if err != nil {
			continue
		}
		out = append(out, Scan(f, data)...)
	}
	return out
}
