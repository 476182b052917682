// Command lbdoctor tells whether nginx and HAProxy on a load-balancer host
// would bind their listen addresses, now, on the BACKUP node, and after a
// failover, and how to fix what would fail.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes of the contract.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `lbdoctor: would these load-balancer services bind?

Usage:
  lbdoctor check [flags]          the main job: would these services bind?
  lbdoctor fix [flags] [--write]  print (or, with --write, write) the files that fix the findings
  lbdoctor explain ID|"LOG LINE"  what a finding ID means, or diagnose a pasted error line
  lbdoctor list                   every check with its ID, severity and title
  lbdoctor snapshot [flags]       write this host's facts as YAML, for checks elsewhere
  lbdoctor version

Run "lbdoctor COMMAND -h" for a command's flags.
`

// run is the whole CLI; only main calls os.Exit, so tests call run.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "fix":
		return runFix(args[1:], stdout, stderr)
	case "explain":
		return runExplain(args[1:], stdout, stderr)
	case "list":
		return runList(args[1:], stdout, stderr)
	case "snapshot":
		return runSnapshot(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "lbdoctor", version())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "lbdoctor: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}
