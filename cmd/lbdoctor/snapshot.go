package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lbdoctor/lbdoctor/parsers/host"
)

func runSnapshot(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	fl.SetOutput(stderr)
	out := fl.String("o", "", "write the snapshot to `FILE` instead of stdout")
	fl.Usage = func() {
		fmt.Fprint(stderr, "Usage: lbdoctor snapshot [-o FILE]\n\nWrite this host's addresses, local routes, sysctls and listening sockets as YAML,\nfor \"lbdoctor check --host FILE\" elsewhere.\n\nFlags:\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	facts, err := host.Gather()
	if err != nil {
		fmt.Fprintf(stderr, "lbdoctor snapshot: %v\n", err)
		return exitUsage
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "lbdoctor snapshot: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		w = f
	}
	if err := host.Write(w, facts); err != nil {
		fmt.Fprintf(stderr, "lbdoctor snapshot: %v\n", err)
		return exitUsage
	}
	return exitOK
}
