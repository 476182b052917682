package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/checks/node"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/report"
)

// clusterFlagSet is cluster's flags: check's output and policy flags.
func clusterFlagSet(f *checkFlags, out *string, unreachable *[]string) *flag.FlagSet {
	fl := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fl.StringVar(&f.Role, "role", "both", "where keepalived VIPs are on each node: both (default: a node failing in either role fails), current, backup or master")
	fl.StringVar(&f.Checks, "checks", "all", "checks to run, staticcheck style: `LIST` like all,-LBD203,LBD5*")
	fl.StringVar(&f.config, "config", "", "read settings from `FILE` (default: .lbdoctor.yaml in the working directory, if any)")
	fl.BoolVar(&f.json, "json", false, "machine output on stdout (same as --format json)")
	fl.StringVar(&f.format, "format", "text", "output format: text, json, sarif, github, junit or prometheus (node_exporter's textfile collector)")
	fl.Var((*listFlag)(unreachable), "unreachable", "a `HOST` that gave no bundle (repeatable): listed as unreachable in the fleet summary, never judged")
	fl.StringVar(out, "o", "", "write the output to `FILE` (atomically) instead of stdout")
	fl.BoolVar(&f.noColor, "no-color", false, "plain text, no colour")
	fl.StringVar(&f.failOn, "fail-on", "error", "severity that makes the exit code 1: error, warning or never")
	fl.BoolVar(&f.quiet, "quiet", false, "text: print only failing listeners and findings")
	fl.BoolVar(&f.showIgnored, "show-ignored", false, "text: also print the findings that ignores silenced")
	return fl
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments, which it returns.
func parseInterleaved(fl *flag.FlagSet, name string, args []string, stderr io.Writer) (pos []string, code int, ok bool) {
	fl.SetOutput(stderr)
	fl.Usage = func() { usageOf(stderr, name, fl) }
	for {
		if err := fl.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		args = fl.Args()
		if len(args) == 0 {
			return pos, exitOK, true
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), exitOK, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runCluster(args []string, stdout, stderr io.Writer) int {
	start := time.Now()
	var f checkFlags
	var out string
	var unreachable []string
	fl := clusterFlagSet(&f, &out, &unreachable)
	bundles, code, ok := parseInterleaved(fl, "cluster", args, stderr)
	if !ok {
		return code
	}
	// broke says that lbdoctor could not do the job; the textfile says so
	// too, so that an alert fires, unless writing it is what failed.
	broke := func(err error) int {
		fail(stderr, "cluster", err)
		if formatOf(f) == "prometheus" && !errors.As(err, new(outputError)) {
			run := report.PrometheusClusterRun{Start: start, Duration: time.Since(start), Version: version()}
			var werr error
			if out != "" {
				werr = prometheus.WriteToTextfile(out, report.PrometheusClusterRegistry(run))
			} else {
				werr = report.PrometheusCluster(stdout, run)
			}
			if werr != nil {
				fail(stderr, "cluster", outputError{werr})
			}
		}
		return exitUsage
	}
	set := flagsSet(fl)
	if err := applyConfig(&f, set); err != nil {
		return broke(err)
	}
	// The bundles carry each node's configs: .lbdoctor.yaml's config paths
	// and root are check's, and its host/hosts list bundles when the
	// command line gives none.
	if len(bundles) == 0 {
		bundles = f.Hosts
	}
	f.Nginx, f.HAProxy, f.Keepalived, f.Root, f.Hosts = nil, nil, nil, "", nil
	if len(bundles) == 0 {
		fmt.Fprintln(stderr, "lbdoctor cluster: no bundle given; make one on each node with lbdoctor snapshot --with-configs -o NODE.yaml")
		usageOf(stderr, "cluster", fl)
		return exitUsage
	}
	code, err := cluster(f, out, bundles, unreachable, start, stdout, stderr)
	if err != nil {
		return broke(err)
	}
	return code
}

func cluster(f checkFlags, out string, bundles, unreachable []string, start time.Time, stdout, stderr io.Writer) (int, error) {
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
	role, err := checks.ParseRole(f.Role)
	if err != nil {
		return 0, err
	}
	selected, err := checks.Select(checks.All(), f.Checks)
	if err != nil {
		return 0, fmt.Errorf("--checks: %w", err)
	}
	var nodes []*checks.Node
	seen := map[string]string{}
	for _, b := range bundles {
		facts, err := host.Load(b)
		if err != nil {
			return 0, err
		}
		if !facts.IsBundle() {
			return 0, fmt.Errorf("%s is a snapshot without configs; make a bundle on the node with lbdoctor snapshot --with-configs", b)
		}
		if other, ok := seen[facts.Hostname]; ok {
			return 0, fmt.Errorf("%s and %s are both bundles of host %q", other, b, facts.Hostname)
		}
		seen[facts.Hostname] = b
		o := f.Options
		o.Hosts = []string{b}
		results, err := node.Evaluate(o, stderr)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", b, err)
		}
		res := results[0]
		nodes = append(nodes, &checks.Node{Name: facts.Hostname, Source: b, Input: res.Input, Result: res})
	}
	clusters, err := checks.RunCluster(nodes, selected)
	if err != nil {
		return 0, err
	}
	for _, u := range unreachable {
		if b, ok := seen[u]; ok {
			return 0, fmt.Errorf("--unreachable %s: %s is a bundle of that host", u, b)
		}
	}
	if format == "prometheus" {
		run := report.PrometheusClusterRun{Clusters: clusters, Unreachable: unreachable, Up: true, Start: start, Duration: time.Since(start), Version: version()}
		if out != "" {
			err = prometheus.WriteToTextfile(out, report.PrometheusClusterRegistry(run))
		} else {
			err = report.PrometheusCluster(stdout, run)
		}
		if err != nil {
			return 0, outputError{err}
		}
		return clusterExit(clusters, failOn), nil
	}
	var buf bytes.Buffer
	w := io.Writer(&buf)
	if out == "" {
		w = stdout
	}
	switch format {
	case "json":
		err = report.ClusterJSON(w, clusters, role, unreachable...)
	case "sarif":
		err = report.SARIF(w, version(), report.ClusterResults(clusters)...)
	case "github":
		err = report.GitHub(w, report.ClusterResults(clusters)...)
	case "junit":
		err = report.JUnit(w, report.ClusterResults(clusters)...)
	default:
		err = report.ClusterText(w, clusters, role, report.TextOptions{Color: out == "" && useColor(f.noColor, stdout), Quiet: f.quiet, ShowIgnored: f.showIgnored}, unreachable...)
	}
	if err != nil {
		return 0, fmt.Errorf("write report: %w", err)
	}
	if out != "" {
		if err := writeAtomic(out, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
			return 0, outputError{err}
		}
	}
	return clusterExit(clusters, failOn), nil
}

// clusterExit is the exit code of a cluster run: 1 when a cluster has a
// finding at or above failOn (0: never). Unreachable hosts do not change
// it: they have no verdict, and whoever ran the bundles' collection knows.
func clusterExit(clusters []*checks.Cluster, failOn checks.Severity) int {
	for _, c := range clusters {
		if failOn != 0 && c.Worst() >= failOn {
			return exitFindings
		}
	}
	return exitOK
}
