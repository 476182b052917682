package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/checks/node"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/report"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// moreFlag is the repeatable flag of one of node.MoreServices: its paths
// go to m[name].
type moreFlag struct {
	m    map[string][]string
	name string
}

func (m moreFlag) String() string {
	if m.m == nil {
		return ""
	}
	return strings.Join(m.m[m.name], ",")
}
func (m moreFlag) Set(v string) error { m.m[m.name] = append(m.m[m.name], v); return nil }

// checkFlags are the flags of check and its siblings: what to judge (the
// pipeline's options) and how to print it.
type checkFlags struct {
	node.Options
	format, failOn, config string
	output                 string
	json, noColor          bool
	quiet, showIgnored     bool
}

// checkFlagSet is check's flags; completion and the man page read it too.
func checkFlagSet(f *checkFlags) *flag.FlagSet {
	fl := flag.NewFlagSet("check", flag.ContinueOnError)
	addConfigFlags(fl, f)
	fl.BoolVar(&f.json, "json", false, "machine output on stdout (same as --format json)")
	fl.StringVar(&f.format, "format", "text", "output format: text, json, sarif, github, junit or prometheus (node_exporter's textfile collector)")
	fl.StringVar(&f.output, "o", "", "write the output to `FILE` (atomically: a temporary file renamed over it) instead of stdout")
	fl.BoolVar(&f.noColor, "no-color", false, "plain text, no colour")
	fl.StringVar(&f.failOn, "fail-on", "error", "severity that makes the exit code 1: error, warning or never")
	fl.BoolVar(&f.quiet, "quiet", false, "text: print only failing listeners and findings")
	fl.BoolVar(&f.showIgnored, "show-ignored", false, "text: also print the findings that ignores silenced")
	fl.BoolVar(&f.Probe, "probe", false, "also ask the kernel: bind() each listen address on port 0 and trust its answer")
	return fl
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	start := time.Now()
	var f checkFlags
	fl := checkFlagSet(&f)
	if code, ok := parseFlags(fl, "check", args, stderr); !ok {
		return code
	}
	err := applyConfig(&f, flagsSet(fl))
	code := exitOK
	if err == nil {
		code, err = check(f, start, stdout, stderr)
	}
	if err != nil {
		fail(stderr, "check", err)
		// The textfile still says that the check broke, so that an alert
		// fires: unless writing it is what failed.
		if formatOf(f) == "prometheus" && !errors.As(err, new(outputError)) {
			if err := output(f, "prometheus", stdout, report.PrometheusRun{Start: start, Duration: time.Since(start), Version: version()}, nil); err != nil {
				fail(stderr, "check", err)
			}
		}
		return exitUsage
	}
	return code
}

// addServiceFlags registers the flags that say which configs to read.
func addServiceFlags(fl *flag.FlagSet, f *checkFlags) {
	fl.Var((*listFlag)(&f.Nginx), "nginx", "an nginx main config `PATH` (repeatable; default: autodetect)")
	fl.Var((*listFlag)(&f.HAProxy), "haproxy", "an haproxy config file or directory `PATH` (repeatable, like haproxy -f)")
	fl.Var((*listFlag)(&f.Keepalived), "keepalived", "a keepalived config `PATH`")
	fl.Var((*listFlag)(&f.Containers), "container", "a container definition `FILE`: docker/podman inspect JSON, a Compose file, a quadlet .container or a Kubernetes pod manifest (repeatable); its nginx, HAProxy or keepalived config is read from the bind mount's host path")
	f.More = map[string][]string{}
	for _, k := range node.MoreServices() {
		fl.Var(moreFlag{f.More, k.Name}, k.Name, k.Help)
	}
	fl.StringVar(&f.Root, "root", "", "read the configuration as if `DIR` were /")
	fl.Var((*listFlag)(&f.EnvFiles), "env", "HAProxy's environment: a `FILE` of KEY=value lines, as systemd's EnvironmentFile= (repeatable; after /etc/default/haproxy and /etc/sysconfig/haproxy)")
	fl.StringVar(&f.KeepalivedID, "keepalived-id", "", "keepalived's config `ID` for @ID conditional lines (default: the judged host's name up to the first dot)")
	fl.StringVar(&f.HAProxyVersion, "haproxy-version", "", "the HAProxy `VERSION` that will read the config, for .if version_atleast() (default: the installed haproxy's, when judging this machine)")
}

// addConfigFlags registers the flags that say what to judge, shared by
// check and fix.
func addConfigFlags(fl *flag.FlagSet, f *checkFlags) {
	addServiceFlags(fl, f)
	fl.Var((*listFlag)(&f.Hosts), "host", "judge against the host described by a snapshot `FILE` instead of the live host (repeatable: each node of a pair)")
	fl.StringVar(&f.Role, "role", "current", "where keepalived VIPs are: current, backup, master or both")
	fl.StringVar(&f.Checks, "checks", "all", "checks to run, staticcheck style: `LIST` like all,-LBD203,LBD4*")
	fl.StringVar(&f.config, "config", "", "read settings from `FILE` (default: .lbdoctor.yaml in the working directory, if any)")
}

// formatOf is the output format asked for; --json wins over --format.
func formatOf(f checkFlags) string {
	if f.json {
		return "json"
	}
	return f.format
}

// parseFailOn reads --fail-on: the severity that fails the run, 0 for
// "never".
func parseFailOn(s string) (checks.Severity, error) {
	if s == "never" {
		return 0, nil
	}
	sev, err := checks.ParseSeverity(s)
	if err != nil || sev == checks.Info {
		return 0, fmt.Errorf("unknown --fail-on %q (want error, warning or never)", s)
	}
	return sev, nil
}

func check(f checkFlags, start time.Time, stdout, stderr io.Writer) (int, error) {
	format := formatOf(f)
	switch format {
	case "text", "json", "sarif", "github", "junit", "prometheus":
	default:
		return 0, fmt.Errorf("unknown format %q (want text, json, sarif, github, junit or prometheus)", format)
	}
	failOn, err := parseFailOn(f.failOn)
	if err != nil {
		return 0, err
	}
	results, err := node.Evaluate(f.Options, stderr)
	if err != nil {
		return 0, err
	}
	run := report.PrometheusRun{Results: results, Up: true, Start: start, Duration: time.Since(start), Version: version()}
	if err := output(f, format, stdout, run, results); err != nil {
		return 0, err
	}
	for _, res := range results {
		if failOn != 0 && res.Worst() >= failOn {
			return exitFindings, nil
		}
	}
	return exitOK, nil
}

// output writes the report to stdout, or with -o to that file, atomically:
// prometheus through the client library's prometheus.WriteToTextfile, the
// other formats through writeAtomic. run is what the prometheus format
// shows.
func output(f checkFlags, format string, stdout io.Writer, run report.PrometheusRun, results []*checks.Result) error {
	var err error
	switch {
	case format == "prometheus" && f.output != "":
		err = prometheus.WriteToTextfile(f.output, report.PrometheusRegistry(run))
	case format == "prometheus":
		err = report.Prometheus(stdout, run)
	case f.output != "":
		err = writeAtomic(f.output, func(w io.Writer) error { return write(w, format, f, results) })
	default:
		err = write(stdout, format, f, results)
	}
	if err != nil {
		if f.output != "" {
			err = fmt.Errorf("-o %s: %w", f.output, err)
		}
		return outputError{err}
	}
	return nil
}

// write prints the results in format. Text and JSON print one report per
// host, the JSON ones as a stream of lbdoctor/v1 documents; the other
// formats merge them into one document.
func write(w io.Writer, format string, f checkFlags, results []*checks.Result) error {
	switch format {
	case "sarif":
		return report.SARIF(w, version(), results...)
	case "github":
		return report.GitHub(w, results...)
	case "junit":
		return report.JUnit(w, results...)
	}
	for i, res := range results {
		var err error
		if format == "json" {
			err = report.JSON(w, res)
		} else {
			if i > 0 {
				fmt.Fprintln(w)
			}
			err = report.Text(w, res, report.TextOptions{Color: useColor(f.noColor, w), Quiet: f.quiet, ShowIgnored: f.showIgnored})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// useColor follows the conventions: no colour with --no-color, with
// NO_COLOR set, or when stdout is not a terminal (a character device such
// as /dev/null is not one: it must answer a terminal ioctl).
func useColor(noColor bool, w io.Writer) bool {
	if noColor || os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// applyConfig fills the settings no flag set from .lbdoctor.yaml (or
// --config).
func applyConfig(f *checkFlags, set map[string]bool) error {
	cfg, path, err := loadConfig(f.config)
	if err != nil {
		return err
	}
	if path == "" {
		return nil
	}
	named := set["nginx"] || set["haproxy"] || set["keepalived"]
	for _, k := range node.MoreServices() {
		named = named || set[k.Name]
	}
	if !named {
		f.Nginx, f.HAProxy, f.Keepalived = cfg.Nginx, cfg.HAProxy, cfg.Keepalived
		f.More = map[string][]string{"apache": cfg.Apache, "postgresql": cfg.PostgreSQL, "redis": cfg.Redis, "envoy": cfg.Envoy, parsers.SocketService: cfg.SystemdSocket}
	}
	f.Declared, f.DeclaredIn = cfg.Services, path
	str := func(name string, dst *string, v string) {
		if !set[name] && v != "" {
			*dst = v
		}
	}
	str("root", &f.Root, cfg.Root)
	if !set["host"] {
		if cfg.Host != "" {
			f.Hosts = append(f.Hosts, cfg.Host)
		}
		f.Hosts = append(f.Hosts, cfg.Hosts...)
	}
	str("role", &f.Role, cfg.Role)
	str("fail-on", &f.failOn, cfg.FailOn)
	str("checks", &f.Checks, cfg.Checks)
	if !set["json"] {
		str("format", &f.format, cfg.Format)
	}
	f.Severity = map[string]checks.Severity{}
	for id, v := range cfg.Severity {
		if checks.ByID(id) == nil {
			return fmt.Errorf("%s: severity: unknown check %q", path, id)
		}
		sev, err := checks.ParseSeverity(v)
		if err != nil {
			return fmt.Errorf("%s: severity of %s: %w", path, id, err)
		}
		f.Severity[id] = sev
	}
	for _, ig := range cfg.Ignore {
		f.Suppress = append(f.Suppress, checks.Suppression{ID: ig.ID, Path: ig.Path, Address: ig.Address, Reason: ig.Reason})
	}
	return nil
}
