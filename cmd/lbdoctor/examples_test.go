package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCIExamples runs every lbdoctor command of examples/ci in a checkout
// laid out as the examples expect: rendered/ holds the demo's configs and
// hosts/ the snapshots. The commands must do the job (exit 0 or 1, never 2)
// and print the format they ask for.
func TestCIExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "ci", "*.yml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("want the three CI examples, got %v (%v)", files, err)
	}
	work := t.TempDir()
	demo, err := filepath.Abs(filepath.Join("..", "..", "testdata", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.Symlink(filepath.Join(demo, "lb2"), filepath.Join(work, "rendered")))
	must(t, os.MkdirAll(filepath.Join(work, "hosts"), 0o755))
	for _, n := range []string{"lb1", "lb2"} {
		must(t, os.Symlink(filepath.Join(demo, "lb2.host.yaml"), filepath.Join(work, "hosts", n+".host.yaml")))
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	cmdRe := regexp.MustCompile(`lbdoctor (check[^>\n]*)`)
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(wd, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cmdRe.FindAllStringSubmatch(string(data), -1) {
			n++
			args := strings.Fields(m[1])
			var out, errb bytes.Buffer
			code := run(args, &out, &errb)
			if code != exitOK && code != exitFindings {
				t.Errorf("%s: lbdoctor %s: exit %d: %s", filepath.Base(f), m[1], code, errb.String())
			}
			if out.Len() == 0 {
				t.Errorf("%s: lbdoctor %s printed nothing", filepath.Base(f), m[1])
			}
		}
	}
	if n < 6 {
		t.Errorf("found %d lbdoctor commands in the examples, want at least 6", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
