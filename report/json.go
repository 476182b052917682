// Package report renders a checks.Result in one of the output formats, one
// file per format. Formatters neither filter nor sort nor pick exit codes:
// they print the result they are given.
package report

import (
	"encoding/json"
	"io"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// Schema is the version tag of the JSON output.
const Schema = "lbdoctor/v1"

type jsonReport struct {
	Schema   string        `json:"schema"`
	Role     string        `json:"role"`
	Host     *host.Facts   `json:"host"`
	Services []jsonService `json:"services"`
	Findings []jsonFinding `json:"findings"`
	Summary  jsonSummary   `json:"summary"`
}

type jsonService struct {
	Service   string         `json:"service"`
	Config    string         `json:"config"`
	Status    string         `json:"status"`
	Listeners []jsonListener `json:"listeners"`
}

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

// JSON writes the result as the contract's lbdoctor/v1 document.
func JSON(w io.Writer, r *checks.Result) error {
	out := jsonReport{
		Schema:   Schema,
		Role:     string(r.Input.Role),
		Host:     contractHost(r.Input.Host),
		Services: []jsonService{},
		Findings: []jsonFinding{},
	}
	for _, s := range r.Services {
		js := jsonService{Service: s.Name, Config: s.Path, Status: s.Status, Listeners: []jsonListener{}}
		for _, l := range s.Listeners {
			js.Listeners = append(js.Listeners, jsonListener{
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
			})
		}
		out.Services = append(out.Services, js)
	}
	for _, f := range r.Findings {
		fix := f.Fix
		if fix == nil {
			fix = []string{}
		}
		out.Findings = append(out.Findings, jsonFinding{
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
		})
	}
	s := r.Summary()
	out.Summary = jsonSummary{Errors: s.Errors, Warnings: s.Warnings, Infos: s.Infos, Ignored: len(r.Ignored)}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
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
