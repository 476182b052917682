package corpus_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// The daemons and tools TestDaemonsAgree runs.
const (
	nginxBin     = "/usr/sbin/nginx"
	haproxyBin   = "/usr/sbin/haproxy"
	streamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"
)

// sock is one listening socket: "tcp"/"udp" with "addr:port" (IPv6 in
// brackets, no zone), or "unix" with a path.
type sock struct{ proto, addr string }

func (s sock) String() string { return s.proto + " " + s.addr }

// verdict is what one daemon run showed.
type verdict struct {
	e       entry
	state   string // "agree", "DISAGREE" or "not comparable"
	reason  string
	lbd, ds int // distinct sockets lbdoctor lists / the daemon opened
}

// TestDaemonsAgree starts nginx and HAProxy on every corpus configuration
// they accept, each in a throw-away network namespace where every address
// binds, and holds lbdoctor's listeners to the sockets the daemon really
// opened. The daemon runs chrooted in an overlay of "/" kept in memory, so
// the stand-ins SOURCES.md lists (users, certificates, folders, hosts) and
// whatever it writes never reach the host.
func TestDaemonsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not starting real daemons")
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot make network namespaces")
	}
	for _, tool := range []string{nginxBin, haproxyBin, "ip", "ss", "unshare", "chroot", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s missing: %v", tool, err)
		}
	}
	corpus := corpusDir(t)
	pemData := standInPEM(t)

	var todo []entry
	for _, e := range entries(t, corpus) {
		if e.accepted && (e.daemon == "nginx" || e.daemon == "haproxy") {
			todo = append(todo, e)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()
	results := make([]verdict, len(todo))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8)
	for i, e := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			results[i] = compare(ctx, t, corpus, e, i, pemData)
		}()
	}
	wg.Wait()

	agree, compared := 0, 0
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-16s %4s %4s  %s\n", "verdict", "lbd", "real", "configuration")
	for _, r := range results {
		if r.state != "not comparable" {
			compared++
		}
		if r.state == "agree" {
			agree++
		}
		fmt.Fprintf(&b, "%-16s %4d %4d  %s", r.state, r.lbd, r.ds, r.e.name())
		if r.reason != "" {
			fmt.Fprintf(&b, "\n%22s%s", "", strings.ReplaceAll(r.reason, "\n", "\n"+strings.Repeat(" ", 22)))
		}
		b.WriteString("\n")
	}
	t.Logf("%s%d configurations run, %d compared, %d agree", b.String(), len(results), compared, agree)
	for _, r := range results {
		if r.state == "DISAGREE" {
			t.Errorf("%s: lbdoctor and %s disagree: %s", r.e.name(), r.e.daemon, r.reason)
		}
	}
}

// compare runs one configuration's daemon and compares.
func compare(ctx context.Context, t *testing.T, corpus string, e entry, n int, pemData []byte) verdict {
	v := verdict{e: e}
	s := stage(t, corpus, e)
	cfg, err := parse(e, s)
	if err != nil {
		v.state, v.reason = "not comparable", "lbdoctor cannot read it: "+err.Error()
		return v
	}
	want, notes := expected(e, cfg, s)
	v.lbd = len(want)
	got, err := runDaemon(ctx, e, s, cfg, n, pemData, want)
	if err != nil {
		v.state, v.reason = "not comparable", s.clean(err.Error())
		return v
	}
	v.ds = len(got)
	var missing, extra []string
	for k := range want {
		if !got[k] {
			missing = append(missing, k.String())
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k.String())
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	var why []string
	if len(missing) > 0 {
		why = append(why, "lbdoctor lists, daemon did not open: "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		why = append(why, "daemon opened, lbdoctor does not list: "+strings.Join(extra, ", "))
	}
	v.state = "agree"
	if len(why) > 0 {
		v.state = "DISAGREE"
	}
	why = append(why, notes...)
	v.reason = strings.Join(why, "\n")
	return v
}

// expected is the set of sockets lbdoctor says the daemon opens, and notes
// on the listeners it had to leave out of the comparison.
func expected(e entry, cfg *parsers.Config, s staged) (map[sock]bool, []string) {
	want := map[sock]bool{}
	var notes []string
	for _, l := range cfg.Listeners {
		switch {
		case l.Via != "":
			// Served from another socket: no socket of its own.
		case l.Uncheckable != "" || l.Namespace != "":
			notes = append(notes, fmt.Sprintf("not compared: %s (%s)", l.Raw, l.Uncheckable+l.Namespace))
		case l.Conditional != "":
			notes = append(notes, fmt.Sprintf("not compared: %s depends on %s", l.Raw, s.clean(l.Conditional)))
		case l.Proto == parsers.Unix:
			p := l.Path
			if !filepath.IsAbs(p) {
				p = filepath.Join(s.cwd, p)
			}
			want[sock{"unix", filepath.Clean(p)}] = true
		case !l.Addr.IsValid():
			// lbdoctor does not resolve names; the daemon did, through
			// the sandbox's /etc/hosts.
			addrs := resolve(l.Host, e)
			if len(addrs) == 0 {
				want[sock{string(l.Proto), parsers.JoinHostPort("unresolved "+l.Host, l.Port)}] = true
				continue
			}
			notes = append(notes, fmt.Sprintf("name %s taken as %s, as the daemon resolves it", l.Host, strings.Join(addrs, " ")))
			for _, a := range addrs {
				want[sock{string(l.Proto), parsers.JoinHostPort(a, l.Port)}] = true
			}
		default:
			host := l.Addr.WithZone("").String()
			// The namespace keeps net.ipv6.bindv6only at 0.
			if l.Addr.Is6() && l.Addr.IsUnspecified() && l.V6Only != parsers.V6OnlyOn {
				host = dualStack
			}
			want[sock{string(l.Proto), parsers.JoinHostPort(host, l.Port)}] = true
		}
	}
	return want, notes
}

// resolve is what the daemon makes of a host name in the sandbox: the
// host's /etc/hosts plus the "hosts NAME" stand-ins (127.0.0.1). nginx
// listens on every address of a name, HAProxy on the first IPv4 one.
func resolve(name string, e entry) []string {
	var addrs []string
	data, _ := os.ReadFile("/etc/hosts")
	for _, ln := range strings.Split(string(data), "\n") {
		ln, _, _ = strings.Cut(ln, "#")
		f := strings.Fields(ln)
		for _, h := range f[min(1, len(f)):] {
			if strings.EqualFold(h, name) {
				addrs = append(addrs, f[0])
			}
		}
	}
	for _, si := range e.standIns {
		if si == "hosts "+name {
			addrs = append(addrs, "127.0.0.1")
		}
	}
	if e.daemon == "haproxy" {
		for _, a := range addrs {
			if !strings.Contains(a, ":") {
				return []string{a}
			}
		}
	}
	return addrs
}

// runDaemon starts the entry's daemon in a fresh network namespace and
// returns the sockets it listens on: as soon as they are the ones lbdoctor
// expects, else once they have not changed for two seconds (a loaded
// machine can pause a daemon between two binds). An error means the daemon
// could not be compared (it did not start), with its reason.
func runDaemon(ctx context.Context, e entry, s staged, cfg *parsers.Config, n int, pemData []byte, want map[sock]bool) (map[sock]bool, error) {
	ns := fmt.Sprintf("lbd-corpus-%d-%d", os.Getpid(), n)
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	defer func() {
		// Anything left in the namespace is a process this test started.
		if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}()
	setup := "ip link set lo up && sysctl -qw net.ipv4.ip_nonlocal_bind=1 net.ipv6.ip_nonlocal_bind=1"
	if out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "sh", "-c", setup).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("namespace setup: %v: %s", err, out)
	}

	script, err := sandboxScript(e, s, cfg, pemData)
	if err != nil {
		return nil, err
	}
	stderr, err := os.Create(filepath.Join(s.dir, ".daemon.log"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	cmd := exec.Command("ip", "netns", "exec", ns, "unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	var last map[sock]bool
	var since time.Time // when last was first seen
	done := false
	deadline := time.Now().Add(30 * time.Second)
	for !done && time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("%s did not stay up (%v): %s", e.daemon, err, tail(stderr.Name()))
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
		cur, err := listening(ctx, ns)
		if err != nil {
			stop()
			return nil, err
		}
		if last == nil || !sameSet(cur, last) {
			last, since = cur, time.Now()
		}
		// Nothing open yet means the daemon has not reached its binds
		// (seconds, on a loaded machine), unless lbdoctor expects
		// nothing: then give it five seconds to prove otherwise.
		settled := time.Since(since)
		done = (len(cur) > 0 && (sameSet(cur, want) || settled > 2*time.Second)) ||
			(len(want) == 0 && settled > 5*time.Second)
	}
	stop()
	if !done {
		return nil, fmt.Errorf("%s opened no stable set of sockets in time: %s", e.daemon, tail(stderr.Name()))
	}
	return last, nil
}

// sandboxScript is the shell that, inside the new mount namespace, puts an
// overlay over "/" with its upper layer in memory, adds the stand-ins, and
// execs the daemon chrooted there, so that its PID is the daemon's.
func sandboxScript(e entry, s staged, cfg *parsers.Config, pemData []byte) (string, error) {
	ovl := filepath.Join(s.dir, ".ovl")
	if err := os.Mkdir(ovl, 0o700); err != nil {
		return "", err
	}
	pemFile := filepath.Join(s.dir, ".standin.pem")
	if err := os.WriteFile(pemFile, pemData, 0o600); err != nil {
		return "", err
	}
	m := ovl + "/m"
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("set -e")
	line("mount -t tmpfs lbd-corpus %s", q(ovl))
	line("mkdir %s/u %s/w %s", q(ovl), q(ovl), q(m))
	line("mount -t overlay overlay -o lowerdir=/,upperdir=%s/u,workdir=%s/w %s", ovl, ovl, q(m))
	line("for d in dev proc sys; do mount --rbind /$d %s/$d; done", q(m))
	if e.daemon == "nginx" {
		// Before the stand-ins, some of which go below /etc/nginx.
		line("mount --bind %s %s/etc/nginx", q(s.etcNginx), q(m))
		if _, err := os.Stat(filepath.Join(s.dir, "corpus")); err == nil {
			line("mkdir -p %s/corpus && mount --bind %s %s/corpus", q(m), q(filepath.Join(s.dir, "corpus")), q(m))
		}
	}
	needStream := false
	uid := 64000
	for _, si := range e.standIns {
		kind, arg, _ := strings.Cut(si, " ")
		switch kind {
		case "user", "group":
			uid++
			if kind == "user" {
				line("grep -q '^%s:' %s/etc/passwd || echo '%s:x:%d:%d::/nonexistent:/usr/sbin/nologin' >> %s/etc/passwd", arg, m, arg, uid, uid, m)
			}
			line("grep -q '^%s:' %s/etc/group || echo '%s:x:%d:' >> %s/etc/group", arg, m, arg, uid, m)
		case "cert", "key", "ca":
			dst := standInPath(m, s.cwd, arg)
			if strings.HasSuffix(arg, "/") {
				line("mkdir -p %s && cp %s %s/standin.pem", q(dst), q(pemFile), q(dst))
			} else {
				line("mkdir -p %s && cp %s %s", q(filepath.Dir(dst)), q(pemFile), q(dst))
			}
		case "empty":
			p := strings.TrimPrefix(arg, "map ")
			dst := standInPath(m, s.cwd, p)
			line("mkdir -p %s && : > %s", q(filepath.Dir(dst)), q(dst))
		case "hosts":
			line("echo '127.0.0.1 %s' >> %s/etc/hosts", arg, m)
		case "mkdir":
			line("mkdir -p %s", q(m+arg))
		case "loaded":
			needStream = true
		case "addr":
			// Every address binds in the namespace.
		default:
			return "", fmt.Errorf("unknown stand-in %q", si)
		}
	}
	// A unix socket's folder is the host's business (systemd's
	// RuntimeDirectory, tmpfiles.d), not the configuration's.
	for _, l := range cfg.Listeners {
		if l.Proto == parsers.Unix && filepath.IsAbs(l.Path) {
			line("mkdir -p %s", q(m+filepath.Dir(l.Path)))
		}
	}
	var cmd string
	switch e.daemon {
	case "nginx":
		for _, l := range cfg.Listeners {
			needStream = needStream || l.Context == "stream"
		}
		global := "daemon off;"
		if needStream && !treeLoads(s.dir, "ngx_stream_module") {
			global = "load_module " + streamModule + "; " + global
		}
		prefix := filepath.Join(s.dir, ".prefix")
		if err := os.MkdirAll(filepath.Join(prefix, "logs"), 0o755); err != nil {
			return "", err
		}
		cmd = fmt.Sprintf("cd %s && exec %s -p %s/ -c %s -g %s", q(s.cwd), nginxBin, q(prefix), q(s.path), q(global))
	case "haproxy":
		// "haproxy -c" neither chroots nor raises the file limit; the
		// daemon does both at start-up. Debian has no /var/empty, and
		// maxconn 10000 wants more descriptors than a test shell's limit.
		data, err := os.ReadFile(s.path)
		if err != nil {
			return "", err
		}
		for _, m2 := range chrootLine.FindAllStringSubmatch(string(data), -1) {
			line("mkdir -p %s", q(m+m2[1]))
		}
		line("ulimit -n 1048576 2>/dev/null || true")
		cmd = fmt.Sprintf("cd %s && exec %s -db -f %s", q(s.cwd), haproxyBin, q(s.path))
	}
	line("exec chroot %s /bin/sh -c %s", q(m), q(cmd))
	return b.String(), nil
}

// standInPath is where a stand-in named in SOURCES.md goes: relative to
// the daemon's working directory, or absolute inside the overlay.
func standInPath(m, cwd, name string) string {
	if filepath.IsAbs(name) {
		return m + name
	}
	return filepath.Join(m+cwd, name)
}

// treeLoads says whether some file of the staged tree names s.
func treeLoads(dir, s string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || found {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && bytes.Contains(data, []byte(s)) {
			found = true
		}
		return nil
	})
	return found
}

// q quotes for sh.
func q(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// listening is what listens in the namespace, from ss: TCP listeners,
// bound UDP sockets, and unix sockets bound to a path. UDP sockets on a
// wildcard address and an ephemeral port are the daemon's own client
// sockets (HAProxy's log senders), not listeners.
func listening(ctx context.Context, ns string) (map[sock]bool, error) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "ss", "-ltnuxpH").Output()
	if err != nil {
		return nil, fmt.Errorf("ss: %v", err)
	}
	got := map[sock]bool{}
	for _, ln := range strings.Split(string(out), "\n") {
		f := strings.Fields(ln)
		if len(f) < 5 {
			continue
		}
		switch f[0] {
		case "tcp", "udp":
			host, port, ok := cutPort(f[4])
			if !ok {
				continue
			}
			if f[0] == "udp" && (host == "0.0.0.0" || host == "::" || host == dualStack) && port >= 32768 {
				continue
			}
			got[sock{f[0], parsers.JoinHostPort(host, port)}] = true
		case "u_str", "u_seq", "u_dgr":
			if strings.HasPrefix(f[4], "/") || strings.HasPrefix(f[4], "@") {
				got[sock{"unix", unixTmp.ReplaceAllString(f[4], "")}] = true
			}
		}
	}
	return got, nil
}

// chrootLine is HAProxy's global "chroot DIR".
var chrootLine = regexp.MustCompile(`(?m)^\s*chroot\s+(/\S*)`)

// unixTmp is the suffix of the name HAProxy binds a unix socket to before
// renaming it into place; the kernel keeps reporting the bound name.
var unixTmp = regexp.MustCompile(`\.\d+\.tmp$`)

// dualStack names the IPv6 wildcard of a socket that takes IPv4 too
// (IPV6_V6ONLY off), which ss prints as "*"; "::" is the IPv6-only one.
const dualStack = ":: (v4 too)"

// cutPort splits ss's "addr:port": "0.0.0.0:80", "[::]:80" (v6only), "*:80"
// (IPv6 wildcard open to IPv4 too), "[fe80::1]%lo:80", "0.0.0.0%eth0:80".
func cutPort(s string) (string, int, bool) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return "", 0, false
	}
	port, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return "", 0, false
	}
	host := s[:i]
	if j := strings.Index(host, "%"); j >= 0 {
		host = host[:j]
	}
	host = strings.Trim(host, "[]")
	if host == "*" {
		host = dualStack
	}
	return host, port, true
}

func sameSet(a, b map[sock]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// tail is the end of the daemon's output, for a reason line.
func tail(path string) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return strings.Join(lines, " | ")
}

// standInPEM is a throw-away self-signed certificate with its key in one
// PEM, which serves as certificate, key and CA file alike.
func standInPEM(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lbdoctor corpus stand-in"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
}
