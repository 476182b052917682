package systemd

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdataDir = "../../testdata/parsers/systemd"

// fixtureRoot is the absolute root of one fixture tree.
func fixtureRoot(t testing.TB, tree string) parsers.Root {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(testdataDir, tree))
	if err != nil {
		t.Fatal(err)
	}
	return parsers.Root(dir)
}

// cases are the units the golden files and the systemd cross-check load,
// with whether each may bind a privileged port.
var cases = []struct {
	tree, unit string
	canBind    bool
}{
	// The packaged units run as root.
	{"debian", "nginx.service", true},
	{"debian", "haproxy", true},
	{"debian", "keepalived.service", true}, // not installed in the tree: nil
	// A drop-in in /etc replaces the vendor one of the same name and
	// keeps the capability; a /dev/null drop-in hides User=root.
	{"dropins", "nginx.service", true},
	// An empty AmbientCapabilities= drops CAP_NET_BIND_SERVICE.
	{"dropins", "haproxy.service", false},
	{"dropins", "bounded.service", false},
	{"dropins", "tight.service", true},
	{"dropins", "emptybounding.service", false},
	{"dropins", "tilde.service", true},
	{"dropins", "dynamic.service", true},
	{"dropins", "lb@blue.service", true},
	{"dropins", "lb@green.service", true},
	{"dropins", "foo-bar-baz.service", true},
	{"dropins", "loadbalancer.service", false},
	{"dropins", "masked.service", true},
	{"dropins", "empty.service", true},
	{"syntax", "syntax.service", true},
	{"syntax", "tail.service", false},
	{"syntax", "badheader.service", false},
	{"syntax", "spec@x.service", false},
	{"links", "climb.service", false},
	{"links", "loop.service", true},
	{"links", "ping.service", true},
	// systemd's sandbox: PrivateUsers= voids the ambient capability.
	{"sandbox", "privusers.service", false},
	{"sandbox", "sockbind.service", true},
	{"sandbox", "families.service", true},
	{"sandbox", "nnp.service", false},
}

// golden is what a golden file holds for one unit.
type golden struct {
	*Unit
	CanBindPrivileged bool `json:"can_bind_privileged"`
}

// TestGolden loads each case and compares it with
// testdata/parsers/systemd/TREE.UNIT.json.
func TestGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.tree+"/"+c.unit, func(t *testing.T) {
			u, err := ReadUnit(fixtureRoot(t, c.tree), c.unit)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.CanBindPrivileged(); got != c.canBind {
				t.Errorf("CanBindPrivileged() = %v, want %v", got, c.canBind)
			}
			var v any
			if u != nil {
				v = golden{u, u.CanBindPrivileged()}
			}
			got, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			file := filepath.Join(testdataDir, c.tree+"."+strings.TrimSuffix(c.unit, ".service")+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the result; run with -update and review the diff.\ngot:\n%s", file, got)
			}
		})
	}
}

// TestFacts pins the facts the checks depend on, so that a golden file
// rewritten by mistake does not hide a regression.
func TestFacts(t *testing.T) {
	load := func(tree, unit string) *Unit {
		t.Helper()
		u, err := ReadUnit(fixtureRoot(t, tree), unit)
		if err != nil || u == nil {
			t.Fatalf("ReadUnit(%s, %s) = %v, %v", tree, unit, u, err)
		}
		return u
	}
	u := load("debian", "nginx.service")
	if want := []string{"/lib/systemd/system/nginx.service"}; !reflect.DeepEqual(u.Files, want) {
		t.Errorf("debian nginx files = %q, want %q", u.Files, want)
	}
	if want := []string{"network-online.target", "remote-fs.target", "nss-lookup.target"}; !reflect.DeepEqual(u.After, want) {
		t.Errorf("debian nginx After = %q, want %q", u.After, want)
	}
	if u.User != "" || u.CapabilityBoundingSet != nil || u.AmbientCapabilities != nil {
		t.Errorf("debian nginx runs as %q with ambient %q, bounding %q", u.User, u.AmbientCapabilities, u.CapabilityBoundingSet)
	}

	u = load("dropins", "nginx.service")
	wantFiles := []string{
		"/lib/systemd/system/nginx.service",
		"/usr/lib/systemd/system/nginx.service.d/05-after.conf",
		"/etc/systemd/system/nginx.service.d/10-user.conf",
		"/etc/systemd/system/service.d/90-all.conf",
	}
	if !reflect.DeepEqual(u.Files, wantFiles) {
		t.Errorf("dropins nginx files = %q, want %q", u.Files, wantFiles)
	}
	if u.User != "www-data" || u.Pos["User"] != (parsers.Pos{File: "/etc/systemd/system/nginx.service.d/10-user.conf", Line: 3}) {
		t.Errorf("dropins nginx User = %q at %v", u.User, u.Pos["User"])
	}
	if want := []string{"network-online.target", "remote-fs.target", "nss-lookup.target", "keepalived.service", "time-sync.target"}; !reflect.DeepEqual(u.After, want) {
		t.Errorf("dropins nginx After = %q, want %q", u.After, want)
	}
	if want := []string{"network-online.target", "keepalived.service"}; !reflect.DeepEqual(u.Wants, want) {
		t.Errorf("dropins nginx Wants = %q, want %q", u.Wants, want)
	}
	if want := []string{"network-online.target"}; !reflect.DeepEqual(u.Requires, want) {
		t.Errorf("dropins nginx Requires = %q, want %q", u.Requires, want)
	}

	u = load("dropins", "haproxy.service")
	if want := []string{"CAP_NET_RAW"}; !reflect.DeepEqual(u.AmbientCapabilities, want) || u.User != "haproxy" {
		t.Errorf("dropins haproxy ambient = %q user %q", u.AmbientCapabilities, u.User)
	}
	u = load("dropins", "tight.service")
	if want := []string{"CAP_SETGID", "CAP_SETUID", "CAP_NET_BIND_SERVICE"}; !reflect.DeepEqual(u.CapabilityBoundingSet, want) {
		t.Errorf("tight bounding = %q, want %q", u.CapabilityBoundingSet, want)
	}
	u = load("dropins", "emptybounding.service")
	if u.CapabilityBoundingSet == nil || len(u.CapabilityBoundingSet) != 0 {
		t.Errorf("emptybounding bounding = %#v, want empty and non-nil", u.CapabilityBoundingSet)
	}
	u = load("dropins", "lb@blue.service")
	if u.User != "blue" || !reflect.DeepEqual(u.After, []string{"blue-net.target", "time-sync.target"}) {
		t.Errorf("lb@blue user %q after %q", u.User, u.After)
	}
	u = load("dropins", "foo-bar-baz.service")
	if want := []string{"b.service", "c.service", "time-sync.target"}; !reflect.DeepEqual(u.After, want) {
		t.Errorf("foo-bar-baz After = %q, want %q", u.After, want)
	}
	u = load("dropins", "loadbalancer.service")
	if u.Name != "haproxy.service" || !strings.HasSuffix(u.Files[len(u.Files)-2], "loadbalancer.service.d/30-alias.conf") {
		t.Errorf("alias loads as %q from %q", u.Name, u.Files)
	}
	for _, name := range []string{"masked.service", "empty.service"} {
		if u = load("dropins", name); !u.Masked || len(u.Files) != 0 {
			t.Errorf("%s: masked %v, files %q", name, u.Masked, u.Files)
		}
	}
	u = load("links", "climb.service")
	if u.User != "inside" || u.Files[0] != "/opt/units/climb.service" {
		t.Errorf("climb.service: user %q from %q; the link must resolve inside the root", u.User, u.Files)
	}
	u = load("syntax", "badheader.service")
	if u.User != "before-bad-header" || len(u.Errors) != 1 || !u.BadSetting {
		t.Errorf("badheader: user %q, errors %v", u.User, u.Errors)
	}
}

func TestReadUnitNames(t *testing.T) {
	root := fixtureRoot(t, "dropins")
	for _, name := range []string{"", ".service", "../nginx.service", "a/b.service", "nginx.bogus", "a@b@c.service"} {
		if u, err := ReadUnit(root, name); err == nil {
			t.Errorf("ReadUnit(%q) = %v, nil; want an error", name, u)
		}
	}
}

func TestParse(t *testing.T) {
	type a = struct{ section, key, value string }
	tests := []struct {
		in   string
		want []a
		errs []int // lines with errors
	}{
		{"[Service]\nUser=x\n", []a{{"Service", "User", "x"}}, nil},
		{"[Service]\n  User  =  x y  \n", []a{{"Service", "User", "x y"}}, nil},
		{"[Service]\nUser=a\\\nb\n", []a{{"Service", "User", "a b"}}, nil},
		{"[Service]\nUser=a\\\\\nGroup=b\n", []a{{"Service", "User", `a\\`}, {"Service", "Group", "b"}}, nil},
		{"[Service]\nUser=a\\\n# c\n; d\nb\n", []a{{"Service", "User", "a b"}}, nil},
		{"[Service]\nUser=a\\", []a{{"Service", "User", "a"}}, nil},
		{"[Service]\nUser=a \\ \n", []a{{"Service", "User", `a \`}}, nil},
		{"User=x\n", nil, []int{1}},
		{"[Service]\nnothing\n=x\n", nil, []int{2, 3}},
		{"[Service\nUser=x\n", nil, []int{1}},
		{"[]\nUser=x\n", []a{{"", "User", "x"}}, nil},
		{"\uFEFF[Unit]\r\nAfter=x\r\n", []a{{"Unit", "After", "x"}}, nil},
		{"[Unit]\nAfter=\xff\n", nil, []int{2}},
	}
	for _, tt := range tests {
		as, errs, _ := parse("/u", []byte(tt.in))
		var got []a
		for _, x := range as {
			got = append(got, a{x.section, x.key, x.value})
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parse(%q) = %q, want %q", tt.in, got, tt.want)
		}
		var lines []int
		for _, e := range errs {
			lines = append(lines, e.Pos.Line)
		}
		if !reflect.DeepEqual(lines, tt.errs) {
			t.Errorf("parse(%q) errors at %v (%v), want %v", tt.in, lines, errs, tt.errs)
		}
	}
}

func TestCapSet(t *testing.T) {
	bit := func(names ...string) uint64 {
		var m uint64
		for _, n := range names {
			c, ok := capFromName(n)
			if !ok {
				t.Fatalf("unknown %s", n)
			}
			m |= 1 << c
		}
		return m
	}
	tests := []struct {
		values  []string
		initial uint64
		want    uint64
	}{
		{[]string{"CAP_NET_BIND_SERVICE"}, 0, bit("CAP_NET_BIND_SERVICE")},
		{[]string{"cap_net_bind_service 12"}, 0, bit("CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN")},
		{[]string{"CAP_NET_RAW", "CAP_NET_BIND_SERVICE"}, 0, bit("CAP_NET_RAW", "CAP_NET_BIND_SERVICE")},
		{[]string{"CAP_NET_RAW", ""}, 0, 0},
		{[]string{"CAP_NET_RAW", "", "CAP_CHOWN"}, 0, bit("CAP_CHOWN")},
		{[]string{"~CAP_NET_RAW"}, 0, ^bit("CAP_NET_RAW")},
		{[]string{"CAP_NET_BIND_SERVICE"}, capAll, bit("CAP_NET_BIND_SERVICE")},
		{[]string{"~CAP_NET_BIND_SERVICE"}, capAll, ^bit("CAP_NET_BIND_SERVICE")},
		{[]string{"CAP_CHOWN CAP_KILL", "~CAP_KILL"}, capAll, bit("CAP_CHOWN")},
		{[]string{"CAP_CHOWN", "~"}, capAll, capAll},
		{[]string{""}, capAll, 0},
		{[]string{"'CAP_CHOWN' \"CAP_KILL\""}, capAll, bit("CAP_CHOWN", "CAP_KILL")},
		{[]string{"CAP_BOGUS"}, capAll, 0},
	}
	for _, tt := range tests {
		u := &Unit{}
		got := tt.initial
		for _, v := range tt.values {
			got = u.capSet(assignment{key: "X", value: v}, got, tt.initial)
		}
		if got != tt.want {
			t.Errorf("%q from %#x = %#x, want %#x", tt.values, tt.initial, got, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	if got, want := splitWords(`a "b c" 'd'e f\ g`), []string{"a", "b c", "de", "f g"}; !reflect.DeepEqual(got, want) {
		t.Errorf("splitWords = %q, want %q", got, want)
	}
	if got, want := splitDeps(` a.service  "b c" d\ e.service `), []string{"a.service", `"b`, `c"`, `d\`, "e.service"}; !reflect.DeepEqual(got, want) {
		t.Errorf("splitDeps = %q, want %q", got, want)
	}
}

func TestExpand(t *testing.T) {
	tests := []struct{ in, id, want string }{
		{"u-%i", "lb@blue.service", "u-blue"},
		{"%n %N %p %P %I %j %%", "a-b@x-y.service", "a-b@x-y.service a-b@x-y a-b a/b x/y b %"},
		{"%I", `x@a\x2db.service`, "a-b"},
		{"%q 100%", "x.service", "%q 100%"},
		{"plain", "x.service", "plain"},
	}
	for _, tt := range tests {
		if got := expand(tt.in, tt.id); got != tt.want {
			t.Errorf("expand(%q, %q) = %q, want %q", tt.in, tt.id, got, tt.want)
		}
	}
}

func TestNameDirs(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"nginx.service", []string{"/p/nginx.service.d"}},
		{"foo-bar-baz.service", []string{"/p/foo-bar-baz.service.d", "/p/foo-bar-.service.d", "/p/foo-.service.d"}},
		{"lb@blue.service", []string{"/p/lb@blue.service.d", "/p/lb@.service.d"}},
		{"a-b@c.service", []string{"/p/a-b@c.service.d", "/p/a-b@.service.d", "/p/a-.service.d", "/p/a-@c.service.d", "/p/a-@.service.d"}},
		{"-.slice", []string{"/p/-.slice.d"}},
		{"a--.service", []string{"/p/a--.service.d", "/p/a-.service.d"}},
	}
	for _, tt := range tests {
		if got := nameDirs("/p", tt.name, ".d", 0); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("nameDirs(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// FuzzParse feeds unit file contents to the parser and a unit: no panic, no
// assignment without a key or section, positions inside the input.
func FuzzParse(f *testing.F) {
	err := filepath.WalkDir(testdataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || strings.HasSuffix(p, ".json") {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil {
			f.Add(data)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		as, errs, _ := parse("/u.service", data)
		lines := len(parsers.SplitSystemdLines(string(data)))
		for _, a := range as {
			if a.key == "" || a.pos.Line < 1 || a.pos.Line > lines || strings.Trim(a.key, whitespace) != a.key {
				t.Fatalf("bad assignment %+v in %d lines", a, lines)
			}
		}
		for _, e := range errs {
			if e.Pos.Line < 1 || e.Pos.Line > lines+1 {
				t.Fatalf("error %v outside %d lines", e, lines)
			}
		}
		u := &Unit{Name: "x@y.service", Pos: map[string]parsers.Pos{}, bounding: capAll}
		for _, a := range as {
			u.set(a)
		}
		u.finish()
		_ = u.CanBindPrivileged()
	})
}

// TestLiveRoot loads this machine's nginx unit: it must not fail, and it
// must be found when its packaged file is installed.
func TestLiveRoot(t *testing.T) {
	u, err := ReadUnit("", "nginx.service")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/lib/systemd/system/nginx.service"); err == nil && u == nil {
		t.Error("ReadUnit found no nginx.service although /lib/systemd/system/nginx.service exists")
	}
}
