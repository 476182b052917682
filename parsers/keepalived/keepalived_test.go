package keepalived

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbdoctor/lbdoctor/parsers"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdataDir = "../../testdata/parsers/keepalived"

// golden is the JSON shape of a parse result in the golden files.
type golden struct {
	Files  []string      `json:"files"`
	VRRP   []goldenVRRP  `json:"vrrp"`
	Errors []goldenError `json:"errors"`
}

type goldenVRRP struct {
	File      string      `json:"file"`
	Line      int         `json:"line"`
	Name      string      `json:"name"`
	State     string      `json:"state,omitempty"`
	Interface string      `json:"interface,omitempty"`
	Priority  int         `json:"priority,omitempty"`
	VIPs      []goldenVIP `json:"vips"`
}

type goldenVIP struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Prefix   string `json:"prefix"`
	Dev      string `json:"dev,omitempty"`
	Label    string `json:"label,omitempty"`
	Scope    string `json:"scope,omitempty"`
	Excluded bool   `json:"excluded,omitempty"`
}

type goldenError struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Msg  string `json:"msg"`
}

func toGolden(cfg *parsers.Config) golden {
	g := golden{Files: cfg.Files, VRRP: []goldenVRRP{}, Errors: []goldenError{}}
	for _, v := range cfg.VRRP {
		gv := goldenVRRP{File: v.Pos.File, Line: v.Pos.Line, Name: v.Name, State: v.State, Interface: v.Interface, Priority: v.Priority, VIPs: []goldenVIP{}}
		for _, a := range v.VIPs {
			gv.VIPs = append(gv.VIPs, goldenVIP{File: a.Pos.File, Line: a.Pos.Line, Prefix: a.Prefix.String(), Dev: a.Dev, Label: a.Label, Scope: a.Scope, Excluded: a.Excluded})
		}
		g.VRRP = append(g.VRRP, gv)
	}
	for _, e := range cfg.Errors {
		g.Errors = append(g.Errors, goldenError{File: e.Pos.File, Line: e.Pos.Line, Msg: e.Msg})
	}
	return g
}

// TestGolden parses every testdata/parsers/keepalived/*.conf as "/NAME"
// below a root at that directory, so that absolute includes go through the
// root and the golden paths do not depend on the checkout.
func TestGolden(t *testing.T) {
	root, err := filepath.Abs(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	confs, err := filepath.Glob(filepath.Join(root, "*.conf"))
	if err != nil || len(confs) == 0 {
		t.Fatalf("no test configs in %s (%v)", root, err)
	}
	for _, conf := range confs {
		name := filepath.Base(conf)
		t.Run(name, func(t *testing.T) {
			cfg, err := Parse("/"+name, Options{Root: parsers.Root(root)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(toGolden(cfg), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			goldenPath := strings.TrimSuffix(conf, ".conf") + ".json"
			if *update {
				if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the parse result (run go test -update after checking):\n%s", goldenPath, got)
			}
		})
	}
}

func TestParseMissingFile(t *testing.T) {
	if _, err := Parse(filepath.Join(t.TempDir(), "nope.conf"), Options{}); err == nil {
		t.Fatal("Parse of a missing main file returned no error")
	}
	if _, err := Parse(t.TempDir(), Options{}); err == nil {
		t.Fatal("Parse of a directory returned no error")
	}
}

// TestParseBytes checks single facts that the golden files show only among
// many others.
func TestParseBytes(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		vips   []string // "prefix dev file:line"
		errors []string // substrings, in order
	}{
		{
			name: "one-line blocks keep their line",
			conf: "\n\nvrrp_instance V { interface e0\nvirtual_ipaddress { 10.0.0.1 10.0.0.2/8 }\n}\n",
			// The address line holds two words; keepalived reads the
			// second as an unknown option of the first.
			vips: []string{"10.0.0.1/32 e0 t.conf:4"},
		},
		{
			name: "interface after the addresses",
			conf: "vrrp_instance V {\n virtual_ipaddress {\n  10.0.0.1\n  10.0.0.2 dev x\n }\n interface late\n}\n",
			vips: []string{"10.0.0.1/32 late t.conf:3", "10.0.0.2/32 x t.conf:4"},
		},
		{
			name: "brace glued to words and on the next line",
			conf: "vrrp_instance V{\ninterface e\nvirtual_ipaddress\n{\n10.0.0.1}\n}",
			vips: []string{"10.0.0.1/32 e t.conf:5"},
		},
		{
			name: "comments and quotes",
			conf: "vrrp_instance V { # c {\n interface \"e 1\" ! c }\n virtual_ipaddress {\n  10.0.0.1 label \"a#b\" # 10.0.0.2\n }\n}\n",
			vips: []string{"10.0.0.1/32 e 1 t.conf:4"},
		},
		{
			name:   "bad address reported at its line and skipped",
			conf:   "vrrp_instance V {\n virtual_ipaddress {\n  10.0.0\n  10.0.0.1\n }\n}\n",
			vips:   []string{"10.0.0.1/32  t.conf:4"},
			errors: []string{"t.conf:3: VRRP parsed invalid IP 10.0.0"},
		},
		{
			name:   "stray closing brace",
			conf:   "}\nvrrp_instance V {\n}\n",
			errors: []string{"t.conf:1: extra '}' found"},
		},
		{
			name:   "unclosed block",
			conf:   "vrrp_instance V {\n virtual_ipaddress {\n  10.0.0.1\n}\n",
			vips:   []string{"10.0.0.1/32  t.conf:3"},
			errors: []string{"t.conf:1: vrrp_instance block opened here is never closed"},
		},
		{
			name:   "unterminated quote",
			conf:   "global_defs {\n router_id \"x\n}\n",
			errors: []string{"t.conf:2: unterminated quote"},
		},
		{
			name: "multiline definition lines take the line that uses it",
			conf: "$V= \\\n10.0.0.1 \\\n10.0.0.2\n\nvrrp_instance V {\n virtual_ipaddress {\n  $V\n }\n}\n",
			vips: []string{"10.0.0.1/32  t.conf:7", "10.0.0.2/32  t.conf:7"},
		},
		{
			name:   "sequence too long",
			conf:   "vrrp_instance V {\n virtual_ipaddress {\n  ~SEQ(A,1,1000000) 10.0.0.1\n }\n}\n",
			errors: []string{"t.conf:3: invalid ~SEQ specification"},
		},
		{
			name:   "self-referencing definition",
			conf:   "$A=${A}x\nvrrp_instance V {\n interface ${A}\n}\n",
			errors: []string{"t.conf:3: parameter substitution does not terminate"},
		},
		{
			name:   "self-referencing multiline definition",
			conf:   "$A= \\\nx \\\n$A\n\n$A\n",
			errors: []string{"t.conf:5: definitions or sequences nested more than"},
		},
		{
			name:   "nested sequences are bounded",
			conf:   "~SEQ(A,1,99999) ~SEQ(B,1,99999) ~SEQ(C,1,99999) $X=1\n",
			errors: []string{"t.conf:1: configuration expands to more than"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan *parsers.Config)
			go func() { done <- ParseBytes("t.conf", []byte(tt.conf), Options{Root: parsers.Root(t.TempDir())}) }()
			var cfg *parsers.Config
			select {
			case cfg = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("parse did not finish")
			}
			var vips []string
			for _, v := range cfg.VRRP {
				for _, a := range v.VIPs {
					vips = append(vips, a.Prefix.String()+" "+a.Dev+" "+a.Pos.String())
				}
			}
			if strings.Join(vips, "|") != strings.Join(tt.vips, "|") {
				t.Errorf("VIPs:\n got %q\nwant %q", vips, tt.vips)
			}
			if len(cfg.Errors) != len(tt.errors) {
				t.Fatalf("errors: got %v, want %d matching %q", cfg.Errors, len(tt.errors), tt.errors)
			}
			for i, e := range cfg.Errors {
				if !strings.Contains(e.Error(), tt.errors[i]) {
					t.Errorf("error %d: got %q, want it to contain %q", i, e.Error(), tt.errors[i])
				}
			}
		})
	}
}

// corpusDir is where the shared real-world configs live, if anywhere.
func corpusDir(t *testing.T) string {
	dir := os.Getenv("LBDOCTOR_CORPUS")
	if dir == "" {
		dir = "../../../shared/corpus"
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.md")); err != nil {
		t.Skipf("no corpus at %s (set LBDOCTOR_CORPUS): %v", dir, err)
	}
	return dir
}

// TestCorpus parses every keepalived config of the shared corpus: the ones
// keepalived accepts must parse without errors, the others must merely not
// break the parser. Files that are only included by others are parsed
// through the file that includes them.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	f, err := os.Open(filepath.Join(dir, "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var accepted, rejected, files, vrrp, vips int
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := sc.Text()
		if strings.HasPrefix(text, "## ") {
			section = text
			continue
		}
		if !strings.HasPrefix(section, "## keepalived") || !strings.HasPrefix(text, "| `") {
			continue
		}
		cols := strings.Split(text, "|")
		file := strings.Trim(strings.TrimSpace(cols[1]), "`")
		check := strings.TrimSpace(cols[len(cols)-2])
		if strings.Contains(check, "(included by") {
			continue
		}
		path := filepath.Join(dir, "keepalived", file)
		cfg, err := Parse(path, Options{})
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		files += len(cfg.Files)
		if strings.Contains(file, "/") && len(cfg.Files) < 2 {
			t.Errorf("%s: the includes of this multi-file set were not read: %v", file, cfg.Files)
		}
		vrrp += len(cfg.VRRP)
		for _, v := range cfg.VRRP {
			vips += len(v.VIPs)
		}
		if !strings.HasPrefix(check, "yes") {
			rejected++
			t.Logf("rejected by keepalived (%s), %d errors here: %s %v", check, len(cfg.Errors), file, cfg.Errors)
			continue
		}
		accepted++
		for _, e := range cfg.Errors {
			t.Errorf("%s is accepted by keepalived, but: %v", file, e)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if accepted == 0 {
		t.Fatal("no accepted keepalived configs found in SOURCES.md")
	}
	t.Logf("corpus: %d accepted configs, %d rejected ones, %d files read, %d vrrp instances, %d VIPs", accepted, rejected, files, vrrp, vips)
}

// FuzzParse feeds arbitrary bytes to the parser, seeded with the golden
// test configs, and checks that it returns (no panic, no hang) with every
// position filled in.
func FuzzParse(f *testing.F) {
	root, err := filepath.Abs(testdataDir)
	if err != nil {
		f.Fatal(err)
	}
	seeds, _ := filepath.Glob(filepath.Join(root, "*.conf"))
	more, _ := filepath.Glob(filepath.Join(root, "*", "*"))
	for _, s := range append(seeds, more...) {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := ParseBytes("/fuzz.conf", data, Options{Root: parsers.Root(root)})
		if cfg.Service != Service || len(cfg.Files) == 0 || cfg.Files[0] != "/fuzz.conf" {
			t.Fatalf("bad config header: %+v", cfg)
		}
		for _, e := range cfg.Errors {
			if e.Pos.File == "" || e.Pos.Line < 1 || e.Msg == "" {
				t.Fatalf("error without position or message: %+v", e)
			}
		}
		for _, v := range cfg.VRRP {
			if v.Pos.File == "" || v.Pos.Line < 1 || v.Name == "" {
				t.Fatalf("instance without position or name: %+v", v)
			}
			for _, a := range v.VIPs {
				if a.Pos.File == "" || a.Pos.Line < 1 || !a.Prefix.IsValid() {
					t.Fatalf("VIP without position or prefix: %+v", a)
				}
			}
		}
	})
}

// TestKeepalivedAgrees runs the real keepalived --config-test on the
// single-file test configs and checks that every line lbdoctor reports an
// error on is a line keepalived complains about too, and that every address
// keepalived calls invalid is one lbdoctor reports. keepalived runs in a
// network namespace of its own (unshare -n), so it sees no host interface.
func TestKeepalivedAgrees(t *testing.T) {
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("keepalived is not installed")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and unshare to run keepalived in a network namespace of its own")
	}
	root, err := filepath.Abs(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	lineRe := regexp.MustCompile(`\((?:[^():]*: )?Line (\d+)\) (.*)`)
	// include.conf reads /abs.d through the root and cycle.conf makes
	// keepalived include itself until it runs out of file descriptors.
	for _, name := range []string{"basic.conf", "errors.conf", "params.conf", "unclosed.conf"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(root, name)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, unshare, "-n", bin, "--config-test", "-f", path, "-n", "-l", "-D")
			cmd.Dir = root
			out, _ := cmd.CombinedOutput() // it exits non-zero on any complaint
			if ctx.Err() != nil {
				t.Fatalf("keepalived --config-test did not finish: %v", ctx.Err())
			}
			complained := map[int]bool{}
			var invalid []int
			for _, m := range lineRe.FindAllStringSubmatch(string(out), -1) {
				n, _ := strconv.Atoi(m[1])
				complained[n] = true
				if strings.HasPrefix(m[2], "VRRP parsed invalid IP") {
					invalid = append(invalid, n)
				}
			}
			cfg := ParseBytes(path, mustRead(t, path), Options{})
			ours := map[int]bool{}
			for _, e := range cfg.Errors {
				ours[e.Pos.Line] = true
				switch {
				case strings.Contains(e.Msg, "more than"):
					// One of lbdoctor's own limits, not keepalived's.
				case strings.Contains(e.Msg, "never closed"):
					if !strings.Contains(string(out), "missing '}'") {
						t.Errorf("lbdoctor: %v; keepalived does not report a missing '}'", e)
					}
				case !complained[e.Pos.Line]:
					t.Errorf("lbdoctor: %v; keepalived says nothing about line %d", e, e.Pos.Line)
				}
			}
			for _, n := range invalid {
				if !ours[n] {
					t.Errorf("keepalived finds an invalid IP on line %d, lbdoctor does not", n)
				}
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
