package envoy

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/parsertest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdata = "../../testdata/parsers/envoy"

var mains = []string{"/etc/envoy/envoy.yaml", "/etc/envoy/envoy.json"}

func parse(root parsers.Root, main string) (*parsers.Config, error) {
	return Parse(main, Options{Root: root})
}

// TestGolden pins the parse of each tree under testdata/parsers/envoy:
// the docs' front proxy (additional_addresses, UDP, ipv4_compat, admin),
// JSON, the options that bind non-local, what Envoy refuses, pipes.
func TestGolden(t *testing.T) { parsertest.RunGolden(t, testdata, mains, parse, *update) }

// TestOptions pins the socket options on the listeners.
func TestOptions(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join(testdata, "options"))
	cfg, err := Parse("/etc/envoy/envoy.yaml", Options{Root: parsers.Root(root)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"10.0.0.100": true, "10.0.0.101": true, "10.0.0.102": true, "10.0.0.103": false, "10.0.0.5": false}
	for _, l := range cfg.Listeners {
		if l.Transparent != want[l.Address()] {
			t.Errorf("%s (%s): transparent %v", l.Address(), l.Context, l.Transparent)
		}
		if !l.ReusePort {
			t.Errorf("%s: enable_reuse_port defaults to true", l.Address())
		}
	}
	root, _ = filepath.Abs(filepath.Join(testdata, "json"))
	cfg, err = Parse("/etc/envoy/envoy.json", Options{Root: parsers.Root(root)})
	if err != nil || len(cfg.Listeners) != 2 {
		t.Fatalf("json: %v %+v", err, cfg)
	}
	if cfg.Listeners[0].ReusePort {
		t.Error("enable_reuse_port: false still reuses the port")
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(testdata, "*", "etc", "envoy", "envoy.*"))
	f.Add("static_resources: {listeners: [{name: a, address: {socket_address: {address: '::', port_value: 1, ipv4_compat: true}}, additional_addresses: [{address: {pipe: {path: /x}}}]}]}")
	f.Add("a: &x {b: 1}\nstatic_resources: {listeners: *x}\n")
	parsertest.Fuzz(f, seeds, "/etc/envoy/envoy.yaml", nil, parse)
}
