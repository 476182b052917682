package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the connection helper and the
// spawner, as lbdbench itself does: the benchmark starts os.Executable()
// with connsHelperCmd and spawnHelperCmd.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == connsHelperCmd {
		os.Exit(connsHelper(os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == spawnHelperCmd {
		os.Exit(spawnHelper(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole benchmark at a tiny size, once: the fixture,
// lbdoctor against nginx -t and haproxy -c in a namespace, and the host
// gathering against ss on a host with 1,000 connections. It checks that
// the benchmark works and prints its tables, not how fast anything is:
// "make bench" measures.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("TestSmoke builds lbdoctor and runs nginx and HAProxy in a network namespace: skipped with -short")
	}
	if why := missingTools(); why != "" {
		t.Skipf("TestSmoke SKIPPED: %s (the benchmark runs the daemons in a network namespace)", why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errs bytes.Buffer
	if code := run(ctx, []string{"-smoke", "-out", t.TempDir()}, &out, &errs); code != 0 {
		t.Fatalf("lbdbench -smoke: exit %d\n%s\n%s", code, out.String(), errs.String())
	}
	t.Logf("\n%s", out.String())
	for _, want := range []string{
		`(?m)^0\.005x +50 +10 +100 +10 +10 +20 +2 +120 listeners: \d+ errors, \d+ warnings$`,
		`(?m)^ +0\.005x +[\d.]+ ms \([\d.]+ ms\) +\d+ MiB +[\d.]+ ms .* [\d.]+ (ok|MISSED) +[\d.]+ (ok|MISSED)$`,
		`1000 established loopback connections \(2000 sockets\) held by 1 processes`,
		`(?m)^ +[\d.]+ ms \([\d.]+ ms\) +\d+ MiB +[\d.]+ ms \([\d.]+ ms\) +\d+ MiB +[\d.]+ (ok|MISSED)$`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("output does not match %s", want)
		}
	}
}

// TestFlags refuses what it cannot measure.
func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-scale", "0"}, {"-scale", "x"}, {"-runs", "0"}, {"-conns", "-1"}, {"-bogus"}} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("lbdbench %v: exit %d, want 2\n%s", args, code, errs.String())
		}
	}
}

func TestParseScales(t *testing.T) {
	got, err := parseScales("1, 2,4,0.5")
	if err != nil || len(got) != 4 || got[0] != 1 || got[1] != 2 || got[2] != 4 || got[3] != 0.5 {
		t.Errorf("parseScales = %v, %v", got, err)
	}
}
