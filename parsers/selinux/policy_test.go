package selinux

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// fixture is a module store written by hand (one module bzip2-compressed,
// as libsemanage stores them): what these tests read needs no SELinux
// tool. The grid tests (tools_linux_test.go) hold the same code against
// the real tools on a real policy.
const fixture = "../../testdata/parsers/selinux/root"

func TestReadPolicyFixture(t *testing.T) {
	p, err := ReadPolicy(fixture, "targeted")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notes) > 0 {
		t.Errorf("notes: %v", p.Notes)
	}
	var ports []string
	for _, pc := range p.Ports {
		ports = append(ports, pc.String())
	}
	want := []string{
		"tcp 8080 ssh_port_t local", "tcp 9000-9100 http_port_t local", // ports.local, last line first
		"tcp 80 http_port_t", "udp 443 http_port_t", "tcp 8080-8081 http_cache_port_t", "tcp 1-1023 reserved_port_t", "tcp 1024-65535 unreserved_port_t",
	}
	if !reflect.DeepEqual(ports, want) {
		t.Errorf("ports:\n%s\nwant\n%s", strings.Join(ports, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range []struct {
		proto string
		port  int
		want  string
	}{
		{"tcp", 8080, "ssh_port_t"}, {"tcp", 8081, "http_cache_port_t"}, {"tcp", 9050, "http_port_t"}, {"tcp", 80, "http_port_t"},
		{"tcp", 22, "reserved_port_t"}, {"tcp", 1024, "unreserved_port_t"}, {"udp", 53, "port_t"}, {"udp", 443, "http_port_t"},
	} {
		if pc, _ := PortType(p.Ports, p.DefaultPortType, c.proto, c.port); pc.Type != c.want {
			t.Errorf("%d/%s: %s, want %s", c.port, c.proto, pc.Type, c.want)
		}
	}
	if !reflect.DeepEqual(p.Booleans, map[string]bool{"web_bind_any": false, "web_udp": false}) || !reflect.DeepEqual(p.LocalBooleans, map[string]bool{"web_udp": false}) {
		t.Errorf("booleans %v, local %v", p.Booleans, p.LocalBooleans)
	}
	if !reflect.DeepEqual(p.Permissive, map[string]bool{"web_t": true}) {
		t.Errorf("permissive %v", p.Permissive)
	}
	if d, ok := p.Transition("init_t", "web_exec_t"); !ok || d != "web_t" {
		t.Errorf("transition: %s %t", d, ok)
	}
	if _, ok := p.Transition("init_t", "bin_t"); ok {
		t.Error("transition for bin_t")
	}
	var grants []string
	for _, g := range p.Grants("web_alias_t") {
		grants = append(grants, g.Proto+" "+strings.Join(sortedKeys(g.Types), ",")+" if "+g.Cond+" "+map[bool]string{true: "true", false: "false"}[g.Branch])
	}
	wantGrants := []string{
		// web_ports: port_type and not the defaults.
		"tcp http_cache_port_t,http_port_t if  true",
		"tcp http_cache_port_t,http_port_t,port_t,reserved_port_t,ssh_port_t,unreserved_port_t if (web_bind_any) true",
		"udp reserved_port_t if (and (web_udp) (not (web_bind_any))) false",
		"udp http_port_t if (and (web_udp) (not (web_bind_any))) true",
		"tcp reserved_port_t if  true", // the tunable, decided at compile time
		// Not: ssh_port_t from the priority-100 web module (400 wins), from
		// the disabled module, or from the optional requiring missing_t;
		// nor port_t from the optional that requires what it declares.
	}
	if !reflect.DeepEqual(grants, wantGrants) {
		t.Errorf("grants:\n%s\nwant\n%s", strings.Join(grants, "\n"), strings.Join(wantGrants, "\n"))
	}
}

func TestReadFacts(t *testing.T) {
	f, err := Read(fixture, []string{"nginx", "keepalived"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Mode != Enforcing || f.BootMode != Enforcing || f.Policy != "targeted" {
		t.Errorf("modes %s %s %s", f.Mode, f.BootMode, f.Policy)
	}
	wantBools := []Boolean{{Name: "web_bind_any", Value: true, Persisted: false}, {Name: "web_udp", Value: false, Persisted: false}}
	if !reflect.DeepEqual(f.Booleans, wantBools) {
		t.Errorf("booleans %+v", f.Booleans)
	}
	d, ok := f.Domain("nginx")
	if !ok || d.Domain != "web_t" || d.ExecType != "web_exec_t" || !d.Permissive || !strings.HasPrefix(d.Label, "file_contexts /etc/selinux/targeted/contexts/files/file_contexts:") {
		t.Fatalf("nginx: %+v", d)
	}
	if k, ok := f.Domain("keepalived"); !ok || k.Domain != InitDomain || k.ExecType != "bin_t" {
		t.Errorf("keepalived (bin_t, no transition): %+v", k)
	}
	for _, c := range []struct {
		proto, typ string
		now, boot  bool
	}{
		{"tcp", "http_port_t", true, true},
		{"tcp", "ssh_port_t", true, false}, // web_bind_any: on now, off at boot
		{"udp", "reserved_port_t", true, true},
		{"udp", "http_port_t", false, false},
	} {
		if got := d.MayBind(c.proto, c.typ, f.BoolValue(false)); got != c.now {
			t.Errorf("%s %s now: %t", c.proto, c.typ, got)
		}
		if got := d.MayBind(c.proto, c.typ, f.BoolValue(true)); got != c.boot {
			t.Errorf("%s %s at boot: %t", c.proto, c.typ, got)
		}
	}
}

func TestReadDisabled(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/selinux"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/selinux/config"), []byte("SELINUX=permissive\nSELINUXTYPE=targeted\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Disabled now and permissive at boot: nothing to decide, no store read.
	f, err := Read(parsers.Root(root), []string{"nginx"})
	if err != nil || f.Mode != Disabled || f.BootMode != Permissive || len(f.Domains) != 0 {
		t.Errorf("%+v %v", f, err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/selinux/config"), []byte("SELINUX=enforcing\nSELINUXTYPE=targeted\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := Read(parsers.Root(root), []string{"nginx"}); err != nil || !strings.Contains(f.Unread, "no module store") {
		t.Errorf("enforcing at boot without a store: %+v %v", f, err)
	}
}

func TestFileContexts(t *testing.T) {
	fc, err := ReadFileContexts(fixture, "targeted")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/usr/sbin/web":     "web_exec_t", // an exact path beats every regular expression
		"/sbin/web":         "web_exec_t", // file_contexts.subs_dist
		"/usr/sbin/webd":    "web_exec_t", // file_contexts.local
		"/usr/sbin/we":      "bin_t",
		"/usr/sbin/web-dir": "bin_t", // -d is for directories
		"/usr/sbin/none":    "",      // <<none>>
		"/opt/x":            "",
	} {
		ctx, _, _ := fc.Lookup(path)
		if contextType(ctx) != want && !(want == "" && ctx == "") {
			t.Errorf("%s: %q, want %s", path, ctx, want)
		}
	}
}

func TestCond(t *testing.T) {
	vals := map[string]bool{"a": true, "b": false}
	value := func(n string) (bool, bool) { v, ok := vals[n]; return v, ok }
	for cond, want := range map[string]bool{
		"": true, "(a)": true, "(b)": false, "(not (b))": true, "(and (a) (b))": false, "(or (a) (b))": true,
		"(xor (a) (b))": true, "(eq (a) (b))": false, "(neq (a) (b))": true, "(unknown)": false,
	} {
		if got, err := EvalCond(cond, value); err != nil || got != want {
			t.Errorf("%s: %t %v, want %t", cond, got, err, want)
		}
	}
	if got := CondText("(and (a) (not (b)))", true); got != "a && !b" {
		t.Errorf("CondText: %q", got)
	}
	if got := CondText("(a)", false); got != "!(a)" {
		t.Errorf("CondText false branch: %q", got)
	}
	if _, err := EvalCond("(a", value); err == nil {
		t.Error("no error for an unbalanced condition")
	}
}

// FuzzParseCIL: the CIL reader never panics, whatever a module holds.
func FuzzParseCIL(f *testing.F) {
	for _, s := range []string{"(type a)", "(booleanif (and (a) (b)) (true (allow a b (tcp_socket (name_bind)))))", `(filecon "/x" file ())`, "((", ")", "; c\n(a"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nodes, err := parseCIL(data)
		if err != nil {
			return
		}
		b := newBuilder()
		b.walk(nodes, -1, nil, true, "fuzz")
		b.resolve()
		p := &Policy{}
		b.fill(p)
		for _, d := range p.Types() {
			p.Grants(d)
		}
	})
}
