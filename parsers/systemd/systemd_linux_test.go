package systemd

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// TestSystemdAgrees loads every case with the installed systemd
// (`systemd-analyze --root=TREE verify UNIT`, whose debug log dumps the loaded
// unit) and compares what it loaded with ReadUnit's result. The tree is
// copied first, so that nothing systemd-analyze does can touch testdata.
func TestSystemdAgrees(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: cannot compare with systemd")
	}
	compared := 0
	for _, c := range cases {
		if c.tree == "links" && c.unit == "climb.service" {
			// Offline, systemd-analyze resolves the link inside the
			// root to find the unit but then opens the link itself,
			// which leaves the root; the booted system reads the
			// target, as ReadUnit does.
			continue
		}
		name := c.unit
		if !strings.Contains(name, ".") {
			name += ".service"
		}
		t.Run(c.tree+"/"+c.unit, func(t *testing.T) {
			root := copyTree(t, filepath.Join(testdataDir, c.tree))
			u, err := ReadUnit(parsers.Root(root), name)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--man=no", "--root="+root, "verify", name)
			cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=debug", "SYSTEMD_LOG_COLOR=0")
			// The dump goes to stdout, the log to stderr; read
			// together, a log line can land inside a dump line.
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			log := stderr.String() + "\n" + stdout.String()
			d := parseDump(stdout.String(), root)
			switch {
			case u == nil:
				if d != nil || !strings.Contains(log, name+": Failed to load configuration") {
					t.Errorf("ReadUnit found no unit, systemd did:\n%s", log)
				}
				return
			case u.Masked:
				if !strings.Contains(log, "Unit "+name+" is masked.") {
					t.Errorf("ReadUnit says masked, systemd does not:\n%s", log)
				}
				return
			case u.BadSetting:
				if !strings.Contains(log, "has a bad unit file setting") && !strings.Contains(log, "failed to load properly") {
					t.Errorf("ReadUnit says systemd refuses the unit, systemd does not:\n%s", log)
				}
				return
			case d == nil:
				t.Fatalf("systemd loaded no unit:\n%s", log)
			}
			compared++
			files := append([]string(nil), d["Fragment Path"]...)
			for _, f := range d["DropIn Path"] {
				// systemd lists a /dev/null drop-in; it adds nothing.
				if r, _ := parsers.Root(root).Chase(f); r != "/dev/null" {
					files = append(files, f)
				}
			}
			if !reflect.DeepEqual(u.Files, files) {
				t.Errorf("files %q, systemd %q", u.Files, files)
			}
			one := func(k string) string { return strings.Join(d[k], " ") }
			if !u.DynamicUser && (u.User != one("User") || u.Group != one("Group")) {
				t.Errorf("user %q group %q, systemd %q %q", u.User, u.Group, one("User"), one("Group"))
			}
			if dyn := one("DynamicUser") == "yes"; dyn != u.DynamicUser {
				t.Errorf("DynamicUser %v, systemd %q", u.DynamicUser, one("DynamicUser"))
			}
			if got := strings.ToLower(strings.Join(u.AmbientCapabilities, " ")); got != one("AmbientCapabilities") {
				t.Errorf("ambient %q, systemd %q", got, one("AmbientCapabilities"))
			}
			bound, ok := d["CapabilityBoundingSet"]
			if got := strings.ToLower(strings.Join(u.CapabilityBoundingSet, " ")); ok != (u.CapabilityBoundingSet != nil) || got != strings.Join(bound, " ") {
				t.Errorf("bounding %q (%v), systemd %q", u.CapabilityBoundingSet, u.CapabilityBoundingSet != nil, bound)
			}
			// systemd 252 dumps these sandbox settings (not
			// NoNewPrivileges= or RestrictAddressFamilies=).
			if pu := one("PrivateUsers") == "yes"; pu != u.PrivateUsers {
				t.Errorf("PrivateUsers %v, systemd %q", u.PrivateUsers, one("PrivateUsers"))
			}
			for key, mine := range map[string][]string{"SocketBindAllow": u.SocketBindAllow, "SocketBindDeny": u.SocketBindDeny} {
				// systemd lists the rules last first, on one line.
				theirs := strings.Fields(one(key))
				slices.Sort(theirs)
				sorted := slices.Sorted(slices.Values(mine))
				if !slices.Equal(sorted, theirs) {
					t.Errorf("%s %q, systemd %q", key, mine, theirs)
				}
			}
			for key, mine := range map[string][]string{"After": u.After, "Wants": u.Wants, "Requires": u.Requires} {
				theirs := map[string]bool{}
				for _, v := range d[key] {
					if n, origin, _ := strings.Cut(v, " "); strings.Contains(origin, "origin-file") {
						theirs[n] = true
					}
				}
				for _, n := range mine {
					if !theirs[n] {
						t.Errorf("%s has %s, systemd's does not", key, n)
					}
					delete(theirs, n)
				}
				for n := range theirs {
					// systemd adds these itself from other settings.
					if !strings.HasSuffix(n, ".slice") && n != "tmp.mount" && n != "systemd-tmpfiles-setup.service" && n != "systemd-journald.socket" {
						t.Errorf("%s lacks %s, which systemd has", key, n)
					}
				}
			}
		})
	}
	if compared < 10 {
		t.Errorf("compared %d loaded units with systemd, want at least 10", compared)
	}
}

// parseDump returns the first unit systemd-analyze dumped, as "Key" ->
// values, with the root taken off paths; nil when there is none.
func parseDump(log, root string) map[string][]string {
	_, rest, ok := strings.Cut(log, "\t-> Unit ")
	if !ok {
		return nil
	}
	d := map[string][]string{}
	for _, l := range strings.Split(rest, "\n")[1:] {
		if !strings.HasPrefix(l, "\t\t") || strings.HasPrefix(l, "\t\t\t") {
			if len(d) > 0 && !strings.HasPrefix(l, "\t\t") {
				break
			}
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(l, "\t\t"), ": ")
		if !ok {
			k, v, ok = strings.Cut(strings.TrimPrefix(l, "\t\t"), ":")
			if !ok {
				continue
			}
		}
		if strings.HasSuffix(k, "Path") {
			v = strings.TrimPrefix(v, root)
		}
		switch k {
		case "AmbientCapabilities", "CapabilityBoundingSet":
			d[k] = append(d[k], strings.Fields(v)...)
			if d[k] == nil {
				d[k] = []string{}
			}
		default:
			d[k] = append(d[k], v)
		}
	}
	return d
}

// copyTree copies the fixture tree src, links as links, to a temporary
// directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "root")
	err := filepath.WalkDir(src, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case de.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case de.IsDir():
			return os.MkdirAll(to, 0o755)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, data, 0o644)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
