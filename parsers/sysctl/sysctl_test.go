package sysctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdataDir = "../../testdata/parsers/sysctl"

// fixtureRoot is the absolute root of one fixture tree.
func fixtureRoot(t testing.TB, name string) parsers.Root {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(testdataDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return parsers.Root(dir)
}

// TestGolden reads every fixture tree testdata/parsers/sysctl/CASE/ as a root
// and compares the result with CASE.json.
func TestGolden(t *testing.T) {
	des, err := os.ReadDir(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		n++
		name := de.Name()
		t.Run(name, func(t *testing.T) {
			b, err := ReadBoot(fixtureRoot(t, name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(b, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			file := filepath.Join(testdataDir, name+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the result; run with -update and review the diff.\ngot:\n%s", file, got)
			}
		})
	}
	if n < 5 {
		t.Fatalf("found %d fixture trees in %s, want at least 5", n, testdataDir)
	}
}

// TestGet asks the fixtures the questions the checks ask: what a sysctl
// will be after the next boot, and which line says so.
func TestGet(t *testing.T) {
	tests := []struct {
		tree, name string
		want       string // "value@file:line"; "" = not set at boot
	}{
		// Debian's link: /etc/sysctl.conf counts, named as itself.
		{"debian", "net.ipv4.ip_nonlocal_bind", "1@/etc/sysctl.conf:13"},
		{"debian", "net/ipv6/ip_nonlocal_bind", "1@/etc/sysctl.conf:14"},
		{"debian", "kernel.domainname", ""},
		{"debian", "fs.protected_regular", "2@/usr/lib/sysctl.d/99-protect-links.conf:9"},
		// /etc/sysctl.d/50-lb.conf replaces the vendor file entirely.
		{"override", "net.ipv4.ip_nonlocal_bind", "0@/etc/sysctl.d/50-lb.conf:2"},
		{"override", "net.core.somaxconn", ""},
		// 90-late.conf sorts after 10-early.conf, and /run's copy wins.
		{"override", "net.ipv4.ip_unprivileged_port_start", "0@/run/sysctl.d/90-late.conf:2"},
		// The repeated value keeps its place but points at the last line.
		{"override", "net.ipv4.ip_forward", "1@/usr/local/lib/sysctl.d/70-local.conf:2"},
		{"mask", "net.ipv4.ip_nonlocal_bind", ""},
		{"mask", "net.ipv6.ip_nonlocal_bind", ""},
		{"mask", "net.core.somaxconn", "4096@/usr/lib/sysctl.d/70-kept.conf:1"},
		{"syntax", "net.ipv4.ip_nonlocal_bind", "1@/etc/sysctl.d/50-syntax.conf:5"},
		{"syntax", "net.ipv4.conf.eth0/100.rp_filter", "2@/etc/sysctl.d/50-syntax.conf:6"},
		{"syntax", "net/ipv4/conf/eth0.100/rp_filter", "2@/etc/sysctl.d/50-syntax.conf:6"},
		{"syntax", "net.ipv4.conf.eth0/200.rp_filter", "2@/etc/sysctl.d/50-syntax.conf:7"},
		{"syntax", "net.ipv4.tcp_syncookies", "1@/etc/sysctl.d/50-syntax.conf:8"},
		{"syntax", "net.ipv4.conf.lo.arp_ignore", "1@/etc/sysctl.d/50-syntax.conf:9"},
		// The glob sets what has no line of its own; an exclusion and an
		// explicit line both keep it off.
		{"syntax", "net.ipv4.conf.all.rp_filter", "1@/etc/sysctl.d/50-syntax.conf:10"},
		{"syntax", "net.ipv4.conf.eth1.rp_filter", ""},
		{"syntax", "net.ipv4.conf.eth2.rp_filter", "0@/etc/sysctl.d/50-syntax.conf:12"},
		{"syntax", "net.ipv4.ip_local_port_range", "32768\t60999@/etc/sysctl.d/50-syntax.conf:13"},
		{"syntax", "kernel.core_pattern", "|/usr/bin/x # not a comment@/etc/sysctl.d/50-syntax.conf:14"},
		{"syntax", "net.ipv4.ip_forward", "1@/etc/sysctl.d/50-syntax.conf:15"},
		{"syntax", "net.ipv4.tcp_fin_timeout", "@/etc/sysctl.d/50-syntax.conf:16"},
		{"syntax", "net.ipv4.tcp_tw_reuse", "2@/etc/sysctl.d/60-crlf.conf:2"},
		{"links", "net.ipv4.ip_nonlocal_bind", "1@/usr/lib/sysctl.d/20-via-dir-link.conf:1"},
		{"links", "net.core.somaxconn", "512@/inside.conf:1"},
	}
	boots := map[string]*Boot{}
	for _, tt := range tests {
		b := boots[tt.tree]
		if b == nil {
			var err error
			if b, err = ReadBoot(fixtureRoot(t, tt.tree)); err != nil {
				t.Fatal(err)
			}
			boots[tt.tree] = b
		}
		got := ""
		if s, ok := b.Get(tt.name); ok {
			got = s.Value + "@" + s.Pos.String()
		}
		if got != tt.want {
			t.Errorf("%s: Get(%q) = %q, want %q", tt.tree, tt.name, got, tt.want)
		}
	}
}

// TestErrors checks that each broken line and file is reported where it is.
func TestErrors(t *testing.T) {
	tests := []struct {
		tree string
		want []string // "file:line: message prefix"
	}{
		{"syntax", []string{
			"/etc/sysctl.d/50-syntax.conf:17: line is not an assignment",
			"/etc/sysctl.d/50-syntax.conf:18: missing key name",
		}},
		{"links", []string{
			"/etc/sysctl.d/40-loop.conf: chase /etc/sysctl.d/40-loop.conf: too many levels of symbolic links",
			"/etc/sysctl.d/60-dir.conf: read /etc/sysctl.d/60-dir.conf: is a directory",
			"/etc/sysctl.d/70-link-to-dir.conf: read /etc: is a directory",
		}},
		{"debian", nil},
	}
	for _, tt := range tests {
		b, err := ReadBoot(fixtureRoot(t, tt.tree))
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Errors) != len(tt.want) {
			t.Errorf("%s: got %d errors %v, want %d", tt.tree, len(b.Errors), b.Errors, len(tt.want))
			continue
		}
		for i, e := range b.Errors {
			if !strings.HasPrefix(e.Error(), tt.want[i]) {
				t.Errorf("%s: error %d = %q, want prefix %q", tt.tree, i, e.Error(), tt.want[i])
			}
		}
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		want *assignment
		err  bool
	}{
		{"", nil, false},
		{"   \t", nil, false},
		{"# x = 1", nil, false},
		{"; x = 1", nil, false},
		{"\t# x", nil, false},
		{"a.b=1", &assignment{name: "a.b", key: "a/b", value: "1"}, false},
		{"  a.b  =  1 2  ", &assignment{name: "a.b", key: "a/b", value: "1 2"}, false},
		{"-a.b = 1", &assignment{name: "a.b", key: "a/b", value: "1"}, false},
		{"- a.b = 1", &assignment{name: "a.b", key: "a/b", value: "1"}, false},
		{"-a.b", &assignment{name: "a.b", key: "a/b", exclude: true}, false},
		{"a/b.c/d = x", &assignment{name: "a.b/c.d", key: "a/b.c/d", value: "x"}, false},
		{"a.b/c.d = x", &assignment{name: "a.b/c.d", key: "a/b.c/d", value: "x"}, false},
		{"/a//b/./c = x", &assignment{name: "a.b.c", key: "a/b/c", value: "x"}, false},
		{"a.b = x = y", &assignment{name: "a.b", key: "a/b", value: "x = y"}, false},
		{"a.b =", &assignment{name: "a.b", key: "a/b"}, false},
		{"a.*.c = 1", &assignment{name: "a.*.c", key: "a/*/c", value: "1"}, false},
		{"a.b", nil, true},
		{"= 1", nil, true},
		{"-", &assignment{}, true},
		{"-=1", nil, true},
	}
	for _, tt := range tests {
		got, err := parseLine(tt.line)
		if (err != nil) != tt.err {
			t.Errorf("parseLine(%q) error = %v, want error %v", tt.line, err, tt.err)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseLine(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestSplitLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"a\nb", []string{"a", "b"}},
		{"a\r\nb\r\n", []string{"a", "b"}},
		{"a\rb\x00c\n\nd", []string{"a", "b", "c", "", "d"}},
	}
	for _, tt := range tests {
		if got := parsers.SplitSystemdLines(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parsers.SplitSystemdLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestChase checks the resolver the whole package relies on to stay inside
// the root.
func TestChase(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "etc/real"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "etc/real/f"), []byte("x"), 0o644))
	must(os.Symlink("/etc/real", filepath.Join(dir, "etc/abs")))
	must(os.Symlink("../../../../etc/real", filepath.Join(dir, "etc/climb")))
	must(os.Symlink("b", filepath.Join(dir, "etc/a")))
	must(os.Symlink("a", filepath.Join(dir, "etc/b")))
	must(os.Symlink("/dev/null", filepath.Join(dir, "etc/null")))
	root := parsers.Root(dir)
	tests := []struct {
		name, want string
		err        error
	}{
		{"/etc/real/f", "/etc/real/f", nil},
		{"/etc/abs/f", "/etc/real/f", nil},
		{"/etc/climb/f", "/etc/real/f", nil},
		{"/../../etc/abs/../real/./f", "/etc/real/f", nil},
		{"/etc/a", "/etc/a", parsers.ErrLoop},
		{"/etc/null", "/dev/null", fs.ErrNotExist},
		{"/etc/abs/missing/x", "/etc/real/missing/x", fs.ErrNotExist},
	}
	for _, tt := range tests {
		got, err := root.Chase(tt.name)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("chase(%q) = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
	if _, err := root.Chase("relative"); err == nil {
		t.Error("chase of a relative name succeeded")
	}
}

// TestLiveRoot reads this machine's own configuration: it must not fail,
// and on a Debian host the 99-sysctl.conf link must bring in /etc/sysctl.conf.
func TestLiveRoot(t *testing.T) {
	b, err := ReadBoot("")
	if err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink("/etc/sysctl.d/99-sysctl.conf"); err == nil && target == "../sysctl.conf" {
		found := false
		for _, f := range b.Files {
			found = found || f == "/etc/sysctl.conf"
		}
		if !found {
			t.Errorf("files %v lack /etc/sysctl.conf although /etc/sysctl.d/99-sysctl.conf links to it", b.Files)
		}
	}
}

// FuzzParse feeds file contents to the line parser: it must not panic, and
// every key it keeps must be normalized and findable again.
func FuzzParse(f *testing.F) {
	err := filepath.WalkDir(testdataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil {
			f.Add(data)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := &Boot{Settings: map[string]Setting{}}
		b.parse("/f.conf", data)
		for k, s := range b.Settings {
			if k != s.Name || k == "" || dotted(s.key) != k {
				t.Fatalf("key %q holds %+v", k, s)
			}
			if strings.Contains(s.key, "//") || strings.HasPrefix(s.key, "/") || strings.HasSuffix(s.key, "/") {
				t.Fatalf("key %q is not normalized", s.key)
			}
			if s.Pos.File != "/f.conf" || s.Pos.Line < 1 {
				t.Fatalf("key %q has position %v", k, s.Pos)
			}
			// A name whose first separator is not what the form it
			// is written in says cannot be asked for in that form.
			name := k
			if normalize(k) != s.key {
				name = s.key
			}
			if normalize(name) != s.key {
				continue
			}
			got, ok := b.Get(name)
			if s.Exclude == ok || (ok && got.Value != s.Value) {
				t.Fatalf("Get(%q) = %+v, %v for %+v", name, got, ok, s)
			}
		}
		for _, e := range b.Errors {
			if e.Pos.Line < 1 {
				t.Fatalf("error without a line: %v", e)
			}
		}
	})
}
