package main

import (
	"flag"
	"io"
	"os"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

func snapshotFlagSet(f *checkFlags, out *string) *flag.FlagSet {
	fl := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	addServiceFlags(fl, f)
	fl.StringVar(out, "o", "", "write the snapshot to `FILE` (atomically) instead of stdout")
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
	services, _, err := loadServices(f, parsers.Root(f.root), hostname)
	if err != nil && f.namedServices() > 0 {
		fail(stderr, "snapshot", err)
		return exitUsage
	}
	facts, err := gatherFor(services, parsers.Root(f.root), stderr)
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
	if err := writeAtomic(out, func(w io.Writer) error { return host.Write(w, facts) }); err != nil {
		fail(stderr, "snapshot", err)
		return exitUsage
	}
	return exitOK
}
