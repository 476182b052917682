package container

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdataDir = "../../testdata/parsers/container"

// golden is what a golden file holds for one container: the definition as
// read, and what lbdoctor derives from it.
type golden struct {
	*Container
	Daemon          string   `json:"daemon"`
	ConfigPath      string   `json:"config_path"`
	ConfigHostPath  string   `json:"config_host_path"`
	RunsAsRoot      bool     `json:"runs_as_root"`
	Bounding        []string `json:"bounding_caps"`
	NetBindService  bool     `json:"net_bind_service"`
	NetAdmin        bool     `json:"net_admin"`
	PortStart       int      `json:"unprivileged_port_start"`
	PortStartSource string   `json:"unprivileged_port_start_from"`
}

// TestGolden reads each definition under testdata/parsers/container and
// compares the result with NAME.golden.json.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdataDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			abs, err := filepath.Abs(testdataDir)
			if err != nil {
				t.Fatal(err)
			}
			cs, err := ParseFile(parsers.Root(abs), "/"+filepath.Base(f))
			if err != nil {
				t.Fatal(err)
			}
			var out []golden
			for _, c := range cs {
				start, from := c.UnprivilegedPortStart(1024)
				out = append(out, golden{c, c.Daemon(), c.ConfigPath(), c.HostPath(c.ConfigPath()), c.RunsAsRoot(), c.BoundingCaps(),
					c.HasCap("NET_BIND_SERVICE"), c.HasCap("CAP_NET_ADMIN"), start, from})
			}
			got, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			want := f + ".golden.json"
			if *update {
				if err := os.WriteFile(want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, w) {
				t.Errorf("%s differs from the result; run with -update and review the diff.\ngot:\n%s", want, got)
			}
		})
	}
	if n < 5 {
		t.Errorf("only %d definitions under %s", n, testdataDir)
	}
}

// FuzzParse feeds ParseFile arbitrary definitions; it must not panic.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testdataDir, "*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && !strings.HasSuffix(p, ".golden.json") {
			f.Add(filepath.Ext(p), b)
		}
	}
	f.Fuzz(func(t *testing.T, ext string, data []byte) {
		cs, _ := parseData(parsers.Root(""), "/def"+ext, data)
		for _, c := range cs {
			c.HasCap("NET_BIND_SERVICE")
			c.UnprivilegedPortStart(1024)
			c.HostPath(c.ConfigPath())
			c.BoundingCaps()
		}
	})
}
