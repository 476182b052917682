package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSELinuxStore runs lbdoctor on a tree that carries the installed
// policy's module store (Debian's selinux-policy-default, copied below
// --root) with SELinux enforcing, the way a RHEL node's disk would be
// read: nginx's listens on 8888 and on UDP 443 (QUIC) are denied to
// httpd_t, 80 and 8080 are not. Then the same through a snapshot taken
// with --root and judged with --host, as a CI runner would.
func TestSELinuxStore(t *testing.T) {
	if _, err := os.ReadDir("/var/lib/selinux/default/active/modules"); err != nil {
		t.Skipf("SKIP: the default policy's module store is not readable (%v): install selinux-policy-default and run as root", err)
	}
	root := t.TempDir()
	for _, d := range []string{"/var/lib/selinux", "/etc/nginx", "/sys/fs/selinux/booleans"} {
		if err := os.MkdirAll(root+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][]string{{"-a", "/var/lib/selinux/default", root + "/var/lib/selinux/"}, {"-a", "/etc/selinux", root + "/etc/"}} {
		if out, err := exec.Command("cp", c...).CombinedOutput(); err != nil {
			t.Fatalf("cp %v: %v\n%s", c, err, out)
		}
	}
	write := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("/sys/fs/selinux/enforce", "1")
	write("/etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=default\n")
	write("/etc/nginx/nginx.conf", `events {}
http {
    server { listen 80; }
    server { listen 8080; }
    server { listen 8888; }
    server {
        listen 443 ssl;
        listen 443 quic reuseport;
        ssl_certificate /etc/ssl/x.pem;
        ssl_certificate_key /etc/ssl/x.key;
    }
}
`)
	type report struct {
		Findings []struct {
			ID, Message, Why string
			Port             int
			Fix              []string
		}
	}
	check := func(args ...string) report {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"check", "--json", "--root", root, "--nginx", "/etc/nginx/nginx.conf", "--checks", "LBD303,LBD304,LBD405"}, args...), &stdout, &stderr)
		if code != 1 {
			t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout.String(), stderr.String())
		}
		var r report
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	verify := func(r report) {
		t.Helper()
		var got []string
		for _, f := range r.Findings {
			got = append(got, f.ID+" "+strings.Fields(f.Why)[5])
			if f.Port == 8888 && (len(f.Fix) == 0 || f.Fix[0] != "semanage port -a -t http_port_t -p tcp 8888") {
				t.Errorf("8888: fix %q", f.Fix)
			}
			if !strings.Contains(f.Why, "httpd_t (nginx's domain: /usr/sbin/nginx is httpd_exec_t)") {
				t.Errorf("why %q does not name the domain", f.Why)
			}
		}
		// "SELinux is enforcing and port N/PROTO ..."
		want := "LBD303 8888/tcp|LBD303 443/udp"
		if strings.Join(got, "|") != want {
			t.Errorf("findings %q, want %q", strings.Join(got, "|"), want)
		}
	}
	verify(check())

	snap := filepath.Join(t.TempDir(), "node.yaml")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"snapshot", "--root", root, "--nginx", "/etc/nginx/nginx.conf", "-o", snap}, &stdout, &stderr); code != 0 {
		t.Fatalf("snapshot: exit %d\n%s", code, stderr.String())
	}
	data, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"selinux:", "mode: enforcing", "domain: httpd_t", "- tcp 8080 http_cache_port_t"} {
		if !bytes.Contains(data, []byte(s)) {
			t.Errorf("snapshot lacks %q", s)
		}
	}
	// The store is gone from where the snapshot is judged.
	if err := os.RemoveAll(root + "/var/lib/selinux"); err != nil {
		t.Fatal(err)
	}
	verify(check("--host", snap))
}
