package keepalived_test

import (
	"testing"

	"github.com/lbdoctor/lbdoctor/cmd/lbdbench/fixture"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/keepalived"
)

// BenchmarkParse reads lbdbench's keepalived.conf at scale 1: 250
// vrrp_instances holding 2,000 VIPs.
func BenchmarkParse(b *testing.B) {
	f, err := fixture.Write(b.TempDir(), 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cfg, err := keepalived.Parse("/etc/keepalived/keepalived.conf", keepalived.Options{Root: parsers.Root(f.Root)})
		if err != nil || len(cfg.VRRP) != f.Instances || len(cfg.Errors) != 0 {
			b.Fatalf("%v: %d instances, errors %v", err, len(cfg.VRRP), cfg.Errors)
		}
	}
}
