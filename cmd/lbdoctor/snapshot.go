package main

import (
	"flag"
	"io"

	"github.com/lbdoctor/lbdoctor/checks/node"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

func snapshotFlagSet(f *checkFlags, out *string, withConfigs *bool) *flag.FlagSet {
	fl := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	addServiceFlags(fl, f)
	fl.StringVar(out, "o", "", "write the snapshot to `FILE` instead of stdout")
	fl.Var((*listFlag)(&f.Hosts), "host", "take the facts from a snapshot `FILE` instead of the live host (with --root: a bundle of a rendered tree)")
	fl.BoolVar(withConfigs, "with-configs", false, "a bundle: also carry every file judging this node reads (keys and certificates left out, passwords digested), for check --host and cluster")
	return fl
}

func runSnapshot(args []string, stdout, stderr io.Writer) int {
	var f checkFlags
	var out string
	var withConfigs bool
	fl := snapshotFlagSet(&f, &out, &withConfigs)
	if code, ok := parseFlags(fl, "snapshot", args, stderr); !ok {
		return code
	}
	facts, err := node.Snapshot(f.Options, withConfigs, stderr)
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
