package haproxy

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

func TestLoadEnvFile(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // sorted KEY=value pairs joined by "|"
		errs       string // error lines and messages joined by "|"
	}{
		{"plain", "VIP=192.0.2.1\nPORT=80\n", "PORT=80|VIP=192.0.2.1", ""},
		{"comments and blanks", "# c\n; c\n\n  VIP=1\nnot an assignment\n", "VIP=1", ""},
		{"spaces around", "  VIP  =   1.2.3.4  \n", "VIP=1.2.3.4", ""},
		{"interior space kept", "OPTS=-d  -V\n", "OPTS=-d  -V", ""},
		{"double quotes", `VIP="192.0.2.1" ` + "\n" + `E="a\"b\\c\$d\x"`, `E=a"b\c$d\x|VIP=192.0.2.1`, ""},
		{"single quotes verbatim", `A='x\y "z"'`, `A=x\y "z"`, ""},
		{"quotes span lines", "A=\"x\ny\"\nB=2\n", "A=x\ny|B=2", ""},
		{"continuation", "A=x\\\ny\nB=1", "A=xy|B=1", ""},
		{"escape unquoted", `A=x\ y\#`, `A=x y#`, ""},
		{"hash inside value", "A=x#y\n", "A=x#y", ""},
		{"concatenated quotes", `A="x"'y'z` + "\n", "A=xyz", ""},
		{"empty value", "A=\nB=\"\"\n", "A=|B=", ""},
		{"last wins", "A=1\nA=2\n", "A=2", ""},
		{"no trailing newline", "A=1", "A=1", ""},
		{"export tolerated", "export VIP=192.0.2.9\n", "VIP=192.0.2.9",
			`1: systemd ignores "export VIP=..." (EnvironmentFile= takes no "export"): only a shell that sources the file sets VIP; write VIP=... instead`},
		{"invalid name", "1A=x\nA-B=y\nOK=1\n", "OK=1",
			`1: invalid variable name "1A": systemd ignores the assignment|2: invalid variable name "A-B": systemd ignores the assignment`},
		{"invalid utf8", "A=\xff\n", "", `1: invalid UTF-8 in the assignment of "A": systemd ignores it`},
		{"error line after multi-line value", "A=\"x\ny\"\n1B=2\n", "A=x\ny", `3: invalid variable name "1B": systemd ignores the assignment`},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("/etc/default/h%d", i)
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			env, errs, err := LoadEnvFile(parsers.Root(dir), name)
			if err != nil {
				t.Fatal(err)
			}
			var pairs []string
			for k, v := range env {
				pairs = append(pairs, k+"="+v)
			}
			sort.Strings(pairs)
			if got := strings.Join(pairs, "|"); got != tt.want {
				t.Errorf("env %q, want %q", got, tt.want)
			}
			var msgs []string
			for _, e := range errs {
				if e.Pos.File != name {
					t.Errorf("error in %s, want %s", e.Pos.File, name)
				}
				msgs = append(msgs, fmt.Sprintf("%d: %s", e.Pos.Line, e.Msg))
			}
			if got := strings.Join(msgs, "|"); got != tt.errs {
				t.Errorf("errors %q, want %q", got, tt.errs)
			}
		})
	}
	if _, _, err := LoadEnvFile(parsers.Root(dir), "/etc/default/missing"); err == nil {
		t.Error("no error for a missing file")
	}
}

func TestEnvLookup(t *testing.T) {
	get := EnvLookup(map[string]string{"A": "own", "B": "own"}, nil, map[string]string{"B": "file", "C": ""})
	for _, tt := range []struct {
		name, want string
		ok         bool
	}{{"A", "own", true}, {"B", "file", true}, {"C", "", true}, {"D", "", false}} {
		if v, ok := get(tt.name); v != tt.want || ok != tt.ok {
			t.Errorf("%s = %q %v, want %q %v", tt.name, v, ok, tt.want, tt.ok)
		}
	}
}

func TestVersions(t *testing.T) {
	tests := []struct {
		in   string
		want string // the seven numbers, or "bad"
	}{
		{"2.6.12", "[2 6 12 0 3 0 0]"},
		{"2.6.12-1+deb12u4", "[2 6 12 0 3 0 0]"},
		{"1.2.1-pre2", "[1 2 1 0 2 2 0]"},
		{"1.2.10.1", "[1 2 10 1 3 0 0]"},
		{"1.3.16-rc1", "[1 3 16 0 2 1 0]"},
		{"1.4-dev3", "[1 4 0 0 1 3 0]"},
		{"1.5-dev18-43", "[1 5 0 0 1 18 43]"},
		{"2.4-dev18-f6818d-20", "[2 4 0 0 1 18 20]"},
		{"3.0", "[3 0 0 0 3 0 0]"},
		{"", "bad"},
		{"2.x", "bad"},
		{"1.2.3.4.5", "bad"},
		{"2.6-dev3x", "bad"},
	}
	for _, tt := range tests {
		v, ok := splitVersion(tt.in)
		got := fmt.Sprint(v)
		if !ok {
			got = "bad"
		}
		if got != tt.want {
			t.Errorf("splitVersion(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	p := newParser(Options{Version: "2.6.12-1+deb12u4"}, &parsers.Config{})
	for v, want := range map[string]bool{"2.6": true, "2.6.12": true, "2.6.13": false, "2.8": false, "2.6-dev1": true, "": true} {
		if got := p.atLeast(v); got != want {
			t.Errorf("2.6.12 atLeast(%q) = %v", v, got)
		}
	}
	if !newParser(Options{}, &parsers.Config{}).atLeast("99") {
		t.Error("an unknown version is not taken as recent")
	}
}

func TestBuildOutput(t *testing.T) {
	out := "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/\n" +
		"Status: long-term supported branch\n" +
		"Feature list : -51DEGREES +ACCEPT4 +OPENSSL -QUIC\n"
	if v := ParseVersionOutput(out); v != "2.6.12-1+deb12u4" {
		t.Errorf("version %q", v)
	}
	if v := ParseVersionOutput("HA-Proxy version 1.8.19 2019/02/11\n"); v != "1.8.19" {
		t.Errorf("old version %q", v)
	}
	if f := ParseFeatureList(out); fmt.Sprint(f) != "[-51DEGREES +ACCEPT4 +OPENSSL -QUIC]" {
		t.Errorf("features %v", f)
	}
	if ParseVersionOutput("nothing") != "" || ParseFeatureList("nothing") != nil {
		t.Error("found something in nothing")
	}
}

func FuzzParseEnvFile(f *testing.F) {
	f.Add("A=1\nexport B=\"x\\\ny\"\n# c\nC='z'\\\n")
	f.Add("K = v \\\n w\n;x\n")
	f.Fuzz(func(t *testing.T, data string) {
		lines := strings.Count(data, "\n") + 1
		for _, a := range parseEnvFile(data) {
			if a.line < 1 || a.line > lines || a.key == "" {
				t.Fatalf("assignment %+v in %d lines", a, lines)
			}
		}
	})
}
