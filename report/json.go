// Package report renders a checks.Result in one of the output formats, one
// file per format. Formatters neither filter nor sort nor pick exit codes:
// they print the result they are given.
package report

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// Schema is the version tag of the JSON output.
const Schema = "lbdoctor/v1"

type jsonListener struct {
	Address string `json:"address"`
	Port    int    `json:"port"`
	Proto   string `json:"proto"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Status  string `json:"status"`
	Errno   string `json:"errno"`
	Finding string `json:"finding,omitempty"`
	Via     string `json:"via,omitempty"`
	Context string `json:"context,omitempty"`
	Raw     string `json:"raw,omitempty"`
	// Unjudged says why no check could judge this listener.
	Unjudged string `json:"unjudged,omitempty"`
	// Conditional names the undecided config condition it depends on.
	Conditional string `json:"conditional,omitempty"`
}

type jsonFinding struct {
	ID          string   `json:"id"`
	Severity    string   `json:"severity"`
	Service     string   `json:"service"`
	File        string   `json:"file"`
	Line        int      `json:"line"`
	Address     string   `json:"address,omitempty"`
	Port        int      `json:"port,omitempty"`
	Message     string   `json:"message"`
	DaemonError string   `json:"daemon_error,omitempty"`
	Why         string   `json:"why"`
	Fix         []string `json:"fix"`
	Errno       string   `json:"errno,omitempty"`
}

type jsonSummary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Infos    int `json:"infos"`
	Ignored  int `json:"ignored"`
}

// JSON writes the result as the contract's lbdoctor/v1 document, exactly
// as encoding/json would indent it whole, but one listener and one finding
// at a time: a report of 20,000 failing listeners is tens of megabytes, and
// building it in memory first raised lbdoctor's peak memory by half.
func JSON(w io.Writer, r *checks.Result) error {
	o := &jsonOut{w: bufio.NewWriterSize(w, 64<<10), workers: renderWorkers(false)}
	o.raw("{\n")
	o.field(1, "schema", Schema, true)
	o.field(1, "role", string(r.Input.Role), true)
	o.field(1, "host", contractHost(r.Input.Host), true)
	o.key(1, "services")
	if len(r.Services) == 0 {
		o.raw("[]")
	} else {
		o.raw("[\n")
		for i, s := range r.Services {
			o.raw(indent(2) + "{\n")
			o.field(3, "service", s.Name, true)
			o.field(3, "config", s.Path, true)
			o.field(3, "status", s.Status, true)
			o.key(3, "listeners")
			o.array(3, len(s.Listeners), func(dst []byte, pad string, i int) []byte {
				l := s.Listeners[i]
				return jsonListener{
					Address:     l.Address(),
					Port:        l.Port,
					Proto:       string(l.Proto),
					File:        l.Pos.File,
					Line:        l.Pos.Line,
					Status:      l.Status,
					Errno:       l.Errno,
					Finding:     l.Finding,
					Via:         l.Via,
					Context:     l.Context,
					Raw:         l.Raw,
					Unjudged:    checks.Unjudged(l.Listener),
					Conditional: l.Conditional,
				}.appendIndented(dst, pad)
			})
			o.raw("\n" + indent(2) + "}")
			if i < len(r.Services)-1 {
				o.raw(",")
			}
			o.raw("\n")
		}
		o.raw(indent(1) + "]")
	}
	o.raw(",\n")
	o.key(1, "findings")
	o.array(1, len(r.Findings), func(dst []byte, pad string, i int) []byte {
		f := r.Findings[i]
		fix := f.Fix
		if fix == nil {
			fix = []string{}
		}
		return jsonFinding{
			ID:          f.ID,
			Severity:    f.Severity.String(),
			Service:     f.Service,
			File:        f.Pos.File,
			Line:        f.Pos.Line,
			Address:     f.Address,
			Port:        f.Port,
			Message:     f.Message,
			DaemonError: f.DaemonError,
			Why:         f.Why,
			Fix:         fix,
			Errno:       f.Errno,
		}.appendIndented(dst, pad)
	})
	o.raw(",\n")
	sum := r.Summary()
	o.field(1, "summary", jsonSummary{Errors: sum.Errors, Warnings: sum.Warnings, Infos: sum.Infos, Ignored: len(r.Ignored)}, false)
	o.raw("}\n")
	if o.err != nil {
		return o.err
	}
	return o.w.Flush()
}

// jsonOut writes an indented JSON document piece by piece; the first error
// stops it.
type jsonOut struct {
	w       *bufio.Writer
	workers int
	err     error
}

func indent(depth int) string { return strings.Repeat("  ", depth) }

func (o *jsonOut) raw(s string) {
	if o.err == nil {
		_, o.err = o.w.WriteString(s)
	}
}

// value writes v as encoding/json indents it at depth, from its opening
// bracket on.
func (o *jsonOut) value(depth int, v any) {
	if o.err != nil {
		return
	}
	b, err := json.MarshalIndent(v, indent(depth), "  ")
	if err != nil {
		o.err = err
		return
	}
	_, o.err = o.w.Write(b)
}

func (o *jsonOut) key(depth int, name string) {
	o.raw(indent(depth) + `"` + name + `": `)
}

// field writes one member of an object at depth, and the comma after it
// unless it is the last.
func (o *jsonOut) field(depth int, name string, v any, more bool) {
	o.key(depth, name)
	o.value(depth, v)
	if more {
		o.raw(",")
	}
	o.raw("\n")
}

// array writes the n values elem appends at depth+1, as encoding/json
// indents them: [] when empty. elem appends its value's indented JSON,
// from its opening bracket on, with pad before its inner lines.
func (o *jsonOut) array(depth, n int, elem func(dst []byte, pad string, i int) []byte) {
	if n == 0 {
		o.raw("[]")
		return
	}
	o.raw("[\n")
	pad := indent(depth + 1)
	inBatches(o.w, n, o.workers, func(b textWriter, i int) {
		v := make([]byte, 0, 1024)
		v = append(v, pad...)
		v = elem(v, pad, i)
		if i < n-1 {
			v = append(v, ',')
		}
		v = append(v, '\n')
		b.Write(v)
	})
	o.raw(indent(depth) + "]")
}

// contractHost fills the lists and maps the contract spells as [] and {}
// where Go would print null.
func contractHost(h *host.Facts) *host.Facts {
	c := *h
	c.Addresses = make([]host.Address, len(h.Addresses))
	for i, a := range h.Addresses {
		if a.Flags == nil {
			a.Flags = []string{}
		}
		c.Addresses[i] = a
	}
	if c.Sysctls == nil {
		c.Sysctls = map[string]string{}
	}
	return &c
}
