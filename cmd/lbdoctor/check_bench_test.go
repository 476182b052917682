package main

import (
	"io"
	"testing"

	"github.com/lbdoctor/lbdoctor/cmd/lbdbench/fixture"
)

// BenchmarkCheck is "lbdoctor check --root FIXTURE --host SNAPSHOT" in
// process, on lbdbench's fixture at scale 1 (10,000 nginx server blocks in
// 2,000 files, 2,000 HAProxy frontends, 250 keepalived instances): reading,
// parsing, every check and the text report. "go run ./cmd/lbdbench" times
// the same against the daemons.
func BenchmarkCheck(b *testing.B) {
	f, err := fixture.Write(b.TempDir(), 1)
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"check", "--no-color", "--root", f.Root, "--host", f.HostYAML()}
	b.ReportAllocs()
	for b.Loop() {
		if code := run(args, io.Discard, io.Discard); code != exitFindings {
			b.Fatalf("exit code %d, want %d", code, exitFindings)
		}
	}
}

// BenchmarkCheckJSON is BenchmarkCheck with --json.
func BenchmarkCheckJSON(b *testing.B) {
	f, err := fixture.Write(b.TempDir(), 1)
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"check", "--json", "--root", f.Root, "--host", f.HostYAML()}
	b.ReportAllocs()
	for b.Loop() {
		if code := run(args, io.Discard, io.Discard); code != exitFindings {
			b.Fatalf("exit code %d, want %d", code, exitFindings)
		}
	}
}
