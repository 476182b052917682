package main

import (
	"bytes"
	"flag"
	"io"
	"os"

	"github.com/lbdoctor/lbdoctor/checks/node"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

func snapshotFlagSet(f *checkFlags, out *string) *flag.FlagSet {
	fl := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	addServiceFlags(fl, f)
	fl.StringVar(out, "o", "", "write the snapshot to `FILE` instead of stdout")
	return fl
}

func runSnapshot(args []string, stdout, stderr io.Writer) int {
	var f checkFlags
	var out string
	fl := snapshotFlagSet(&f, &out)
	if code, ok := parseFlags(fl, "snapshot", args, stderr); !ok {
		return code
	}
	// The configs found tell which unix socket directories to record; a
	// host without any config is still worth a snapshot.
	hostname := func() string { name, _ := os.Hostname(); return name }
	services, err := node.LoadServices(f.Options, parsers.Root(f.Root), hostname)
	if err != nil && (len(f.Nginx)+len(f.HAProxy)+len(f.Keepalived) > 0) {
		fail(stderr, "snapshot", err)
		return exitUsage
	}
	facts, err := node.Gather(services, parsers.Root(f.Root), stderr)
	if err != nil {
		fail(stderr, "snapshot", err)
		return exitUsage
	}
	if out == "" {
		if err := host.Write(stdout, facts); err != nil {
			fail(stderr, "snapshot", err)
			return exitUsage
		}
		return exitOK
	}
	var b bytes.Buffer
	if err := host.Write(&b, facts); err != nil {
		fail(stderr, "snapshot", err)
		return exitUsage
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		fail(stderr, "snapshot", err)
		return exitUsage
	}
	return exitOK
}
