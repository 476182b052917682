package checks_test

import (
	"testing"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/cmd/lbdbench/fixture"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/haproxy"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/keepalived"
	"github.com/lbdoctor/lbdoctor/parsers/nginx"
)

// benchInput parses lbdbench's fixture at scale s (at 1: 24,000 listeners
// on 2,000 VIPs, half of them held by the snapshot's node) into the input
// "lbdoctor check --root FIXTURE --host SNAPSHOT" gives the checks.
func benchInput(b *testing.B, s float64) *checks.Input {
	b.Helper()
	f, err := fixture.Write(b.TempDir(), s)
	if err != nil {
		b.Fatal(err)
	}
	root := parsers.Root(f.Root)
	ngx, err := nginx.Parse("/etc/nginx/nginx.conf", nginx.Options{Root: root})
	if err != nil {
		b.Fatal(err)
	}
	hap, err := haproxy.Parse([]string{"/etc/haproxy/haproxy.cfg"}, haproxy.Options{Root: root})
	if err != nil {
		b.Fatal(err)
	}
	ka, err := keepalived.Parse("/etc/keepalived/keepalived.conf", keepalived.Options{Root: root})
	if err != nil {
		b.Fatal(err)
	}
	facts, err := host.Load(f.HostYAML())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []*parsers.Config{ngx, hap, ka} {
		if len(c.Errors) > 0 {
			b.Fatalf("%s: %v", c.Service, c.Errors[0])
		}
	}
	if n := len(ngx.Listeners) + len(hap.Listeners); n != f.Listens+f.Binds {
		b.Fatalf("%d listeners, want %d", n, f.Listens+f.Binds)
	}
	return &checks.Input{
		Services: []checks.Service{
			{Name: "nginx", Path: "/etc/nginx/nginx.conf", Config: ngx},
			{Name: "haproxy", Path: "/etc/haproxy/haproxy.cfg", Config: hap},
			{Name: "keepalived", Path: "/etc/keepalived/keepalived.conf", Config: ka},
		},
		Host: facts,
		Role: checks.RoleCurrent,
	}
}

// BenchmarkRun runs every check over lbdbench's fixture at scale 1 and 2:
// the time per op should double, not quadruple.
func BenchmarkRun(b *testing.B) {
	for _, bc := range []struct {
		name  string
		scale float64
	}{{"1x", 1}, {"2x", 2}} {
		b.Run(bc.name, func(b *testing.B) {
			in := benchInput(b, bc.scale)
			all := checks.All()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res, err := checks.Run(in, all)
				if err != nil {
					b.Fatal(err)
				}
				// Every listener is on a VIP: held ones warn, the others fail.
				if got := len(res.Findings); got < len(in.Listeners()) {
					b.Fatalf("%d findings for %d listeners", got, len(in.Listeners()))
				}
			}
		})
	}
}
