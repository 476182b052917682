package haproxy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestDaemonListens starts the real HAProxy in a network namespace of its
// own and compares the sockets it opens with the listeners we report:
// address forms, host names, unset variables, decided conditions, peers
// (local name from the host name, a removed "bind" section), stats and
// log-forward sockets, unix sockets, and a bind into a second namespace.
func TestDaemonListens(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed")
	}
	if _, err := exec.LookPath("ip"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and iproute2 to open a network namespace")
	}
	ns := fmt.Sprintf("lbd-hapl-%d", os.Getpid())
	ns2 := ns + "-b"
	for _, n := range []string{ns, ns2} {
		if out, err := exec.Command("ip", "netns", "add", n).CombinedOutput(); err != nil {
			t.Skipf("cannot open a network namespace: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n).Run() })
		if out, err := exec.Command("ip", "-n", n, "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("lo up: %v %s", err, out)
		}
	}
	vv, err := exec.Command(bin, "-vv").Output()
	if err != nil {
		t.Fatal(err)
	}
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgText := `global
    stats socket 127.0.0.1:9100
    stats socket "$RUNDIR/admin.sock" mode 600
defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend f
    bind :9001,*:9002-9003,[::]:9004
    bind localhost:9005
    bind "${VIP}:9006"
    bind ipv4@:9007
    bind :::9008 v6only
    bind 127.0.0.1:9009 namespace "$NS2"
    bind "$RUNDIR/fe.sock"
    bind abns@lbd-hapl
.if version_atleast(2.6)
    bind 127.0.0.1:9010
.else
    bind 127.0.0.1:9011
.endif
.if feature(QUIC)
    bind quic4@:9443
.endif
    default_backend b
backend b
    server s 127.0.0.1:1
peers p
    peer ` + hostname + ` 127.0.0.1:10001
    peer other 127.0.0.2:10001
peers p2
    bind 127.0.0.1:10002
    server other2 127.0.0.3:10002
log-forward lf
    dgram-bind 127.0.0.1:1514
    bind 127.0.0.1:1515
    log 127.0.0.1:514 local0
`
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"RUNDIR": dir, "NS2": ns2}
	cfg, err := Parse([]string{path}, Options{
		Env: lookup(env), Hostname: hostname, Resolve: etcHosts(t),
		Version: ParseVersionOutput(string(vv)), Features: ParseFeatureList(string(vv)),
	})
	if err != nil || len(cfg.Errors) > 0 {
		t.Fatalf("parse: %v %v", err, cfg.Errors)
	}
	want := map[string][]string{} // namespace -> sockets
	var abstract []string
	for _, l := range cfg.Listeners {
		if l.Conditional != "" {
			t.Errorf("%s: undecided %q with version and features known", l.Pos, l.Conditional)
		}
		switch {
		case l.Uncheckable != "":
			abstract = append(abstract, "@"+strings.TrimPrefix(l.Raw, "abns@"))
		case l.Namespace != "":
			want[l.Namespace] = append(want[l.Namespace], string(l.Proto)+" "+l.Socket())
		default:
			want[ns] = append(want[ns], string(l.Proto)+" "+l.Socket())
		}
	}
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "-db", "-f", path)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "RUNDIR=" + dir, "NS2=" + ns2}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	var got map[string][]string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got = map[string][]string{ns: sockets(t, ns), ns2: sockets(t, ns2)}
		if len(got[ns]) >= len(want[ns]) && len(got[ns2]) >= len(want[ns2]) {
			break
		}
	}
	for _, n := range []string{ns, ns2} {
		sort.Strings(want[n])
		if fmt.Sprint(got[n]) != fmt.Sprint(want[n]) {
			t.Errorf("namespace %s:\nhaproxy opened %v\nwe report     %v\n%s", n, got[n], want[n], out.String())
		}
	}
	ux, err := exec.Command("ip", "netns", "exec", ns, "ss", "-Hlx").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range abstract {
		// HAProxy binds the whole sun_path: ss shows the padding NULs as '@'.
		if !strings.Contains(string(ux), " "+a+"@") {
			t.Errorf("abstract socket %s not open:\n%s", a, ux)
		}
	}
}

// sockets lists the listening sockets of a namespace as "proto addr:port"
// or "unix unix:path", sorted.
func sockets(t *testing.T, ns string) []string {
	out, err := exec.Command("ip", "netns", "exec", ns, "ss", "-Hlntux").Output()
	if err != nil {
		t.Fatal(err)
	}
	var socks []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		local := f[4]
		switch f[0] {
		case "u_str", "u_dgr":
			if strings.HasPrefix(local, "/") {
				// The kernel keeps the name bound before HAProxy
				// renamed "<path>.<pid>.tmp" to the path.
				if m := tmpSuffix.FindStringIndex(local); m != nil {
					local = local[:m[0]]
				}
				socks = append(socks, "unix unix:"+local)
			}
			continue
		}
		// ss names a dual-stack IPv6 wildcard "*".
		if strings.HasPrefix(local, "*:") {
			local = "[::]" + local[1:]
		}
		socks = append(socks, f[0]+" "+local)
	}
	sort.Strings(socks)
	return socks
}

var tmpSuffix = regexp.MustCompile(`\.\d+\.tmp$`)
