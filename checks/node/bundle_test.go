package node

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// TestBundleSecrets makes a bundle of a tree holding secrets: keepalived's
// auth_pass and HAProxy's userlist passwords come out as digests on their
// own lines, a key and a certificate never come out, and the bundle still
// judges as the tree does.
func TestBundleSecrets(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/keepalived/keepalived.conf", "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  authentication {\n    auth_type PASS\n    auth_pass topsecret99\n  }\n  virtual_ipaddress { 10.0.0.100/24 }\n}\n")
	write("etc/haproxy/haproxy.cfg", "userlist admins\n  user alice password $6$salt$hash\n  user bob insecure-password hunter2\nfrontend fe\n  bind 10.0.0.5:443 ssl crt /etc/haproxy/site.pem\n")
	write("etc/haproxy/site.pem", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
	write("etc/nginx/nginx.conf", "events {}\nhttp { include /etc/nginx/conf.d/*.conf; }\n")
	write("etc/nginx/conf.d/tls.conf", "server { listen 10.0.0.5:443 ssl; ssl_certificate_key /etc/nginx/k.key; }\n")
	write("etc/nginx/conf.d/embedded.conf", "# -----BEGIN CERTIFICATE-----\n# pasted by mistake\n# -----END CERTIFICATE-----\n")
	write("etc/nginx/k.key", "-----BEGIN PRIVATE KEY-----\n")
	hostFile := filepath.Join("..", "..", "testdata", "checks", "default-host.yaml")
	o := Options{Root: root, Hosts: []string{hostFile}, Role: "both", Checks: "all"}
	facts, err := Snapshot(o, true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]host.File{}
	for _, f := range facts.Files {
		files[f.Path] = f
	}
	ka := files["/etc/keepalived/keepalived.conf"]
	if strings.Contains(ka.Content, "topsecret") || !strings.Contains(ka.Content, "auth_pass "+parsers.SecretDigest("topsecre")+"\n") || len(ka.Redacted) != 1 || ka.Redacted[0] != 6 {
		t.Errorf("keepalived.conf in the bundle (redacted lines %v):\n%s", ka.Redacted, ka.Content)
	}
	hp := files["/etc/haproxy/haproxy.cfg"]
	if strings.Contains(hp.Content, "hunter2") || strings.Contains(hp.Content, "$6$salt") || len(hp.Redacted) != 2 {
		t.Errorf("haproxy.cfg in the bundle (redacted lines %v):\n%s", hp.Redacted, hp.Content)
	}
	for _, p := range []string{"/etc/haproxy/site.pem", "/etc/nginx/k.key", "/etc/nginx/conf.d/embedded.conf"} {
		if _, ok := files[p]; ok {
			t.Errorf("%s is in the bundle", p)
		}
	}
	omitted := map[string]bool{}
	for _, om := range facts.Omitted {
		omitted[om.Path] = true
	}
	if !omitted["/etc/nginx/conf.d/embedded.conf"] {
		t.Errorf("omitted = %v, want the file holding a certificate listed", facts.Omitted)
	}

	// The bundle judges as the tree does.
	bundle := filepath.Join(t.TempDir(), "b.yaml")
	fh, err := os.Create(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Write(fh, facts); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	fromTree, err := Evaluate(o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	fromBundle, err := Evaluate(Options{Hosts: []string{bundle}, Role: "both", Checks: "all"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	summary := func(rs []*checksResult) []string { return findingLines(rs) }
	if a, b := summary(fromTree), summary(fromBundle); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("findings differ\ntree:\n%s\nbundle:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
}

type checksResult = checks.Result

func findingLines(rs []*checks.Result) []string {
	var out []string
	for _, r := range rs {
		for _, s := range r.Services {
			out = append(out, s.Name+" "+s.Status)
		}
		for _, f := range r.Findings {
			out = append(out, f.Pos.String()+" "+f.ID+" "+f.Message)
		}
	}
	return out
}

// TestMaterializeStaysInTree writes a hostile bundle: links that climb
// above the root or point at the machine's own files, and a path with
// "..". Nothing may land, or resolve, outside the tree.
func TestMaterializeStaysInTree(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("machine"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	facts := &host.Facts{Source: "hostile.yaml", Files: []host.File{
		{Path: "/etc/up", Link: "../../../../../../../.." + secret},
		{Path: "/etc/abs", Link: secret},
		{Path: "/etc/root", Link: "/"},
		{Path: "/etc/root/etc/written", Content: "in the tree\n"},
	}}
	if err := materialize(facts, dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"etc/up", "etc/abs"} {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s reads %q: a link left the tree", name, data)
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "etc/written")); err != nil || string(data) != "in the tree\n" {
		t.Errorf("a file below a link to the root: %q, %v", data, err)
	}
	bad := &host.Facts{Source: "hostile.yaml", Files: []host.File{{Path: "/etc/../../escape", Content: "x"}}}
	if err := materialize(bad, t.TempDir()); err == nil {
		t.Error("a path with .. was written")
	}
}

// TestBundleFollowsLinks makes a bundle of a tree whose configs are reached
// through symlinks, as Chase resolves them: a link to a directory whose
// target ends in "/" (absolute, the last component of a name the bundle
// takes), a relative one, a chain of links, and a config directory named
// with a trailing slash. The bundle carries the links as links and the
// files behind them, and judges as the tree does.
func TestBundleFollowsLinks(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(name, target string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	// nginx's directory is a relative link with a trailing slash, its
	// sites a relative link from there. (Absolute links to configs are
	// left out: nginx's and HAProxy's readers follow them on this
	// machine, not below the tree.)
	link("etc/nginx", "../opt/nginx/")
	write("opt/nginx/nginx.conf", "events {}\nhttp { include /etc/nginx/sites/*.conf; }\n")
	link("opt/nginx/sites", "../../srv/sites")
	write("srv/sites/vip.conf", "server { listen 10.0.0.9:80; }\n")
	// HAProxy's config is a chain: a link to a name below a link with a
	// trailing slash, itself a link.
	link("etc/haproxy/haproxy.cfg", "../lb/current.cfg")
	link("etc/lb", "../var/lb/")
	link("var/lb/current.cfg", "v2/haproxy.cfg")
	write("var/lb/v2/haproxy.cfg", "defaults\n  mode tcp\nfrontend fe\n  bind 10.0.0.7:443\n")
	// Its conf.d, named "/etc/haproxy/conf.d/", links to a directory
	// without a .cfg file: HAProxy reads nothing there, but it must exist.
	link("etc/haproxy/conf.d", "../../opt/haproxy.d/")
	write("opt/haproxy.d/README", "configs go here\n")
	// The next boot allows non-local binds, from behind an absolute link
	// with a trailing slash (LBD403 reads it).
	link("etc/sysctl.d", "/opt/sysctl.d/")
	write("opt/sysctl.d/50-lb.conf", "net.ipv4.ip_nonlocal_bind = 1\n")

	hostFile := filepath.Join("..", "..", "testdata", "checks", "default-host.yaml")
	o := Options{
		Root:    root,
		Hosts:   []string{hostFile},
		Nginx:   []string{"/etc/nginx/nginx.conf"},
		HAProxy: []string{"/etc/haproxy/haproxy.cfg", "/etc/haproxy/conf.d/"},
		Role:    "both",
		Checks:  "all",
	}
	facts, err := Snapshot(o, true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range facts.Files {
		switch {
		case f.Link != "":
			got[f.Path] = "-> " + f.Link
		case f.Dir:
			got[f.Path] = "dir"
		default:
			got[f.Path] = f.Content
		}
	}
	want := map[string]string{
		"/etc/nginx":               "-> ../opt/nginx/",
		"/opt/nginx/nginx.conf":    "events {}\nhttp { include /etc/nginx/sites/*.conf; }\n",
		"/opt/nginx/sites":         "-> ../../srv/sites",
		"/srv/sites/vip.conf":      "server { listen 10.0.0.9:80; }\n",
		"/etc/haproxy/haproxy.cfg": "-> ../lb/current.cfg",
		"/etc/lb":                  "-> ../var/lb/",
		"/var/lb/current.cfg":      "-> v2/haproxy.cfg",
		"/var/lb/v2/haproxy.cfg":   "defaults\n  mode tcp\nfrontend fe\n  bind 10.0.0.7:443\n",
		"/etc/haproxy/conf.d":      "-> ../../opt/haproxy.d/",
		"/opt/haproxy.d":           "dir",
		"/opt/haproxy.d/README":    "configs go here\n",
		"/etc/sysctl.d":            "-> /opt/sysctl.d/",
		"/opt/sysctl.d":            "dir",
		"/opt/sysctl.d/50-lb.conf": "net.ipv4.ip_nonlocal_bind = 1\n",
	}
	for p, w := range want {
		if g, ok := got[p]; !ok {
			t.Errorf("%s is not in the bundle", p)
		} else if g != w {
			t.Errorf("%s in the bundle: %q, want %q", p, g, w)
		}
	}
	if t.Failed() {
		t.Logf("bundle files: %v", got)
	}

	// The bundle judges as the tree does, and the tree's verdict is the
	// one these files call for.
	bundle := filepath.Join(t.TempDir(), "b.yaml")
	fh, err := os.Create(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Write(fh, facts); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	fromTree, err := Evaluate(o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tree := strings.Join(findingLines(fromTree), "\n")
	for _, w := range []string{"10.0.0.9:80", "10.0.0.7:443", "LBD403"} {
		if !strings.Contains(tree, w) {
			t.Errorf("the tree's findings do not mention %s:\n%s", w, tree)
		}
	}
	fromBundle, err := Evaluate(Options{Hosts: []string{bundle}, Role: "both", Checks: "all"}, io.Discard)
	if err != nil {
		t.Fatalf("judging the bundle: %v", err)
	}
	if b := strings.Join(findingLines(fromBundle), "\n"); tree != b {
		t.Errorf("findings differ\ntree:\n%s\nbundle:\n%s", tree, b)
	}
}
