package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// TestHAPair is the outage lbdoctor exists for, played for real: two
// network namespaces joined by a veth link are the two nodes of a
// keepalived pair, each configured with nginx and HAProxy on the VIP. On
// the BACKUP, lbdoctor must predict that both fail, the real daemons must
// fail, the fix lbdoctor prints must make them start, and after a failover
// lbdoctor must call the new MASTER healthy while it serves the VIP.
//
// Each node's configs live in a tree of its own (ROOT/etc/nginx/...) that
// lbdoctor reads with --root, as it would a node's mounted image. The fix
// commands are run exactly as lbdoctor prints them, inside the BACKUP's
// network namespace and in a private mount namespace where ROOT/etc/sysctl.d
// is bind-mounted over /etc/sysctl.d: `sysctl -w` changes the namespace's
// own sysctl, and the file meant for /etc/sysctl.d lands in the node's tree,
// where lbdoctor (reading --root) finds it. The machine's /etc is never
// written; the test checks that too.
func TestHAPair(t *testing.T) {
	templates, bin := hapairPrepare(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	// What the machine itself has must be the same at the end.
	machineSysctl := hapairReadFile(t, "/proc/sys/net/ipv4/ip_nonlocal_bind")
	machineSysctlD := hapairListDir(t, "/etc/sysctl.d")
	t.Cleanup(func() {
		if got := hapairReadFile(t, "/proc/sys/net/ipv4/ip_nonlocal_bind"); got != machineSysctl {
			t.Errorf("the machine's net.ipv4.ip_nonlocal_bind changed from %q to %q", machineSysctl, got)
		}
		if got := hapairListDir(t, "/etc/sysctl.d"); !slices.Equal(got, machineSysctlD) {
			t.Errorf("the machine's /etc/sysctl.d changed:\nbefore %q\nafter  %q", machineSysctlD, got)
		}
	})

	master, backup := hapairNodes(ctx, t, templates, "ha")

	// The MASTER first, alone, so that it is the one that takes the VIP.
	master.startKeepalived(ctx, t)
	if !hapairWaitVIP(ctx, t, master.ns, true, 20*time.Second) {
		t.Fatalf("the VIP never appeared on the MASTER %s; keepalived said:\n%s", master.ns, master.keepalivedLog)
	}
	t.Logf("step 1: VIP 10.0.0.100 is on the MASTER (%s)", master.ns)
	for _, d := range []string{"nginx", "haproxy"} {
		if out := master.startDaemon(ctx, t, d); !out.bound {
			t.Fatalf("%s on the MASTER, which holds the VIP, did not start: %s\n%s", d, out, out.stderr)
		}
	}
	backup.startKeepalived(ctx, t)
	hapairWaitLog(ctx, t, backup, "Entering BACKUP STATE", 10*time.Second)
	if hapairHasVIP(ctx, t, backup.ns) {
		t.Fatalf("the BACKUP %s holds the VIP too", backup.ns)
	}
	t.Logf("step 2: nginx and HAProxy run on the MASTER, keepalived on the BACKUP is in BACKUP state")

	// On the MASTER with its daemons running, lbdoctor sees nothing wrong.
	r, exit := hapairLbdoctor(ctx, t, bin, master)
	if exit != 0 || hapairStatus(r, "nginx") != "ok" || hapairStatus(r, "haproxy") != "ok" {
		t.Errorf("lbdoctor on the MASTER: exit %d, nginx %s, haproxy %s, want 0, ok, ok; findings:\n%s",
			exit, hapairStatus(r, "nginx"), hapairStatus(r, "haproxy"), hapairFindings(r))
	}
	t.Logf("step 3: lbdoctor on the MASTER: exit %d, findings: %s", exit, hapairFindings(r))

	// The prediction on the BACKUP: both fail, EADDRNOTAVAIL, LBD401.
	r, exit = hapairLbdoctor(ctx, t, bin, backup)
	if exit != 1 {
		t.Errorf("lbdoctor on the BACKUP: exit %d, want 1", exit)
	}
	ports := map[string]int{"nginx": 80, "haproxy": 8080}
	for _, d := range []string{"nginx", "haproxy"} {
		if got := hapairStatus(r, d); got != "fail" {
			t.Errorf("lbdoctor on the BACKUP: %s status %q, want fail", d, got)
		}
		l, ok := hapairListener(r, d, "10.0.0.100", ports[d])
		if !ok || l.Status != "fail" || l.Errno != "EADDRNOTAVAIL" || l.Finding != "LBD401" {
			t.Errorf("lbdoctor on the BACKUP: %s listener 10.0.0.100:%d = %+v (found %v), want fail EADDRNOTAVAIL LBD401", d, ports[d], l, ok)
		}
	}
	fixes := hapairFixes(t, r, "LBD401")
	t.Logf("step 4: lbdoctor on the BACKUP: exit %d, findings: %s; fix: %q", exit, hapairFindings(r), fixes)

	// The daemons agree.
	for _, d := range []string{"nginx", "haproxy"} {
		out := backup.startDaemon(ctx, t, d)
		if out.bound || out.errno != "EADDRNOTAVAIL" {
			t.Errorf("%s on the BACKUP: %s, want it to fail with EADDRNOTAVAIL as lbdoctor said; stderr:\n%s", d, out, out.stderr)
		}
	}
	t.Logf("step 5: the real nginx and HAProxy fail on the BACKUP with EADDRNOTAVAIL")
	if t.Failed() {
		t.FailNow()
	}

	// The fix, exactly as printed.
	backup.applyFixes(ctx, t, fixes)
	if got := strings.TrimSpace(daemonCmd(ctx, t, "ip", "netns", "exec", backup.ns, "sysctl", "-n", "net.ipv4.ip_nonlocal_bind")); got != "1" {
		t.Errorf("after the fix, net.ipv4.ip_nonlocal_bind in %s is %q, want 1", backup.ns, got)
	}
	persisted, _ := filepath.Glob(filepath.Join(backup.root, "etc", "sysctl.d", "*.conf"))
	t.Logf("step 6: applied %d fix commands in %s; the node's sysctl.d now has %q", len(fixes), backup.ns, persisted)
	if len(persisted) == 0 {
		t.Errorf("no fix command wrote the node's sysctl.d (%s)", filepath.Join(backup.root, "etc", "sysctl.d"))
	}

	// lbdoctor agrees that the BACKUP is fixed, and so do the daemons.
	r, exit = hapairLbdoctor(ctx, t, bin, backup)
	if exit != 0 || hapairStatus(r, "nginx") != "ok" || hapairStatus(r, "haproxy") != "ok" {
		t.Errorf("lbdoctor on the fixed BACKUP: exit %d, nginx %s, haproxy %s, want 0, ok, ok; findings:\n%s",
			exit, hapairStatus(r, "nginx"), hapairStatus(r, "haproxy"), hapairFindings(r))
	}
	for _, d := range []string{"nginx", "haproxy"} {
		if out := backup.startDaemon(ctx, t, d); !out.bound {
			t.Fatalf("%s on the fixed BACKUP did not start: %s\n%s", d, out, out.stderr)
		}
	}
	t.Logf("step 7: on the fixed BACKUP lbdoctor says exit %d (findings: %s), nginx and HAProxy run", exit, hapairFindings(r))

	// Failover: the MASTER's keepalived stops and the VIP moves.
	master.stopKeepalived(t)
	if !hapairWaitVIP(ctx, t, backup.ns, true, 15*time.Second) {
		t.Fatalf("the VIP never moved to %s after the MASTER's keepalived stopped; keepalived said:\n%s", backup.ns, backup.keepalivedLog)
	}
	if !hapairWaitVIP(ctx, t, master.ns, false, 5*time.Second) {
		t.Errorf("the old MASTER %s still holds the VIP after its keepalived stopped", master.ns)
	}
	t.Logf("step 8: keepalived on the MASTER stopped (pid %d); the VIP moved to %s", master.keepalivedPID, backup.ns)

	// The new MASTER serves the VIP, and lbdoctor calls it healthy.
	body, err := hapairHTTPGet(master.ns, "10.0.0.100:80")
	if err != nil || !strings.Contains(body, "200 OK") || !strings.HasSuffix(body, "ok\n") {
		t.Errorf("GET http://10.0.0.100/ from %s: %v\n%s", master.ns, err, body)
	}
	if err := daemonInNetns(master.ns, func() error {
		c, err := net.DialTimeout("tcp", "10.0.0.100:8080", 3*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		t.Errorf("connect to HAProxy at 10.0.0.100:8080 from %s: %v", master.ns, err)
	}
	r, exit = hapairLbdoctor(ctx, t, bin, backup)
	if exit != 0 || hapairStatus(r, "nginx") != "ok" || hapairStatus(r, "haproxy") != "ok" {
		t.Errorf("lbdoctor on the new MASTER: exit %d, nginx %s, haproxy %s, want 0, ok, ok", exit, hapairStatus(r, "nginx"), hapairStatus(r, "haproxy"))
	}
	for _, f := range r.Findings {
		if f.Severity == "error" {
			t.Errorf("lbdoctor on the new MASTER: error %s %s: %s", f.ID, f.Service, f.Message)
		}
	}
	t.Logf("step 9: the new MASTER %s serves 10.0.0.100:80 and :8080; lbdoctor says exit %d, findings: %s", backup.ns, exit, hapairFindings(r))
}

// haNode is one node of the pair: its namespace, its config tree and the
// daemons the test started there.
type haNode struct {
	name, ns, self, peer, state string
	priority                    int
	// dir is the daemons' prefix; root is the node's tree below it.
	dir, root     string
	keepalivedPID int
	keepalivedLog *syncBuffer
	stopKA        func()
}

// hapairPrepare skips the test unless a pair can be played here (not
// -short, root, the tools, an /etc/sysctl.d to bind-mount over) and
// returns the daemons' config templates and the lbdoctor to run.
func hapairPrepare(t *testing.T) (*template.Template, string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s runs keepalived, nginx and HAProxy in two network namespaces: skipped with -short", t.Name())
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s SKIPPED: needs root to create network namespaces and run keepalived", t.Name())
	}
	for _, tool := range []string{"ip", "ss", "sysctl", "unshare", "mount", "keepalived", "nginx", "haproxy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s SKIPPED: %s is not installed (%v)", t.Name(), tool, err)
		}
	}
	if fi, err := os.Stat("/etc/sysctl.d"); err != nil || !fi.IsDir() {
		t.Skipf("%s SKIPPED: /etc/sysctl.d is not a directory to bind-mount the node's over (%v)", t.Name(), err)
	}
	templates, err := template.ParseGlob(filepath.Join("..", "..", "testdata", "daemon", "*.tmpl"))
	if err != nil {
		t.Fatalf("read config templates: %v", err)
	}
	return templates, lbdoctorBin(t)
}

// hapairNodes sets up the MASTER and the BACKUP of a pair, in network
// namespaces named after tag and the test's PID, linked and with their
// configs written.
func hapairNodes(ctx context.Context, t *testing.T, templates *template.Template, tag string) (master, backup *haNode) {
	t.Helper()
	master = &haNode{name: "lb1", ns: fmt.Sprintf("lbd-%s1-%d", tag, os.Getpid()), self: "10.0.0.11", peer: "10.0.0.12", state: "MASTER", priority: 150}
	backup = &haNode{name: "lb2", ns: fmt.Sprintf("lbd-%s2-%d", tag, os.Getpid()), self: "10.0.0.12", peer: "10.0.0.11", state: "BACKUP", priority: 100}
	hapairLink(ctx, t, master, backup)
	for _, n := range []*haNode{master, backup} {
		n.writeConfigs(t, templates)
	}
	return master, backup
}

// hapairLink creates both namespaces joined by a veth pair, eth0 at each
// end, and removes them when the test ends.
func hapairLink(ctx context.Context, t *testing.T, a, b *haNode) {
	t.Helper()
	for _, n := range []*haNode{a, b} {
		daemonCmd(ctx, t, "ip", "netns", "add", n.ns)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if out, err := exec.CommandContext(ctx, "ip", "netns", "del", n.ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v\n%s", n.ns, err, out)
			}
		})
	}
	// Both ends are made inside the namespaces: the machine's own
	// namespace never sees the link.
	daemonCmd(ctx, t, "ip", "-n", a.ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b.ns)
	for _, n := range []*haNode{a, b} {
		daemonCmd(ctx, t, "ip", "-n", n.ns, "link", "set", "lo", "up")
		daemonCmd(ctx, t, "ip", "-n", n.ns, "addr", "add", n.self+"/24", "dev", "eth0")
		daemonCmd(ctx, t, "ip", "-n", n.ns, "link", "set", "eth0", "up")
		// Nonlocal bind off, as a fresh node has it.
		daemonCmd(ctx, t, "ip", "netns", "exec", n.ns, "sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=0")
	}
}

// writeConfigs renders the node's nginx, HAProxy and keepalived configs
// into its tree from testdata/daemon.
func (n *haNode) writeConfigs(t *testing.T, templates *template.Template) {
	t.Helper()
	n.dir = t.TempDir()
	n.root = filepath.Join(n.dir, "root")
	if err := os.MkdirAll(filepath.Join(n.root, "etc", "sysctl.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := map[string]any{
		"Prefix": n.dir, "RouterID": n.name, "State": n.state, "Priority": n.priority,
		"Self": n.self, "Peer": n.peer,
	}
	for tmpl, listens := range map[string][]string{
		"nginx.conf.tmpl": {"10.0.0.100:80"}, "haproxy.cfg.tmpl": {"10.0.0.100:8080"}, "keepalived.conf.tmpl": nil,
	} {
		data["Listens"] = listens
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, tmpl, data); err != nil {
			t.Fatalf("render %s: %v", tmpl, err)
		}
		name := strings.TrimSuffix(tmpl, ".tmpl")
		service := strings.TrimSuffix(strings.TrimSuffix(name, ".conf"), ".cfg")
		daemonWriteFile(t, filepath.Join(n.root, "etc", service, name), b.String())
	}
}

// conf is where the daemon reads the service's config.
func (n *haNode) conf(service string) string {
	name := map[string]string{"nginx": "nginx.conf", "haproxy": "haproxy.cfg", "keepalived": "keepalived.conf"}[service]
	return filepath.Join(n.root, "etc", service, name)
}

// startKeepalived runs keepalived (VRRP only) in the node's namespace, in
// the foreground with its log on the console, and stops it when the test
// ends.
func (n *haNode) startKeepalived(ctx context.Context, t *testing.T) {
	t.Helper()
	pid := func(s string) string { return filepath.Join(n.dir, "keepalived-"+s+".pid") }
	// -n: no fork; -l -D: detailed log on the console; -G: not syslog;
	// -P: VRRP only (no virtual servers here); own pid files, so this pair
	// never meets the machine's keepalived.
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", n.ns, "keepalived", "-n", "-l", "-D", "-G", "-P",
		"-f", n.conf("keepalived"), "-p", pid("main"), "-r", pid("vrrp"), "-c", pid("checkers"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	n.keepalivedLog = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = n.keepalivedLog, n.keepalivedLog
	if err := cmd.Start(); err != nil {
		t.Fatalf("start keepalived in %s: %v", n.ns, err)
	}
	n.keepalivedPID = cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	n.stopKA = func() {
		if stopped {
			return
		}
		stopped = true
		// SIGTERM to keepalived's own PID: it sends a priority 0 advert,
		// removes its VIPs and stops its VRRP child.
		syscall.Kill(n.keepalivedPID, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("keepalived (pid %d) in %s did not stop on SIGTERM; killing its process group", n.keepalivedPID, n.ns)
			syscall.Kill(-n.keepalivedPID, syscall.SIGKILL)
			<-done
		}
	}
	t.Cleanup(func() {
		n.stopKA()
		if t.Failed() {
			t.Logf("keepalived in %s (%s) said:\n%s", n.ns, n.state, n.keepalivedLog)
		}
	})
}

// stopKeepalived stops the node's keepalived by its PID.
func (n *haNode) stopKeepalived(t *testing.T) {
	t.Helper()
	n.stopKA()
}

// startDaemon starts nginx or HAProxy in the node's namespace. A daemon
// that binds keeps running until the test ends.
func (n *haNode) startDaemon(ctx context.Context, t *testing.T, daemon string) daemonOutcome {
	t.Helper()
	socket := map[string]string{"nginx": "10.0.0.100:80", "haproxy": "10.0.0.100:8080"}[daemon]
	out, stop := daemonStart(ctx, t, n.ns, daemon, "", nil, "", n.conf(daemon), n.dir, "tcp", socket)
	t.Cleanup(stop)
	return out
}

// hapairLbdoctor runs `lbdoctor check --json --role current` in node m's
// namespace on m's config tree, and returns its report and exit code.
func hapairLbdoctor(ctx context.Context, t *testing.T, bin string, m *haNode) (daemonReport, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", m.ns, bin, "check", "--json", "--role", "current",
		"--root", m.root, "--nginx", "/etc/nginx/nginx.conf", "--haproxy", "/etc/haproxy/haproxy.cfg",
		"--keepalived", "/etc/keepalived/keepalived.conf")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	exit := 0
	var exitErr *exec.ExitError
	if err := cmd.Run(); errors.As(err, &exitErr) {
		exit = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run lbdoctor in %s: %v\n%s", m.ns, err, stderr.String())
	}
	var r daemonReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("lbdoctor in %s (exit %d): stdout is not JSON: %v\n%s\nstderr:\n%s", m.ns, exit, err, stdout.String(), stderr.String())
	}
	return r, exit
}

// The fix commands the test is willing to run: lbdoctor's own sysctl
// fixes. Anything else might reach past the namespace (systemctl talks to
// the machine's systemd), so it stops the test instead.
var (
	hapairSysctlFix  = regexp.MustCompile(`^sysctl -w net\.[a-z0-9_.]+=[0-9]+$`)
	hapairPersistFix = regexp.MustCompile(`^echo '[a-z0-9_.]+ = [0-9]+' >>? /etc/sysctl\.d/[A-Za-z0-9_.-]+\.conf$`)
)

// applyFixes runs each command exactly as lbdoctor printed it, in the
// node's network namespace, in a private mount namespace where the node's
// own etc/sysctl.d is mounted over /etc/sysctl.d.
func (n *haNode) applyFixes(ctx context.Context, t *testing.T, fixes []string) {
	t.Helper()
	for _, fix := range fixes {
		if !hapairSysctlFix.MatchString(fix) && !hapairPersistFix.MatchString(fix) {
			t.Fatalf("lbdoctor printed a fix this test does not run on a shared machine: %q", fix)
		}
		daemonCmd(ctx, t, "ip", "netns", "exec", n.ns, "unshare", "--mount", "--propagation", "private",
			"sh", "-c", `mount --bind "$1" /etc/sysctl.d && eval "$2"`, "lbdoctor-fix",
			filepath.Join(n.root, "etc", "sysctl.d"), fix)
	}
}

// hapairFixes collects the fix commands of every finding with the ID, in
// order, each once.
func hapairFixes(t *testing.T, r daemonReport, id string) []string {
	t.Helper()
	var fixes []string
	for _, f := range r.Findings {
		if f.ID != id {
			continue
		}
		for _, c := range f.Fix {
			if !slices.Contains(fixes, c) {
				fixes = append(fixes, c)
			}
		}
	}
	if len(fixes) == 0 {
		t.Fatalf("lbdoctor printed no fix for %s; findings:\n%s", id, hapairFindings(r))
	}
	return fixes
}

// hapairStatus is services[].status of the service in the report.
func hapairStatus(r daemonReport, service string) string {
	for _, s := range r.Services {
		if s.Service == service {
			return s.Status
		}
	}
	return "(absent)"
}

// hapairListener is the service's listener at address and port.
func hapairListener(r daemonReport, service, address string, port int) (l struct{ Status, Errno, Finding string }, ok bool) {
	for _, s := range r.Services {
		if s.Service != service {
			continue
		}
		for _, x := range s.Listeners {
			if x.Address == address && x.Port == port {
				return struct{ Status, Errno, Finding string }{x.Status, x.Errno, x.Finding}, true
			}
		}
	}
	return l, false
}

// hapairFindings prints the report's findings, one a line.
func hapairFindings(r daemonReport) string {
	if len(r.Findings) == 0 {
		return "(none)"
	}
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "\n  %s %s %s %s:%d: %s", f.ID, f.Severity, f.Service, f.Address, f.Port, f.Message)
	}
	return b.String()
}

// hapairHasVIP reports whether 10.0.0.100 is on the namespace's eth0.
func hapairHasVIP(ctx context.Context, t *testing.T, ns string) bool {
	t.Helper()
	return strings.Contains(daemonCmd(ctx, t, "ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "eth0"), " 10.0.0.100/24 ")
}

// hapairWaitVIP polls until the namespace has the VIP (or, with want
// false, no longer has it), up to timeout.
func hapairWaitVIP(ctx context.Context, t *testing.T, ns string, want bool, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if hapairHasVIP(ctx, t, ns) == want {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hapairWaitLog polls until the node's keepalived has logged text.
func hapairWaitLog(ctx context.Context, t *testing.T, n *haNode, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(n.keepalivedLog.String(), text) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("keepalived in %s never logged %q:\n%s", n.ns, text, n.keepalivedLog)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hapairHTTPGet sends GET / to addr from inside ns and returns the reply.
func hapairHTTPGet(ns, addr string) (string, error) {
	var c net.Conn
	if err := daemonInNetns(ns, func() (err error) {
		c, err = net.DialTimeout("tcp", addr, 3*time.Second)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: vip\r\n\r\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// hapairReadFile reads a small file, trimmed.
func hapairReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// hapairListDir lists a directory's entries with size and mtime, to tell
// whether anything in it changed.
func hapairListDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var l []string
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		l = append(l, fmt.Sprintf("%s %d %s", e.Name(), fi.Size(), fi.ModTime().Format(time.RFC3339Nano)))
	}
	return l
}
