package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/directive"
	"github.com/lbdoctor/lbdoctor/parsers/haproxy"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/keepalived"
	"github.com/lbdoctor/lbdoctor/parsers/nginx"
	"github.com/lbdoctor/lbdoctor/parsers/selinux"
	"github.com/lbdoctor/lbdoctor/parsers/sysctl"
	"github.com/lbdoctor/lbdoctor/parsers/systemd"
	"github.com/lbdoctor/lbdoctor/parsers/tmpfiles"
	"github.com/lbdoctor/lbdoctor/report"
)

// Where each service's config is looked for when no flag names one.
var (
	defaultNginx      = []string{"/etc/nginx/nginx.conf", "/usr/local/nginx/conf/nginx.conf", "/usr/local/etc/nginx/nginx.conf"}
	defaultHAProxy    = []string{"/etc/haproxy/haproxy.cfg"}
	defaultKeepalived = []string{"/etc/keepalived/keepalived.conf"}
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type checkFlags struct {
	nginx, haproxy, keepalived listFlag
	root                       string
	hosts                      listFlag
	role, format, failOn       string
	checks, config             string
	json, noColor              bool
	quiet, showIgnored, probe  bool
	envFiles                   listFlag
	haproxyVersion             string
	keepalivedID               string
	severity                   map[string]checks.Severity
	suppress                   []checks.Suppression
}

// checkFlagSet is check's flags; completion and the man page read it too.
func checkFlagSet(f *checkFlags) *flag.FlagSet {
	fl := flag.NewFlagSet("check", flag.ContinueOnError)
	addConfigFlags(fl, f)
	fl.BoolVar(&f.json, "json", false, "machine output on stdout (same as --format json)")
	fl.StringVar(&f.format, "format", "text", "output format: text, json, sarif, github or junit")
	fl.BoolVar(&f.noColor, "no-color", false, "plain text, no colour")
	fl.StringVar(&f.failOn, "fail-on", "error", "severity that makes the exit code 1: error, warning or never")
	fl.BoolVar(&f.quiet, "quiet", false, "text: print only failing listeners and findings")
	fl.BoolVar(&f.showIgnored, "show-ignored", false, "text: also print the findings that ignores silenced")
	fl.BoolVar(&f.probe, "probe", false, "also ask the kernel: bind() each listen address on port 0 and trust its answer")
	return fl
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	var f checkFlags
	fl := checkFlagSet(&f)
	if code, ok := parseFlags(fl, "check", args, stderr); !ok {
		return code
	}
	if err := applyConfig(&f, flagsSet(fl)); err != nil {
		fail(stderr, "check", err)
		return exitUsage
	}
	code, err := check(f, stdout, stderr)
	if err != nil {
		fail(stderr, "check", err)
		return exitUsage
	}
	return code
}

// addServiceFlags registers the flags that say which configs to read.
func addServiceFlags(fl *flag.FlagSet, f *checkFlags) {
	fl.Var(&f.nginx, "nginx", "an nginx main config `PATH` (repeatable; default: autodetect)")
	fl.Var(&f.haproxy, "haproxy", "an haproxy config file or directory `PATH` (repeatable, like haproxy -f)")
	fl.Var(&f.keepalived, "keepalived", "a keepalived config `PATH`")
	fl.StringVar(&f.root, "root", "", "read the configuration as if `DIR` were /")
	fl.Var(&f.envFiles, "env", "HAProxy's environment: a `FILE` of KEY=value lines, as systemd's EnvironmentFile= (repeatable; after /etc/default/haproxy and /etc/sysconfig/haproxy)")
	fl.StringVar(&f.keepalivedID, "keepalived-id", "", "keepalived's config `ID` for @ID conditional lines (default: the judged host's name up to the first dot)")
	fl.StringVar(&f.haproxyVersion, "haproxy-version", "", "the HAProxy `VERSION` that will read the config, for .if version_atleast() (default: the installed haproxy's, when judging this machine)")
}

// addConfigFlags registers the flags that say what to judge, shared by
// check and fix.
func addConfigFlags(fl *flag.FlagSet, f *checkFlags) {
	addServiceFlags(fl, f)
	fl.Var(&f.hosts, "host", "judge against the host described by a snapshot `FILE` instead of the live host (repeatable: each node of a pair)")
	fl.StringVar(&f.role, "role", "current", "where keepalived VIPs are: current, backup, master or both")
	fl.StringVar(&f.checks, "checks", "all", "checks to run, staticcheck style: `LIST` like all,-LBD203,LBD4*")
	fl.StringVar(&f.config, "config", "", "read settings from `FILE` (default: .lbdoctor.yaml in the working directory, if any)")
}

func check(f checkFlags, stdout, stderr io.Writer) (int, error) {
	format := f.format
	if f.json {
		format = "json"
	}
	switch format {
	case "text", "json", "sarif", "github", "junit":
	default:
		return 0, fmt.Errorf("unknown format %q (want text, json, sarif, github or junit)", format)
	}
	var failOn checks.Severity
	if f.failOn != "never" {
		var err error
		if failOn, err = checks.ParseSeverity(f.failOn); err != nil || failOn == checks.Info {
			return 0, fmt.Errorf("unknown --fail-on %q (want error, warning or never)", f.failOn)
		}
	}
	results, err := evaluate(f, stderr)
	if err != nil {
		return 0, err
	}
	if err := write(stdout, format, f, results); err != nil {
		return 0, fmt.Errorf("write report: %w", err)
	}
	for _, res := range results {
		if failOn != 0 && res.Worst() >= failOn {
			return exitFindings, nil
		}
	}
	return exitOK, nil
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

// evaluate reads the configs and runs the selected checks against each
// host: the snapshots given, or the live host.
func evaluate(f checkFlags, stderr io.Writer) ([]*checks.Result, error) {
	role, err := checks.ParseRole(f.role)
	if err != nil {
		return nil, err
	}
	selected, err := checks.Select(checks.All(), f.checks)
	if err != nil {
		return nil, fmt.Errorf("--checks: %w", err)
	}
	if f.root != "" {
		if st, err := os.Stat(f.root); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("--root %s: not a directory", f.root)
		}
	}
	root := parsers.Root(f.root)
	// The snapshots are read while the configs are: only HAProxy and
	// keepalived need the judged host's name, and they wait for it.
	hosts := make([]*host.Facts, len(f.hosts))
	hostErrs := make([]error, len(f.hosts))
	var loading sync.WaitGroup
	for i, file := range f.hosts {
		loading.Go(func() { hosts[i], hostErrs[i] = host.Load(file) })
	}
	hostname := func() string {
		loading.Wait()
		if len(hosts) > 0 && hosts[0] != nil {
			return hosts[0].Hostname
		}
		name, _ := os.Hostname()
		return name
	}
	services, err := loadServices(f, root, hostname)
	loading.Wait()
	for _, err := range hostErrs {
		if err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	// One scan over every file read: ScanFiles reads them on every CPU.
	var files []string
	for _, s := range services {
		if s.Config != nil {
			files = append(files, s.Config.Files...)
		}
	}
	ignores := directive.ScanFiles(root, files)
	var probes map[string]string
	if f.probe {
		if len(f.hosts) > 0 {
			return nil, fmt.Errorf("--probe asks this host's kernel; it cannot judge the --host snapshot %s", f.hosts[0])
		}
		if probes, err = probe(services); err != nil {
			return nil, fmt.Errorf("--probe: %w", err)
		}
	}
	if len(hosts) == 0 {
		facts, err := gatherFor(services, root, stderr)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, facts)
	}
	// A rendered tree carries the sysctl.d files that will be on the node;
	// without one, a snapshot keeps what it recorded there.
	if f.root != "" {
		persisted := persistedSysctls(root)
		for _, facts := range hosts {
			facts.Persisted = persisted
		}
	}
	bootDirs := tmpfiles.BootDirs(root)
	var results []*checks.Result
	for _, facts := range hosts {
		res, err := checks.Run(&checks.Input{
			Services: services,
			Host:     facts,
			Role:     role,
			Severity: f.severity,
			Suppress: f.suppress,
			BootDirs: bootDirs,
			Ignores:  ignores,
			Probes:   probes,
		}, selected)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}

// gatherFor reads the live host, with the state of the directories the
// services' unix sockets need and the sysctls its next boot sets. What it
// could not read is said once on stderr, never as a failure.
func gatherFor(services []checks.Service, root parsers.Root, stderr io.Writer) (*host.Facts, error) {
	facts, err := host.Gather()
	if err != nil {
		return nil, err
	}
	facts.Dirs = host.StatDirs(socketDirs(services))
	facts.Persisted = persistedSysctls(root)
	facts.SELinux = readSELinux(root, stderr)
	if n := facts.UnknownOwners; n > 0 && os.Geteuid() != 0 {
		fmt.Fprintf(stderr, "lbdoctor: not running as root: the owners of %d listening %s could not be read (other users' /proc/PID/fd are private); run as root to name them\n", n, pluralize(n, "socket"))
	}
	return facts, nil
}

// readSELinux reads SELinux's mode and, when it can decide a bind, the
// installed policy's facts for every daemon lbdoctor knows (a snapshot may
// be judged with configs of other services than the node has now), below
// root. A policy it cannot read is said on stderr: the SELinux checks then
// stay silent.
func readSELinux(root parsers.Root, stderr io.Writer) *selinux.Facts {
	f, err := selinux.Read(root, selinux.Services())
	if err != nil {
		fmt.Fprintf(stderr, "lbdoctor: SELinux policy not read, the SELinux checks are skipped: %v\n", err)
		return nil
	}
	if f.Unread != "" {
		fmt.Fprintf(stderr, "lbdoctor: SELinux is %s but its policy was not read (%s): the SELinux checks cannot judge the ports\n", f.Mode, f.Unread)
	}
	for _, n := range f.Notes {
		fmt.Fprintf(stderr, "lbdoctor: SELinux: %s\n", n)
	}
	return f
}

func pluralize(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// persistedSysctls is what systemd-sysctl sets at boot for the sysctls the
// checks read; a name no file sets is listed with no file.
func persistedSysctls(root parsers.Root) []host.Persisted {
	boot, err := sysctl.ReadBoot(root)
	if err != nil {
		return nil
	}
	out := []host.Persisted{}
	for _, name := range []string{host.NonlocalBind4, host.NonlocalBind6, host.BindV6Only, host.UnprivilegedPortMin} {
		p := host.Persisted{Name: name}
		if s, ok := boot.Get(name); ok {
			p.Value, p.File, p.Line = s.Value, s.Pos.File, s.Pos.Line
		}
		out = append(out, p)
	}
	return out
}

// socketDirs lists the directories the services' unix sockets go in.
func socketDirs(services []checks.Service) []string {
	seen := map[string]bool{}
	var dirs []string
	for _, s := range services {
		if s.Config == nil {
			continue
		}
		for _, l := range s.Config.Listeners {
			if l.Proto != parsers.Unix || l.Path == "" {
				continue
			}
			if d := filepath.Dir(l.Path); !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
	}
	sort.Strings(dirs)
	return dirs
}

// loadServices finds and parses the configs named by flags, or, when no
// flag names one, those found at the default paths. hostname gives the
// judged host's name, which names HAProxy's local peer and keepalived's
// config id; it may block until a snapshot is read.
//
// Each config is read in its own goroutine: they share nothing, and on a
// big load balancer nginx's files alone take longer than everything else,
// so HAProxy, keepalived and the snapshot are read beside it.
func loadServices(f checkFlags, root parsers.Root, hostname func() string) ([]checks.Service, error) {
	// A unit that cannot be read leaves the daemon as its package runs it.
	nginxUnit, _ := systemd.ReadUnit(root, "nginx.service")
	haproxyUnit, _ := systemd.ReadUnit(root, "haproxy.service")
	parseNginx := func(p string) (*parsers.Config, error) {
		return nginx.Parse(p, nginx.Options{Root: root, NonRoot: nonRoot(nginxUnit)})
	}
	parseHAProxy := func(paths []string) (*parsers.Config, error) {
		opts, envErrs, err := haproxyOptions(f, root, hostname())
		if err != nil {
			return nil, err
		}
		cfg, err := haproxy.Parse(paths, opts)
		if err != nil {
			return nil, err
		}
		cfg.Errors = append(cfg.Errors, envErrs...)
		return cfg, nil
	}
	parseKeepalived := func(p string) (*parsers.Config, error) {
		// keepalived's config id defaults to the host name without its domain.
		id := f.keepalivedID
		if id == "" {
			id, _, _ = strings.Cut(hostname(), ".")
		}
		return keepalived.Parse(p, keepalived.Options{Root: root, ConfigID: id})
	}

	var jobs []func() loaded
	if len(f.nginx)+len(f.haproxy)+len(f.keepalived) > 0 {
		named := func(name, flagName string, paths []string, unit *systemd.Unit, parse func([]string) (*parsers.Config, error)) func() loaded {
			return func() loaded {
				for _, p := range paths {
					if err := mustExist(root, flagName, p); err != nil {
						return loaded{err: err}
					}
				}
				cfg, err := parse(paths)
				return loaded{svc: checks.Service{Name: name, Path: strings.Join(paths, ", "), Config: cfg, Unit: unit}, found: true, err: err}
			}
		}
		one := func(parse func(string) (*parsers.Config, error)) func([]string) (*parsers.Config, error) {
			return func(paths []string) (*parsers.Config, error) { return parse(paths[0]) }
		}
		for _, p := range f.nginx {
			jobs = append(jobs, named("nginx", "--nginx", []string{p}, nginxUnit, one(parseNginx)))
		}
		if len(f.haproxy) > 0 {
			jobs = append(jobs, named("haproxy", "--haproxy", f.haproxy, haproxyUnit, parseHAProxy))
		}
		for _, p := range f.keepalived {
			jobs = append(jobs, named("keepalived", "--keepalived", []string{p}, nil, one(parseKeepalived)))
		}
	} else {
		detect := func(name string, paths []string, unit *systemd.Unit, parse func(string) (*parsers.Config, error)) func() loaded {
			return func() loaded {
				var tried []string
				for _, p := range paths {
					tried = append(tried, root.Path(p))
					if _, err := root.Stat(p); err != nil {
						continue
					}
					cfg, err := parse(p)
					return loaded{svc: checks.Service{Name: name, Path: p, Config: cfg, Unit: unit}, found: true, tried: tried, err: err}
				}
				return loaded{svc: checks.Service{Name: name, Path: paths[0]}, tried: tried}
			}
		}
		jobs = append(jobs,
			detect("nginx", defaultNginx, nginxUnit, parseNginx),
			detect("haproxy", defaultHAProxy, haproxyUnit, func(p string) (*parsers.Config, error) { return parseHAProxy([]string{p}) }),
			detect("keepalived", defaultKeepalived, nil, parseKeepalived),
		)
	}

	results := make([]loaded, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Go(func() { results[i] = job() })
	}
	wg.Wait()

	var services []checks.Service
	var tried []string
	var errs []error
	found := 0
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		services = append(services, r.svc)
		tried = append(tried, r.tried...)
		if r.found {
			found++
		}
	}
	if len(errs) > 0 {
		// A flag naming a missing file is a usage error of its own; the
		// first one, in flag order, is the one to fix first.
		if len(f.nginx)+len(f.haproxy)+len(f.keepalived) > 0 {
			return nil, errs[0]
		}
		return nil, errors.Join(errs...)
	}
	if found == 0 {
		return nil, fmt.Errorf("no nginx, HAProxy or keepalived config found; tried %s\nname them with --nginx PATH, --haproxy PATH, --keepalived PATH (and --root DIR for a mounted tree)", strings.Join(tried, ", "))
	}
	return services, nil
}

// loaded is one config read by loadServices.
type loaded struct {
	svc   checks.Service
	found bool
	tried []string
	err   error
}

// nonRoot reports whether the unit runs the daemon's master as a user other
// than root, which changes nginx's default listen port.
func nonRoot(u *systemd.Unit) bool {
	return u != nil && !u.Masked && !u.RunsAsRoot()
}

// mustExist turns a config named on the command line that cannot be read
// into a clear usage error.
func mustExist(root parsers.Root, flagName, p string) error {
	_, err := root.Stat(p)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: no such file or directory", flagName, root.Path(p))
	default:
		return fmt.Errorf("%s %s: %w", flagName, root.Path(p), err)
	}
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
	if !set["nginx"] && !set["haproxy"] && !set["keepalived"] {
		f.nginx, f.haproxy, f.keepalived = cfg.Nginx, cfg.HAProxy, cfg.Keepalived
	}
	str := func(name string, dst *string, v string) {
		if !set[name] && v != "" {
			*dst = v
		}
	}
	str("root", &f.root, cfg.Root)
	if !set["host"] {
		if cfg.Host != "" {
			f.hosts = append(f.hosts, cfg.Host)
		}
		f.hosts = append(f.hosts, cfg.Hosts...)
	}
	str("role", &f.role, cfg.Role)
	str("fail-on", &f.failOn, cfg.FailOn)
	str("checks", &f.checks, cfg.Checks)
	if !set["json"] {
		str("format", &f.format, cfg.Format)
	}
	f.severity = map[string]checks.Severity{}
	for id, v := range cfg.Severity {
		if checks.ByID(id) == nil {
			return fmt.Errorf("%s: severity: unknown check %q", path, id)
		}
		sev, err := checks.ParseSeverity(v)
		if err != nil {
			return fmt.Errorf("%s: severity of %s: %w", path, id, err)
		}
		f.severity[id] = sev
	}
	for _, ig := range cfg.Ignore {
		f.suppress = append(f.suppress, checks.Suppression{ID: ig.ID, Path: ig.Path, Address: ig.Address, Reason: ig.Reason})
	}
	return nil
}
