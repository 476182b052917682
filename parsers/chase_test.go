package parsers

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadConfDir pins how a configuration directory is read, skipped or
// reported, for sysctl.d and systemd's unit directories alike.
func TestReadConfDir(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string) {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mk("etc/real.d")
	if err := os.WriteFile(filepath.Join(dir, "etc/real.d/a.conf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"etc/link.d": "/etc/real.d", "etc/loop.d": "/etc/loop.d"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	root := Root(dir)
	for _, tt := range []struct {
		dir, resolved, problem string
		entries                int
	}{
		{dir: "/etc/real.d", resolved: "/etc/real.d", entries: 1},
		{dir: "/etc/link.d", resolved: "/etc/real.d", entries: 1},
		{dir: "/etc/missing.d"},
		{dir: "/etc/file", resolved: "/etc/file", problem: "not a directory"},
		{dir: "/etc/file/sub.d", problem: "chase /etc/file/sub.d: lstat ROOT/etc/file/sub.d: not a directory"},
		{dir: "/etc/loop.d", problem: "chase /etc/loop.d: too many levels of symbolic links"},
	} {
		resolved, entries, problem, err := root.ReadConfDir(tt.dir)
		problem = strings.ReplaceAll(problem, dir, "ROOT")
		if err != nil || resolved != tt.resolved || problem != tt.problem || len(entries) != tt.entries {
			t.Errorf("ReadConfDir(%s) = %q, %d entries, problem %q, %v; want %q, %d entries, problem %q",
				tt.dir, resolved, len(entries), problem, err, tt.resolved, tt.entries, tt.problem)
		}
	}
}

// TestChaseLinks pins the links Chase reports on the way: a target ending
// in "/", a relative one, a chain, ".." that stops at the root, a name
// with a trailing slash, and the links met before a missing name.
func TestChaseLinks(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"etc", "opt/nginx/conf.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"etc/nginx":        "/opt/nginx/",
		"opt/nginx/sites":  "conf.d/",
		"etc/a":            "b",
		"etc/b":            "../../../../opt/nginx",
		"etc/gone":         "/etc/nginx/missing/x",
		"opt/nginx/up.d":   "../../../../etc/nginx//conf.d/.",
		"etc/nginx.dir.cf": "nginx/",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	root := Root(dir)
	for _, tt := range []struct {
		name, resolved, links string
		missing               bool
	}{
		{name: "/etc/nginx", resolved: "/opt/nginx", links: "/etc/nginx->/opt/nginx/"},
		{name: "/etc/nginx/", resolved: "/opt/nginx", links: "/etc/nginx->/opt/nginx/"},
		{name: "/etc/nginx/sites/", resolved: "/opt/nginx/conf.d", links: "/etc/nginx->/opt/nginx/ /opt/nginx/sites->conf.d/"},
		{name: "/etc/a/conf.d", resolved: "/opt/nginx/conf.d", links: "/etc/a->b /etc/b->../../../../opt/nginx"},
		{name: "/etc/nginx.dir.cf/up.d", resolved: "/opt/nginx/conf.d", links: "/etc/nginx.dir.cf->nginx/ /etc/nginx->/opt/nginx/ /opt/nginx/up.d->../../../../etc/nginx//conf.d/. /etc/nginx->/opt/nginx/"},
		{name: "/etc/gone", resolved: "/opt/nginx/missing/x", links: "/etc/gone->/etc/nginx/missing/x /etc/nginx->/opt/nginx/", missing: true},
		{name: "/opt/nginx/conf.d/", resolved: "/opt/nginx/conf.d"},
	} {
		resolved, links, err := root.ChaseLinks(tt.name)
		var got []string
		for _, l := range links {
			got = append(got, l.Name+"->"+l.Target)
		}
		if resolved != tt.resolved || strings.Join(got, " ") != tt.links || errors.Is(err, fs.ErrNotExist) != tt.missing || (err != nil && !tt.missing) {
			t.Errorf("ChaseLinks(%s) = %q, %q, %v; want %q, %q (missing %v)", tt.name, resolved, got, err, tt.resolved, tt.links, tt.missing)
		}
		if r, err2 := root.Chase(tt.name); r != resolved || (err2 == nil) != (err == nil) {
			t.Errorf("Chase(%s) = %q, %v; ChaseLinks gave %q, %v", tt.name, r, err2, resolved, err)
		}
	}
}
