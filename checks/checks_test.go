package checks_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/apache"
	"github.com/lbdoctor/lbdoctor/parsers/directive"
	"github.com/lbdoctor/lbdoctor/parsers/envoy"
	"github.com/lbdoctor/lbdoctor/parsers/haproxy"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/keepalived"
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
		if c.Title == "" || strings.HasSuffix(c.Title, ".") || len(c.Doc) < 200 || (c.Run == nil && c != checks.LBD003) || c.Severity == 0 {
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
	dir := t.TempDir()
	var wants []*expectation
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
	in := &checks.Input{Role: checks.RoleCurrent}
	if b, err := os.ReadFile(filepath.Join(dir, "role")); err == nil {
		if in.Role, err = checks.ParseRole(strings.TrimSpace(string(b))); err != nil {
			t.Fatal(err)
		}
	}
	hostFile := filepath.Join(dir, "host.yaml")
	if _, err := os.Stat(hostFile); err != nil {
		hostFile = filepath.Join("..", "testdata", "checks", "default-host.yaml")
	}
	if in.Host, err = host.Load(hostFile); err != nil {
		t.Fatal(err)
	}
	unit := func(name string) *systemd.Unit {
		u, err := systemd.ReadUnit(parsers.Root(dir), name+".service")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	if p := filepath.Join(dir, "nginx.conf"); exists(p) {
		u := unit("nginx")
		cfg, err := nginx.Parse(p, nginx.Options{NonRoot: u != nil && !u.Masked && !u.RunsAsRoot()})
		if err != nil {
			t.Fatal(err)
		}
		in.Services = append(in.Services, checks.Service{Name: "nginx", Path: p, Config: cfg, Unit: u})
	}
	if p := filepath.Join(dir, "haproxy.cfg"); exists(p) {
		cfg, err := haproxy.Parse([]string{p}, haproxy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		in.Services = append(in.Services, checks.Service{Name: "haproxy", Path: p, Config: cfg, Unit: unit("haproxy")})
	}
	if p := filepath.Join(dir, "keepalived.conf"); exists(p) {
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
		if p := filepath.Join(dir, o.file); exists(p) {
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
	in.BootDirs = tmpfiles.BootDirs(parsers.Root(dir))
	// A "probes" file stands for --probe's answers: "tcp 10.0.0.7 false = EADDRNOTAVAIL".
	if b, err := os.ReadFile(filepath.Join(dir, "probes")); err == nil {
		in.Probes = map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			key, errno, _ := strings.Cut(line, "=")
			in.Probes[strings.TrimSpace(key)] = strings.TrimSpace(errno)
		}
	}
	res, err := checks.Run(in, checks.All())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		rel := strings.TrimPrefix(f.Pos.File, dir+string(filepath.Separator))
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
	for _, w := range wants {
		if !w.hit {
			t.Errorf("%s:%d: no finding matched want %q", w.file, w.line, w.re)
		}
	}
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
