// Package node is the per-node pipeline: it reads a node's service
// configs, gathers or loads its host facts, and runs the checks over them.
// check, fix, snapshot and cluster all judge a node through it; the command
// keeps only flags and output.
package node

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/container"
	"github.com/lbdoctor/lbdoctor/parsers/directive"
	"github.com/lbdoctor/lbdoctor/parsers/haproxy"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/kcmdline"
	"github.com/lbdoctor/lbdoctor/parsers/keepalived"
	"github.com/lbdoctor/lbdoctor/parsers/netcfg"
	"github.com/lbdoctor/lbdoctor/parsers/nginx"
	"github.com/lbdoctor/lbdoctor/parsers/selinux"
	"github.com/lbdoctor/lbdoctor/parsers/sysctl"
	"github.com/lbdoctor/lbdoctor/parsers/systemd"
	"github.com/lbdoctor/lbdoctor/parsers/tmpfiles"
)

// Where each service's config is looked for when no option names one.
var (
	DefaultNginx      = []string{"/etc/nginx/nginx.conf", "/usr/local/nginx/conf/nginx.conf", "/usr/local/etc/nginx/nginx.conf"}
	DefaultHAProxy    = []string{"/etc/haproxy/haproxy.cfg"}
	DefaultKeepalived = []string{"/etc/keepalived/keepalived.conf"}
)

// Options says what to judge: which configs, which host, which checks.
// The command's flags fill it in.
type Options struct {
	Nginx, HAProxy, Keepalived []string
	// More are the configs named for the services of MoreServices, by
	// name ("apache", "postgresql", "redis").
	More map[string][]string
	// Containers are container definitions (inspect JSON, Compose files,
	// quadlets, pod manifests) whose nginx, HAProxy or keepalived is judged.
	Containers []string
	// Declared are the services .lbdoctor.yaml (the file DeclaredIn)
	// declares: always checked, whatever else is named.
	Declared   []DeclaredService
	DeclaredIn string
	// Root reads the configuration as if it were "/".
	Root string
	// Hosts are snapshot files to judge against instead of the live host.
	Hosts          []string
	Role           string
	Checks         string
	Probe          bool
	EnvFiles       []string
	HAProxyVersion string
	KeepalivedID   string
	Severity       map[string]checks.Severity
	Suppress       []checks.Suppression

	// bundle is the snapshot whose own configs are judged, when it is one.
	bundle *host.Facts
	// record, when set, keeps the names HAProxy's config resolved.
	record *resolveLog
}

// named reports whether any option names a config.
func (o Options) named() bool {
	n := len(o.Nginx) + len(o.HAProxy) + len(o.Keepalived) + len(o.Containers)
	for _, paths := range o.More {
		n += len(paths)
	}
	return n > 0
}

// Evaluate reads the configs and runs the selected checks against each
// host: the snapshots given, or the live host.
func Evaluate(o Options, stderr io.Writer) ([]*checks.Result, error) {
	role, err := checks.ParseRole(o.Role)
	if err != nil {
		return nil, err
	}
	selected, err := checks.Select(checks.All(), o.Checks)
	if err != nil {
		return nil, fmt.Errorf("--checks: %w", err)
	}
	if o.Root != "" {
		if st, err := os.Stat(o.Root); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("--root %s: not a directory", o.Root)
		}
	}
	// read is the one snapshot, when it has been read already: a bundle
	// whose configs are judged, or one looked at to see whether it is.
	read := o.bundle
	if len(o.Hosts) == 1 && !o.named() && o.Root == "" {
		// One snapshot and no config named: when it is a bundle, its own
		// configs are judged, below a tree made of its files.
		facts, err := host.Load(o.Hosts[0])
		if err != nil {
			return nil, err
		}
		if facts.IsBundle() {
			return evaluateBundle(o, facts, stderr)
		}
		read = facts
	}
	root := parsers.Root(o.Root)
	// The snapshots are read while the configs are: only HAProxy and
	// keepalived need the judged host's name, and they wait for it.
	hosts := make([]*host.Facts, len(o.Hosts))
	hostErrs := make([]error, len(o.Hosts))
	var loading sync.WaitGroup
	for i, file := range o.Hosts {
		if read != nil {
			hosts[i] = read // the only one
			continue
		}
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
	services, notes, err := LoadServices(o, root, hostname)
	loading.Wait()
	for _, n := range notes {
		fmt.Fprintln(stderr, "lbdoctor: "+n)
	}
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
	if o.Probe {
		if len(o.Hosts) > 0 {
			return nil, fmt.Errorf("--probe asks this host's kernel; it cannot judge the --host snapshot %s", o.Hosts[0])
		}
		if probes, err = probe(services); err != nil {
			return nil, fmt.Errorf("--probe: %w", err)
		}
	}
	if len(hosts) == 0 {
		facts, err := Gather(services, root, stderr)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, facts) // Gather read root's boot settings
	} else if o.Root != "" {
		// A rendered tree carries the sysctl.d files that will be on the
		// node; without one, a snapshot keeps what it recorded there.
		network := bootNetwork(root)
		cmdlines := bootCmdlines(root)
		for _, facts := range hosts {
			facts.Persisted = persistedSysctls(root, facts)
			facts.BootCmdlines = cmdlines
			if network != nil {
				facts.Network = network
			}
		}
	}
	bootDirs := tmpfiles.BootDirs(root)
	var results []*checks.Result
	for _, facts := range hosts {
		res, err := checks.Run(&checks.Input{
			Services: services,
			Host:     facts,
			Role:     role,
			Severity: o.Severity,
			Suppress: o.Suppress,
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

// evaluateBundle judges a bundle's configs against its facts: its files
// are written to a temporary tree, read as the root.
func evaluateBundle(o Options, facts *host.Facts, stderr io.Writer) ([]*checks.Result, error) {
	dir, err := os.MkdirTemp("", "lbdoctor-bundle-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := materialize(facts, dir); err != nil {
		return nil, err
	}
	o.Root, o.bundle = dir, facts
	if c := facts.Configs; c != nil {
		o.Nginx, o.HAProxy, o.Keepalived, o.More, o.Containers = c.Nginx, c.HAProxy, c.Keepalived, c.Other, c.Containers
		o.EnvFiles = append(append([]string{}, c.Env...), o.EnvFiles...)
		if o.KeepalivedID == "" {
			o.KeepalivedID = c.KeepalivedID
		}
	}
	return Evaluate(o, stderr)
}

// Snapshot gathers the live host's facts for the configs found (which
// say which unix socket directories to record); withConfigs makes it a
// bundle that carries every file judging this node reads. A host without
// any config is still worth a snapshot, unless an option named one.
func Snapshot(o Options, withConfigs bool, stderr io.Writer) (*host.Facts, error) {
	root := parsers.Root(o.Root)
	if withConfigs {
		o.record = &resolveLog{}
		// Relative names are the working directory's: the bundle keeps
		// them absolute, as the node resolves them.
		for _, list := range []*[]string{&o.Nginx, &o.HAProxy, &o.Keepalived, &o.EnvFiles} {
			for i, p := range *list {
				if abs, err := filepath.Abs(p); err == nil && o.Root == "" {
					(*list)[i] = abs
				}
			}
		}
	}
	// A snapshot given stands for the live host: a bundle made of a
	// rendered tree and recorded facts.
	var given *host.Facts
	if len(o.Hosts) > 1 {
		return nil, fmt.Errorf("a snapshot describes one host; --host given %d times", len(o.Hosts))
	}
	if len(o.Hosts) == 1 {
		var err error
		if given, err = host.Load(o.Hosts[0]); err != nil {
			return nil, err
		}
	}
	hostname := func() string {
		if given != nil {
			return given.Hostname
		}
		name, _ := os.Hostname()
		return name
	}
	services, _, err := LoadServices(o, root, hostname)
	if err != nil && o.named() {
		return nil, err
	}
	facts := given
	if facts == nil {
		if facts, err = Gather(services, root, stderr); err != nil {
			return nil, err
		}
	} else if o.Root != "" {
		facts.Persisted = persistedSysctls(root, facts)
		facts.BootCmdlines = bootCmdlines(root)
		if network := bootNetwork(root); network != nil {
			facts.Network = network
		}
	}
	if !withConfigs {
		return facts, nil
	}
	if facts.Files, facts.Omitted, err = collectBundle(o, root, services); err != nil {
		return nil, err
	}
	facts.Resolved = o.record.names
	if o.named() || len(o.EnvFiles) > 0 || o.KeepalivedID != "" {
		facts.Configs = &host.Configs{Nginx: o.Nginx, HAProxy: o.HAProxy, Keepalived: o.Keepalived, Other: o.More, Containers: o.Containers, Env: o.EnvFiles, KeepalivedID: o.KeepalivedID}
	}
	if root == "" && given == nil {
		facts.HAProxyVersion, facts.HAProxyFeatures = installedHAProxy()
	}
	return facts, nil
}

// Gather reads the live host, with the state of the directories the
// services' unix sockets need and the sysctls its next boot sets. What it
// could not read is said once on stderr, never as a failure.
func Gather(services []checks.Service, root parsers.Root, stderr io.Writer) (*host.Facts, error) {
	facts, err := host.Gather()
	if err != nil {
		return nil, err
	}
	facts.Dirs = host.StatDirs(socketDirs(services))
	facts.Persisted = persistedSysctls(root, facts)
	facts.BootCmdlines = bootCmdlines(root)
	facts.UnixPaths = host.StatUnixPaths(socketPaths(services))
	facts.SELinux = readSELinux(root, stderr)
	facts.Network = bootNetwork(root)
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
// checks read, disable_ipv6 of each of the host's interfaces included; a
// name no file sets is listed with no file.
func persistedSysctls(root parsers.Root, facts *host.Facts) []host.Persisted {
	boot, err := sysctl.ReadBoot(root)
	if err != nil {
		return nil
	}
	out := []host.Persisted{}
	add := func(name string, s sysctl.Setting, ok bool) {
		p := host.Persisted{Name: name}
		if ok {
			p.Value, p.File, p.Line = strings.Join(strings.Fields(s.Value), " "), s.Pos.File, s.Pos.Line
		}
		out = append(out, p)
	}
	for _, name := range host.BindSysctls {
		s, ok := boot.Get(name)
		add(name, s, ok)
	}
	for _, itf := range facts.Interfaces {
		s, ok := bootDisableIPv6(boot, itf.Name)
		add(host.DisableIPv6(itf.Name), s, ok)
	}
	return out
}

// bootDisableIPv6 is the setting that decides disable_ipv6 of iface after
// a boot. The kernel copies "all" to every interface and to "default" when
// it is written, and "default" to an interface when it appears; udev's
// 99-systemd.rules runs systemd-sysctl again for each interface but lo as
// it appears, so the interface's own key wins there. lo exists before
// systemd-sysctl runs: whichever of its key and "all" is written last wins.
func bootDisableIPv6(boot *sysctl.Boot, iface string) (sysctl.Setting, bool) {
	own, ok := boot.Get(host.DisableIPv6(iface))
	if ok && iface != "lo" {
		return own, true
	}
	var best sysctl.Setting
	found := false
	cands := []string{host.DisableIPv6All}
	if iface != "lo" {
		cands = append(cands, host.DisableIPv6Default)
	}
	if ok {
		best, found = own, true
	}
	for _, n := range cands {
		if s, ok := boot.Get(n); ok {
			if !found {
				best, found = s, true
			} else {
				best = sysctl.Later(best, s)
			}
		}
	}
	return best, found
}

// bootCmdlines are the kernel command lines the boot loader configuration
// below root gives the next boot.
func bootCmdlines(root parsers.Root) []host.Cmdline {
	var out []host.Cmdline
	for _, c := range kcmdline.ReadBoot(root) {
		out = append(out, host.Cmdline{Value: c.Value, File: c.Pos.File, Line: c.Pos.Line})
	}
	return out
}

// socketPaths lists the paths of the services' unix sockets.
func socketPaths(services []checks.Service) []string {
	var paths []string
	for _, s := range services {
		if s.Config == nil {
			continue
		}
		for _, l := range s.Config.Listeners {
			if l.Proto == parsers.Unix && l.Path != "" && !slices.Contains(paths, l.Path) {
				paths = append(paths, l.Path)
			}
		}
	}
	sort.Strings(paths)
	return paths
}

// bootNetwork is the network configuration below root that creates
// addresses at boot. The real root is always read, and a tree that holds none
// says that no tool configures this host; a --root tree without any is taken
// to carry none of the node's network files (a rendered config repository),
// and gives nil: unknown, or what a snapshot recorded.
func bootNetwork(root parsers.Root) *netcfg.Config {
	c := netcfg.Read(root)
	if root != "" && len(c.Files) == 0 {
		return nil
	}
	return c
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

// LoadServices finds and parses the configs named by flags, or, when no
// flag names one, those found at the default paths. hostname gives the
// judged host's name, which names HAProxy's local peer and keepalived's
// config id; it may block until a snapshot is read.
//
// Each config is read in its own goroutine: they share nothing, and on a
// big load balancer nginx's files alone take longer than everything else,
// so HAProxy, keepalived and the snapshot are read beside it.
func LoadServices(o Options, root parsers.Root, hostname func() string) ([]checks.Service, []string, error) {
	// A unit that cannot be read leaves the daemon as its package runs it.
	nginxUnit, _ := systemd.ReadUnit(root, "nginx.service")
	haproxyUnit, _ := systemd.ReadUnit(root, "haproxy.service")
	parseNginx := func(p string) (*parsers.Config, error) {
		return nginx.Parse(p, nginx.Options{Root: root, NonRoot: nonRoot(nginxUnit)})
	}
	parseHAProxy := func(paths []string) (*parsers.Config, error) {
		opts, envErrs, err := haproxyOptions(o, root, hostname())
		if err != nil {
			return nil, err
		}
		cfg, err := haproxy.Parse(paths, opts)
		if err != nil {
			return nil, err
		}
		// systemd starts the service without these assignments: a
		// warning, not a configuration HAProxy refuses.
		cfg.DaemonWarnings = append(cfg.DaemonWarnings, envErrs...)
		return cfg, nil
	}
	parseKeepalived := func(p string) (*parsers.Config, error) {
		// keepalived's config id defaults to the host name without its domain.
		id := o.KeepalivedID
		if id == "" {
			id, _, _ = strings.Cut(hostname(), ".")
		}
		return keepalived.Parse(p, keepalived.Options{Root: root, ConfigID: id})
	}

	var jobs []func() loaded
	if o.named() {
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
		for _, p := range o.Nginx {
			jobs = append(jobs, named("nginx", "--nginx", []string{p}, nginxUnit, one(parseNginx)))
		}
		if len(o.HAProxy) > 0 {
			jobs = append(jobs, named("haproxy", "--haproxy", o.HAProxy, haproxyUnit, parseHAProxy))
		}
		for _, p := range o.Keepalived {
			jobs = append(jobs, named("keepalived", "--keepalived", []string{p}, nil, one(parseKeepalived)))
		}
		for _, k := range MoreServices() {
			for _, p := range o.More[k.Name] {
				unit := k.unitFor(root, p)
				jobs = append(jobs, named(k.Name, "--"+k.Name, []string{p}, unit, func(paths []string) (*parsers.Config, error) { return k.Parse(paths[0], root) }))
			}
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
			detect("nginx", DefaultNginx, nginxUnit, parseNginx),
			detect("haproxy", DefaultHAProxy, haproxyUnit, func(p string) (*parsers.Config, error) { return parseHAProxy([]string{p}) }),
			detect("keepalived", DefaultKeepalived, nil, parseKeepalived),
		)
		// The other services are listed only when found: a host without
		// PostgreSQL does not need to hear about it.
		for _, k := range MoreServices() {
			for _, p := range k.found(root) {
				jobs = append(jobs, func() loaded {
					cfg, err := k.Parse(p, root)
					if errors.Is(err, fs.ErrPermission) {
						// Found but not readable (Redis's configs are 0640):
						// said on stderr, not a failure of the run.
						return loaded{skip: true, note: fmt.Sprintf("%s: permission denied: %s not checked (run as root to read it)", root.Path(p), k.Name)}
					}
					return loaded{svc: checks.Service{Name: k.Name, Path: p, Config: cfg, Unit: k.unitFor(root, p)}, found: true, tried: []string{root.Path(p)}, err: err}
				})
			}
		}
	}

	// Declared services are named by the config file: always checked.
	for _, svc := range declaredServices(root, o.DeclaredIn, o.Declared) {
		jobs = append(jobs, func() loaded { return loaded{svc: svc, found: true} })
	}

	results := make([]loaded, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Go(func() { results[i] = job() })
	}
	wg.Wait()

	var services []checks.Service
	var tried, notes []string
	var errs []error
	found := 0
	var live []*container.Container
	if !o.named() && o.Root == "" && len(o.Hosts) == 0 {
		live = engineContainers()
	}
	csvcs, err := loadContainers(o, root, hostname, containerSources(o, root, !o.named()), o.named(), live)
	if err != nil {
		return nil, notes, err
	}
	for _, r := range results {
		if r.note != "" {
			notes = append(notes, r.note)
		}
		if r.skip {
			continue
		}
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
		if o.named() {
			return nil, notes, errs[0]
		}
		return nil, notes, errors.Join(errs...)
	}
	for _, c := range csvcs {
		services = append(services, c)
		if c.Config != nil {
			found++
		}
	}
	if found == 0 {
		var more []string
		for _, k := range MoreServices() {
			for _, p := range k.defaults {
				more = append(more, root.Path(p))
			}
		}
		return nil, notes, fmt.Errorf("no nginx, HAProxy or keepalived config found; tried %s\nno Apache, PostgreSQL, Redis or Envoy config or socket unit either; tried %s\nname them with --nginx PATH, --haproxy PATH, --keepalived PATH, --apache PATH, --postgresql PATH, --redis PATH, --envoy PATH, --systemd-socket PATH, --container FILE (and --root DIR for a mounted tree), or declare services in .lbdoctor.yaml", strings.Join(tried, ", "), strings.Join(more, ", "))
	}
	return services, notes, nil
}

// loaded is one config read by loadServices.
type loaded struct {
	svc   checks.Service
	found bool
	tried []string
	err   error
	// skip leaves the config out, and note says why (on stderr).
	skip bool
	note string
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
