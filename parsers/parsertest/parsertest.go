// Package parsertest runs the golden and fuzz tests that every config
// parser of the services behind a VIP shares: a parse of each case tree
// under testdata/parsers/SERVICE compared with its JSON listing, and
// arbitrary configs that must not panic and must place every listener and
// error in a file that was read.
package parsertest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// ParseFunc reads the config at main (a path as the daemon names it) below
// root.
type ParseFunc func(root parsers.Root, main string) (*parsers.Config, error)

// Listener is a parsers.Listener as the golden files spell it.
type Listener struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Context  string   `json:"context"`
	Raw      string   `json:"raw"`
	Proto    string   `json:"proto"`
	Address  string   `json:"address"`
	Host     string   `json:"host,omitempty"`
	Port     int      `json:"port"`
	V6Only   string   `json:"v6only,omitempty"`
	Via      string   `json:"via,omitempty"`
	Optional []string `json:"optional,omitempty"`
	Group    string   `json:"group,omitempty"`
	Mode     string   `json:"mode,omitempty"`
	Unjudged string   `json:"uncheckable,omitempty"`
}

// Error is a parsers.Error as the golden files spell it.
type Error struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Msg  string `json:"msg"`
}

// Golden is a parse as the golden files hold it.
type Golden struct {
	Main      string     `json:"main"`
	Files     []string   `json:"files"`
	Listeners []Listener `json:"listeners"`
	Errors    []Error    `json:"errors"`
	// Warnings are lines the daemon ignores (LBD004), for the parsers
	// that have them.
	Warnings []Error `json:"warnings,omitempty"`
}

// ToGolden turns a parse into its golden form.
func ToGolden(main string, c *parsers.Config) Golden {
	g := Golden{Main: main, Files: c.Files, Listeners: []Listener{}, Errors: []Error{}}
	for _, l := range c.Listeners {
		gl := Listener{
			File: l.Pos.File, Line: l.Pos.Line, Context: l.Context, Raw: l.Raw,
			Proto: string(l.Proto), Address: l.Address(), Host: l.Host, Port: l.Port,
			V6Only: string(l.V6Only), Via: l.Via, Optional: l.Optional, Group: l.Group, Unjudged: l.Uncheckable,
		}
		if l.UnixMode != 0 {
			gl.Mode = l.UnixMode.String()
		}
		g.Listeners = append(g.Listeners, gl)
	}
	for _, e := range c.Errors {
		g.Errors = append(g.Errors, Error{File: e.Pos.File, Line: e.Pos.Line, Msg: e.Msg})
	}
	for _, e := range c.Warnings {
		g.Warnings = append(g.Warnings, Error{File: e.Pos.File, Line: e.Pos.Line, Msg: e.Msg})
	}
	return g
}

// RunGolden parses every case directory under testdata (each one a root
// tree holding the first of mains that exists) and compares the parse
// with testdata/NAME.json, or rewrites that file when update is set.
func RunGolden(t *testing.T, testdata string, mains []string, parse ParseFunc, update bool) {
	t.Helper()
	entries, err := os.ReadDir(testdata)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(testdata, e.Name())
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatal(err)
		}
		main := ""
		for _, m := range mains {
			if _, err := os.Stat(filepath.Join(abs, m)); err == nil {
				main = m
				break
			}
		}
		if main == "" {
			t.Errorf("%s holds none of %v", dir, mains)
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			cfg, err := parse(parsers.Root(abs), main)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(ToGolden(main, cfg), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			file := dir + ".json"
			if update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the parse; got:\n%s", file, got)
			}
		})
	}
	if n == 0 {
		t.Fatalf("no golden cases in %s", testdata)
	}
}

// Fuzz feeds arbitrary main configs (seeded from seeds, files of
// testdata) written at main in a fresh root, beside the files of extra,
// and wants no panic, no error from the parse itself, and every listener
// and error placed in a file that was read.
func Fuzz(f *testing.F, seeds []string, main string, extra map[string]string, parse ParseFunc) {
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, conf string) {
		dir := t.TempDir()
		write := func(name, data string) {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(main, conf)
		for name, data := range extra {
			write(name, data)
		}
		cfg, err := parse(parsers.Root(dir), main)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		read := map[string]bool{}
		for _, name := range cfg.Files {
			read[name] = true
		}
		for _, l := range cfg.Listeners {
			if !read[l.Pos.File] {
				t.Errorf("listener at %v, files read %v", l.Pos, cfg.Files)
			}
			if l.Port < 0 || l.Port > 65535 {
				t.Errorf("listener %v: port %d", l.Pos, l.Port)
			}
			if l.Proto != parsers.Unix && !l.Addr.IsValid() && l.Host == "" {
				t.Errorf("listener %v: neither address nor host", l.Pos)
			}
		}
		for _, e := range append(cfg.Errors, cfg.Warnings...) {
			if e.Pos.File == "" || e.Msg == "" || !read[e.Pos.File] {
				t.Errorf("error without a place read or a message: %#v", e)
			}
		}
	})
}
