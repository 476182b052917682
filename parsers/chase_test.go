package parsers

import (
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
