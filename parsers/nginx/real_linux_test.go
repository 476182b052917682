package nginx

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// realConf exercises nginx's grouping: which sockets it really binds. %[1]s
// is the stream module, %[2]s a scratch directory. The wildcard of 8080
// has reuseport because Linux refuses to bind a wildcard next to a
// listening specific socket of the same port unless both use SO_REUSEPORT:
// nginx itself fails on "listen 80; listen 10.0.0.2:80 bind;" (and
// "nginx -t" hides it, as it ignores EADDRINUSE).
const realConf = `load_module %[1]s;
pid %[2]s/nginx.pid;
error_log stderr;
events {}
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    server {
        listen 8080 reuseport;
        listen 10.0.0.1:8080;
        listen 10.0.0.2:8080 reuseport;
        listen 10.0.0.1:8081;
        listen 10.0.0.3:8081 backlog=100;
        listen [::]:8070 ipv6only=off;
        listen [::]:8090;
        listen [2001:db8::1]:8090;
        listen 127.0.0.1:8100-8101;
    }
    server {
        listen 10.0.0.1:8080;
        listen 10.0.0.4:8082 so_keepalive=on;
    }
    server {
        server_name implicit.example;
    }
}
stream {
    server {
        listen 9053 udp;
        listen 10.0.0.1:9053 udp;
        listen 10.0.0.1:9053;
        return x;
    }
}
`

// TestRealNginx runs the installed nginx on realConf in a network namespace
// of its own and compares the sockets it binds with the listeners Parse
// says open a socket (no Via). It needs root, nginx, its stream module, ip
// and ss.
func TestRealNginx(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	module := "/usr/lib/nginx/modules/ngx_stream_module.so"
	if _, err := os.Stat(module); err != nil {
		t.Skipf("no nginx stream module: %v", err)
	}
	for _, bin := range []string{"nginx", "ip", "ss"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("no %s: %v", bin, err)
		}
	}
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(realConf, module, tmp)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(conf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Errors) != 0 {
		t.Fatalf("errors: %v", cfg.Errors)
	}
	var want []string
	seen := map[string]bool{}
	for _, l := range cfg.Listeners {
		if l.Via != "" {
			continue
		}
		s := string(l.Proto) + " " + l.Socket()
		if l.V6Only == parsers.V6OnlyOff && l.Addr.IsUnspecified() {
			s = string(l.Proto) + " *:" + fmt.Sprint(l.Port) // ss's name for a dual-stack wildcard
		}
		if !seen[s] {
			seen[s] = true
			want = append(want, s)
		}
	}
	sort.Strings(want)

	ns := fmt.Sprintf("lbd-nginx-%d", os.Getpid())
	run := func(args ...string) string {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("ip", "netns", "add", ns)
	defer func() { _ = exec.Command("ip", "netns", "del", ns).Run() }()
	in := func(args ...string) string { return run(append([]string{"ip", "netns", "exec", ns}, args...)...) }
	in("ip", "link", "set", "lo", "up")
	for _, a := range []string{"10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32", "10.0.0.4/32"} {
		in("ip", "addr", "add", a, "dev", "lo")
	}
	for _, a := range []string{"2001:db8::1/128"} {
		if out, err := exec.Command("ip", "netns", "exec", ns, "ip", "-6", "addr", "add", a, "dev", "lo", "nodad").CombinedOutput(); err != nil {
			t.Skipf("no IPv6 in the namespace: %v %s", err, out)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "nginx", "-c", conf, "-p", tmp+"/",
		"-g", "daemon off; master_process off;")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	var got []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("nginx exited: %v\n%s", err, stderr.String())
		default:
		}
		got = nil
		for _, line := range strings.Split(in("ss", "-Hlntu"), "\n") {
			f := strings.Fields(line)
			if len(f) >= 5 {
				got = append(got, f[0]+" "+f[4])
			}
		}
		if len(got) >= len(want) {
			break
		}
	}
	sort.Strings(got)
	t.Logf("nginx binds %d sockets: %s", len(got), strings.Join(got, ", "))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("nginx binds:\n%s\nParse says:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
