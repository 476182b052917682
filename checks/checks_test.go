package checks_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/apache"
	"github.com/lbdoctor/lbdoctor/parsers/container"
	"github.com/lbdoctor/lbdoctor/parsers/directive"
	"github.com/lbdoctor/lbdoctor/parsers/envoy"
	"github.com/lbdoctor/lbdoctor/parsers/haproxy"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/keepalived"
	"github.com/lbdoctor/lbdoctor/parsers/netcfg"
	"github.com/lbdoctor/lbdoctor/parsers/nginx"
	"github.com/lbdoctor/lbdoctor/parsers/postgresql"
	"github.com/lbdoctor/lbdoctor/parsers/redis"
	"github.com/lbdoctor/lbdoctor/parsers/systemd"
	"github.com/lbdoctor/lbdoctor/parsers/tmpfiles"
)

// TestList holds every check to the rules of the list: a unique ID in
// order, a doc, and at least one case that fires and one that stays silent.
func TestList(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for _, c := range checks.All() {
		if seen[c.ID] || seen[c.Name] {
			t.Errorf("%s: duplicate ID or name %q", c.ID, c.Name)
		}
		seen[c.ID], seen[c.Name] = true, true
		if c.ID <= prev {
			t.Errorf("%s: All() is not sorted by ID (after %s)", c.ID, prev)
		}
		prev = c.ID
		if !regexp.MustCompile(`^LBD\d{3}$`).MatchString(c.ID) {
			t.Errorf("%s: ID is not LBDnnn", c.ID)
		}
		if c.Title == "" || strings.HasSuffix(c.Title, ".") || len(c.Doc) < 200 || (c.Run == nil && c.RunCluster == nil && c != checks.LBD003) || c.Severity == 0 {
			t.Errorf("%s: needs a title without a period, a doc of substance, a severity and Run", c.ID)
		}
		cases, _ := filepath.Glob(filepath.Join("..", "testdata", "checks", c.ID, "*.txtar"))
		var firing, silent int
		for _, f := range cases {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.HasSuffix(f, "_ok.txtar"):
				silent++
			case firesIn(string(data), c.ID):
				firing++
			}
		}
		if firing == 0 || silent == 0 {
			t.Errorf("%s: has %d firing and %d silent (*_ok.txtar) cases under testdata/checks/%s; want at least one of each", c.ID, firing, silent, c.ID)
		}
	}
}

// wantRe finds expectations: `# want "REGEXP" ["REGEXP"...]` at the end of a
// config line, matched against "ID severity message".
var (
	wantRe   = regexp.MustCompile(`# want((?:\s+"(?:[^"\\]|\\.)*")+)\s*$`)
	quotedRe = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
)

type expectation struct {
	file string
	line int
	re   *regexp.Regexp
	hit  bool
}

// TestChecks runs every case under testdata/checks: each txtar archive
// holds configs with `# want` comments, optionally host.yaml (else
// default-host.yaml) and a "role" file. Every finding must be wanted on
// its line and every want must be met.
func TestChecks(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("..", "testdata", "checks", "LBD*", "*.txtar"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range cases {
		name := filepath.Base(filepath.Dir(file)) + "/" + strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) { runCase(t, file) })
	}
}

func runCase(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(strings.TrimSpace(string(ar.Comment))) == 0 {
		t.Errorf("%s: open with a sentence saying why the case exists", file)
	}
	dir, wants := writeCase(t, ar)
	nodes := caseNodes(ar)
	if len(nodes) > 0 {
		wants = runClusterCase(t, dir, nodes, wants)
	} else {
		in := loadInput(t, dir, dir, checks.RoleCurrent)
		in.Services = append(in.Services, containerServices(t, dir, ar)...)
		in.Ignores = append(in.Ignores, containerIgnores(in.Services)...)
		res, err := checks.Run(in, checks.All())
		if err != nil {
			t.Fatal(err)
		}
		matchFindings(t, dir, res.Findings, wants)
	}
	for _, w := range wants {
		if !w.hit {
			t.Errorf("%s:%d: no finding matched want %q", w.file, w.line, w.re)
		}
	}
}

// extractCase writes a case's files into a new directory and returns it
// with the case's node directories (none but for a cluster case).
func extractCase(t *testing.T, file string) (dir string, nodes []string) {
	t.Helper()
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ = writeCase(t, ar)
	return dir, caseNodes(ar)
}

// writeCase writes the files of a case into a new directory, without their
// want comments, and returns the directory and the wants.
func writeCase(t *testing.T, ar *txtar.Archive) (dir string, wants []*expectation) {
	t.Helper()
	dir = t.TempDir()
	for _, f := range ar.Files {
		p := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		// The daemons never see the want comments: they would read as part
		// of an lbdoctor:ignore reason.
		lines := strings.Split(string(f.Data), "\n")
		for i, line := range lines {
			m := wantRe.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			lines[i] = strings.TrimRight(line[:len(line)-len(m[0])], " ")
			for _, q := range quotedRe.FindAllString(m[1], -1) {
				s, err := strconv.Unquote(q)
				if err != nil {
					t.Fatalf("%s:%d: bad want %s: %v", f.Name, i+1, q, err)
				}
				wants = append(wants, &expectation{file: f.Name, line: i + 1, re: regexp.MustCompile(s)})
			}
		}
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A "setcap" file gives files their file capabilities: "PATH HEX"
	// lines, HEX the security.capability attribute.
	if b, err := os.ReadFile(filepath.Join(dir, "setcap")); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			name, value, _ := strings.Cut(line, " ")
			setFileCaps(t, filepath.Join(dir, name), strings.TrimSpace(value))
		}
	}
	return dir, wants
}

// caseNodes are the node directories of a cluster case, sorted: those
// holding a config or a host.yaml of their own ("lb1/keepalived.conf").
func caseNodes(ar *txtar.Archive) []string {
	seen := map[string]bool{}
	var nodes []string
	for _, f := range ar.Files {
		n, rest, ok := strings.Cut(f.Name, "/")
		switch rest {
		case "nginx.conf", "haproxy.cfg", "keepalived.conf", "host.yaml":
		default:
			ok = false
		}
		if ok && !seen[n] {
			seen[n] = true
			nodes = append(nodes, n)
		}
	}
	sort.Strings(nodes)
	return nodes
}

// runClusterCase judges each node directory as a node named after it
// (role both unless a "role" file says otherwise, as lbdoctor cluster
// does), then the nodes together; every finding, the nodes' own and the
// cluster's, must be wanted.
func runClusterCase(t *testing.T, dir string, names []string, wants []*expectation) []*expectation {
	var nodes []*checks.Node
	var all []checks.Finding
	for _, name := range names {
		in := loadInput(t, dir, filepath.Join(dir, name), checks.RoleBoth)
		in.Host.Hostname = name
		res, err := checks.Run(in, checks.All())
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, res.Findings...)
		nodes = append(nodes, &checks.Node{Name: name, Input: in, Result: res})
	}
	clusters, err := checks.RunCluster(nodes, checks.All())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clusters {
		for _, f := range c.Findings {
			if f.Node == "" || f.Peer == nil || f.Peer.Node == "" || f.Peer.Pos.File == "" {
				t.Errorf("cluster finding %s %q lacks its node or the other side: node %q, peer %+v", f.ID, f.Message, f.Node, f.Peer)
			}
		}
		all = append(all, c.Findings...)
	}
	matchFindings(t, dir, all, wants)
	return wants
}

// matchFindings marks the wants the findings meet and reports the findings
// nobody wanted.
func matchFindings(t *testing.T, dir string, findings []checks.Finding, wants []*expectation) {
	t.Helper()
	for _, f := range findings {
		// Container cases name files as below --root: "/srv/lb/haproxy.cfg".
		rel := strings.TrimPrefix(strings.TrimPrefix(f.Pos.File, dir+string(filepath.Separator)), "/")
		text := f.ID + " " + f.Severity.String() + " " + f.Message
		matched := false
		for _, w := range wants {
			if w.file == rel && w.line == f.Pos.Line && w.re.MatchString(text) {
				w.hit, matched = true, true
			}
		}
		if !matched {
			t.Errorf("%s:%d: unexpected finding: %s (why: %s)", rel, f.Pos.Line, text, f.Why)
		}
	}
}

// loadInput reads what the checks see from one case directory, or from a
// node's directory nodeDir of a cluster case in dir.
func loadInput(t *testing.T, dir, nodeDir string, role checks.Role) *checks.Input {
	t.Helper()
	in := &checks.Input{Role: role}
	if b, err := os.ReadFile(filepath.Join(dir, "role")); err == nil {
		if in.Role, err = checks.ParseRole(strings.TrimSpace(string(b))); err != nil {
			t.Fatal(err)
		}
	}
	hostFile := filepath.Join(nodeDir, "host.yaml")
	if _, err := os.Stat(hostFile); err != nil {
		hostFile = filepath.Join("..", "testdata", "checks", "default-host.yaml")
	}
	var err error
	if in.Host, err = host.Load(hostFile); err != nil {
		t.Fatal(err)
	}
	// Network configuration files in the archive stand for the host's, as
	// --root reads them.
	if in.Host.Network == nil {
		if c := netcfg.Read(parsers.Root(nodeDir)); len(c.Files) > 0 {
			in.Host.Network = c
		}
	}
	unit := func(name string) *systemd.Unit {
		u, err := systemd.ReadUnit(parsers.Root(nodeDir), name+".service")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	if p := filepath.Join(nodeDir, "nginx.conf"); exists(p) {
		u := unit("nginx")
		cfg, err := nginx.Parse(p, nginx.Options{NonRoot: u != nil && !u.Masked && !u.RunsAsRoot()})
		if err != nil {
			t.Fatal(err)
		}
		in.Services = append(in.Services, checks.Service{Name: "nginx", Path: p, Config: cfg, Unit: u})
	}
	if p := filepath.Join(nodeDir, "haproxy.cfg"); exists(p) {
		cfg, err := haproxy.Parse([]string{p}, haproxy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		in.Services = append(in.Services, checks.Service{Name: "haproxy", Path: p, Config: cfg, Unit: unit("haproxy")})
	}
	if p := filepath.Join(nodeDir, "keepalived.conf"); exists(p) {
		cfg, err := keepalived.Parse(p, keepalived.Options{})
		if err != nil {
			t.Fatal(err)
		}
		in.Services = append(in.Services, checks.Service{Name: "keepalived", Path: p, Config: cfg})
	}
	// The other services behind a VIP, each by its main config's name.
	for _, o := range []struct {
		name, file, unit string
		parse            func(string) (*parsers.Config, error)
	}{
		{"apache", "apache2.conf", "apache2", func(p string) (*parsers.Config, error) { return apache.Parse(p, apache.Options{}) }},
		{"postgresql", "postgresql.conf", "postgresql", func(p string) (*parsers.Config, error) { return postgresql.Parse(p, postgresql.Options{}) }},
		{"redis", "redis.conf", "redis-server", func(p string) (*parsers.Config, error) { return redis.Parse(p, redis.Options{}) }},
		{"envoy", "envoy.yaml", "envoy", func(p string) (*parsers.Config, error) { return envoy.Parse(p, envoy.Options{}) }},
		{parsers.SocketService, "web.socket", "", func(p string) (*parsers.Config, error) { return systemd.ReadSocket("", p) }},
	} {
		if p := filepath.Join(nodeDir, o.file); exists(p) {
			cfg, err := o.parse(p)
			if err != nil {
				t.Fatal(err)
			}
			var u *systemd.Unit
			if o.unit != "" {
				u = unit(o.unit)
			}
			in.Services = append(in.Services, checks.Service{Name: o.name, Path: p, Config: cfg, Unit: u})
		}
	}
	for _, s := range in.Services {
		in.Ignores = append(in.Ignores, directive.ScanFiles("", s.Config.Files)...)
	}
	in.BootDirs = tmpfiles.BootDirs(parsers.Root(nodeDir))
	// A "probes" file stands for --probe's answers: "tcp 10.0.0.7 false = EADDRNOTAVAIL".
	if b, err := os.ReadFile(filepath.Join(nodeDir, "probes")); err == nil {
		in.Probes = map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			key, errno, _ := strings.Cut(line, "=")
			in.Probes[strings.TrimSpace(key)] = strings.TrimSpace(errno)
		}
	}
	return in
}

// firesIn reports whether a case wants a finding of check id somewhere.
func firesIn(data, id string) bool {
	for _, line := range strings.Split(data, "\n") {
		if m := wantRe.FindStringSubmatch(line); m != nil && strings.Contains(m[1], `"`+id) {
			return true
		}
	}
	return false
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// containerServices reads the container definitions of a case (container.json,
// compose.yaml, pod.yaml, *.container) as `lbdoctor check --root DIR
// --container FILE` does: each mount's host path lies below dir.
func containerServices(t *testing.T, dir string, ar *txtar.Archive) []checks.Service {
	t.Helper()
	root := parsers.Root(dir)
	var out []checks.Service
	for _, f := range ar.Files {
		switch base := filepath.Base(f.Name); {
		case base == "container.json", base == "compose.yaml", base == "pod.yaml", strings.HasSuffix(base, ".container"):
		default:
			continue
		}
		cs, err := container.ParseFile(root, "/"+f.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			d := c.Daemon()
			p := c.HostPath(c.ConfigPath())
			svc := checks.Service{Name: d, Path: p, Container: c}
			if d == "" {
				continue
			}
			if p != "" && exists(root.Path(p)) {
				var cfg *parsers.Config
				switch d {
				case "nginx":
					cfg, err = nginx.Parse(p, nginx.Options{Root: root, NonRoot: !c.RunsAsRoot()})
				case "haproxy":
					cfg, err = haproxy.Parse([]string{root.Path(p)}, haproxy.Options{})
				case "keepalived":
					cfg, err = keepalived.Parse(p, keepalived.Options{Root: root})
				}
				if err != nil {
					t.Fatal(err)
				}
				if !c.HostNetwork() {
					for i := range cfg.Listeners {
						cfg.Listeners[i].Uncheckable = checks.ContainerNetns + c.Name
					}
				}
				svc.Config = cfg
			}
			out = append(out, svc)
		}
	}
	return out
}

// containerIgnores are the inline ignores of the containers' configs.
func containerIgnores(services []checks.Service) []directive.Ignore {
	var out []directive.Ignore
	for _, s := range services {
		if s.Container != nil && s.Config != nil {
			out = append(out, directive.ScanFiles("", s.Config.Files)...)
		}
	}
	return out
}
