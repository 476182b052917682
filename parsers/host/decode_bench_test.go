package host_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/lbdoctor/lbdoctor/cmd/lbdbench/fixture"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// BenchmarkDecode reads the host snapshot of lbdbench's fixture at scale
// 1: a node holding 1,000 VIPs, with their local routes and the nginx and
// HAProxy sockets on them.
func BenchmarkDecode(b *testing.B) {
	f, err := fixture.Write(b.TempDir(), 1)
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(f.HostYAML())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		h, err := host.Decode(bytes.NewReader(data), "lb1.host.yaml")
		if err != nil || len(h.Routes) < f.HeldVIPs {
			b.Fatalf("%v: %d routes", err, len(h.Routes))
		}
	}
}
