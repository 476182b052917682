package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/checks/node"
	"github.com/lbdoctor/lbdoctor/parsers"
)

// serviceCorpusCase is a real-world configuration of Apache httpd,
// PostgreSQL or Redis, as its Debian package (or upstream) ships it, and
// the sockets the real daemon opened on it (testdata/services/NAME.sockets,
// recorded from `ss -ltn` in an empty network namespace and checked again
// by TestServiceCorpusDaemons).
type serviceCorpusCase struct {
	name    string
	service string // a moreServices kind
	tree    string // the root tree, below testdata
	config  string // the main config, as the daemon names it
	// setup changes the copied tree the way an admin's command would
	// (a2enmod ssl), before anything reads it.
	setup func(t *testing.T, root string)
}

func serviceCorpus() []serviceCorpusCase {
	return []serviceCorpusCase{
		{name: "apache-debian", service: "apache", tree: "parsers/apache/debian", config: "/etc/apache2/apache2.conf"},
		// Debian's default after `a2enmod ssl`: ports.conf's
		// <IfModule ssl_module> Listen 443 comes alive.
		{name: "apache-debian-a2enmod-ssl", service: "apache", tree: "parsers/apache/debian", config: "/etc/apache2/apache2.conf",
			setup: func(t *testing.T, root string) {
				dir := filepath.Join(root, "etc/apache2/mods-enabled")
				for _, m := range []string{"ssl.load", "ssl.conf", "socache_shmcb.load"} {
					if err := os.Symlink("../mods-available/"+m, filepath.Join(dir, m)); err != nil {
						t.Fatal(err)
					}
				}
			}},
		{name: "postgresql-debian", service: "postgresql", tree: "services/postgresql-debian", config: "/etc/postgresql/15/main/postgresql.conf"},
		// The sample initdb writes, where RHEL keeps it (in the data
		// directory).
		{name: "postgresql-upstream-sample", service: "postgresql", tree: "services/postgresql-upstream", config: "/var/lib/pgsql/data/postgresql.conf"},
		{name: "redis-debian", service: "redis", tree: "parsers/redis/debian", config: "/etc/redis/redis.conf"},
		{name: "redis-sentinel-debian", service: "redis", tree: "parsers/redis/sentinel", config: "/etc/redis/sentinel.conf"},
	}
}

// stageServiceCorpus copies a case's tree (with Debian's /etc/hosts) into a
// directory every daemon user can read, and applies its setup.
func stageServiceCorpus(t *testing.T, c serviceCorpusCase) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lbd-svc-corpus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root")
	if out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "testdata", c.tree), root).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", c.tree, err, out)
	}
	hosts, err := os.ReadFile(filepath.Join("..", "..", "testdata", "services", "hosts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "hosts"), hosts, 0o644); err != nil {
		t.Fatal(err)
	}
	if c.setup != nil {
		c.setup(t, root)
	}
	// Every daemon user must reach its config.
	if out, err := exec.Command("chmod", "-R", "a+rX", dir).CombinedOutput(); err != nil {
		t.Fatalf("chmod: %v\n%s", err, out)
	}
	return root
}

// recordedSockets reads testdata/services/NAME.sockets: one `ss -ltn`
// local address a line, sorted, "#" comments.
func recordedSockets(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "services", name+".sockets"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// ssSockets are the TCP sockets lbdoctor says the daemon opens, as `ss
// -ltn` prints their local address: a dual-stack [::] is "*".
func ssSockets(cfg *parsers.Config) []string {
	var out []string
	for _, l := range cfg.Listeners {
		if l.Proto != parsers.TCP || l.Via != "" || !l.Addr.IsValid() {
			continue
		}
		s := l.Socket()
		if l.Addr.Is6() && l.Addr.IsUnspecified() && l.V6Only == parsers.V6OnlyOff {
			s = parsers.JoinHostPort("*", l.Port)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// TestServiceCorpus parses each real-world configuration and holds the
// sockets lbdoctor lists to the ones the real daemon opened on it.
func TestServiceCorpus(t *testing.T) {
	kinds := map[string]node.ServiceKind{}
	for _, k := range node.MoreServices() {
		kinds[k.Name] = k
	}
	for _, c := range serviceCorpus() {
		t.Run(c.name, func(t *testing.T) {
			root := stageServiceCorpus(t, c)
			cfg, err := kinds[c.service].Parse(c.config, parsers.Root(root))
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Errors) > 0 {
				t.Errorf("errors in a config the daemon accepts: %v", cfg.Errors)
			}
			got, want := ssSockets(cfg), recordedSockets(t, c.name)
			if !slices.Equal(got, want) {
				t.Errorf("lbdoctor lists %q, the daemon opened %q", got, want)
			}
		})
	}
}
