// Command lbdoctor tells whether nginx and HAProxy on a load-balancer host
// would bind their listen addresses, now, on the BACKUP node, and after a
// failover, and how to fix what would fail.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/lbdoctor/lbdoctor/report"
)

// Exit codes of the contract.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

func main() {
	// lbdoctor is a short-lived batch run: trading some memory for fewer
	// collections makes the biggest configs about 15% faster and still
	// stays below nginx -t's own peak (make bench).
	debug.SetGCPercent(400)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole CLI; only main calls os.Exit, so tests call run.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
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
	case "cluster":
		return runCluster(args[1:], stdout, stderr)
	case "completion":
		return runCompletion(args[1:], stdout, stderr)
	case "man":
		return runMan(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "lbdoctor", version())
		return exitOK
	case "help", "-h", "--help":
		printUsage(stdout)
		return exitOK
	}
	fmt.Fprintf(stderr, "lbdoctor: unknown command %q\n\n", args[0])
	printUsage(stderr)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "lbdoctor: would these load-balancer services bind?\n\nUsage:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  lbdoctor %-30s %s\n", c.name+" "+c.args, firstSentence(c.summary))
	}
	fmt.Fprint(w, "\nRun \"lbdoctor COMMAND -h\" for a command's flags.\n")
}

// fail prints an error of a subcommand. Errors can quote config text, so
// each line is escaped like the report's text before it reaches the
// terminal.
func fail(stderr io.Writer, cmd string, err error) {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = report.Clean(l)
	}
	fmt.Fprintf(stderr, "lbdoctor %s: %s\n", cmd, strings.Join(lines, "\n"))
}

// parseFlags parses a subcommand's flags; when ok is false the command
// stops with code: 0 after -h, 2 for a bad flag or a stray argument.
func parseFlags(fl *flag.FlagSet, name string, args []string, stderr io.Writer) (code int, ok bool) {
	fl.SetOutput(stderr)
	fl.Usage = func() { usageOf(stderr, name, fl) }
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "lbdoctor %s: unexpected argument %q\n", name, report.Clean(fl.Arg(0)))
		return exitUsage, false
	}
	return exitOK, true
}

// flagsSet names the flags given on the command line, which win over the
// config file.
func flagsSet(fl *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
