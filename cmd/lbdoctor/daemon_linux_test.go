package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel and the daemons are the judge: TestDaemonsAgree builds a host
// state in a network namespace of its own, asks lbdoctor whether nginx or
// HAProxy would bind there, then starts the real daemon in the same state
// and fails when the two disagree.
//
// Set LBDOCTOR_DAEMON_ONLY=1 to run only the daemon half (no lbdoctor build):
// it checks that each case sets up the host state it claims to, which tells a
// broken fixture from a wrong verdict. Set LBDOCTOR_BIN to judge a prebuilt
// lbdoctor (a release, say) instead of building this directory.

// daemonCase is one host state and one daemon config. PREFIX in listens,
// addr, socket and wantStderr stands for the case's own directory, where
// unix sockets go.
type daemonCase struct {
	name   string
	daemon string // "nginx" or "haproxy"
	// listens are the arguments of nginx `listen` or HAProxy `bind` lines.
	listens []string
	// sysctls are set in the namespace before anything runs; both
	// ip_nonlocal_bind sysctls are always set, to 0 unless listed here.
	sysctls map[string]string
	// ipArgs are extra `ip -n NS ...` commands that shape the host.
	ipArgs [][]string
	// holder, when set, is a TCP socket ("tcp4 0.0.0.0:8080") that the test
	// process itself holds open in the namespace while lbdoctor and the
	// daemon run: the other program already on the port.
	holder string

	// addr and port name the listener whose verdict is compared; a unix
	// socket has its path in addr and port 0.
	addr string
	port int

	// What the daemon is expected to do, so that a fixture which does not
	// build the state it claims is caught as such, not as a disagreement.
	wantBound  bool
	wantStderr string // daemon's error text when it fails
	socket     string // `ss` local address the daemon opens when it binds
	wantVia    string // listeners[].via lbdoctor must report, if any
}

// daemonCases are the host states under test. Every address lives inside
// the test's own namespaces.
func daemonCases() []daemonCase {
	nonlocal4 := map[string]string{"net.ipv4.ip_nonlocal_bind": "1"}
	nonlocal6 := map[string]string{"net.ipv6.ip_nonlocal_bind": "1"}
	localRoute := [][]string{{"route", "add", "local", "10.9.0.0/24", "dev", "lo"}}
	const wildcard8080 = "tcp4 0.0.0.0:8080"
	return []daemonCase{
		// An address nobody has, and the kernel refuses non-local binds.
		{name: "nginx/absent-v4", daemon: "nginx", listens: []string{"10.0.0.100:80"},
			addr: "10.0.0.100", port: 80,
			wantStderr: "bind() to 10.0.0.100:80 failed (99: Cannot assign requested address)"},
		{name: "haproxy/absent-v4", daemon: "haproxy", listens: []string{"10.0.0.100:80"},
			addr: "10.0.0.100", port: 80,
			wantStderr: "cannot bind socket (Cannot assign requested address) for [10.0.0.100:80]"},
		// The same address once ip_nonlocal_bind allows it (a VIP on a backup).
		{name: "nginx/absent-v4-nonlocal", daemon: "nginx", listens: []string{"10.0.0.100:80"},
			sysctls: nonlocal4, addr: "10.0.0.100", port: 80,
			wantBound: true, socket: "10.0.0.100:80"},
		{name: "haproxy/absent-v4-nonlocal", daemon: "haproxy", listens: []string{"10.0.0.100:80"},
			sysctls: nonlocal4, addr: "10.0.0.100", port: 80,
			wantBound: true, socket: "10.0.0.100:80"},
		// A local address whose port a wildcard socket already holds.
		{name: "nginx/port-held-by-wildcard", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			holder: wildcard8080, addr: "10.0.0.5", port: 8080,
			wantStderr: "bind() to 10.0.0.5:8080 failed (98: Address already in use)"},
		{name: "haproxy/port-held-by-wildcard", daemon: "haproxy", listens: []string{"10.0.0.5:8080"},
			holder: wildcard8080, addr: "10.0.0.5", port: 8080,
			wantStderr: "cannot bind socket (Address already in use) for [10.0.0.5:8080]"},
		// IPv6 has its own nonlocal sysctl.
		{name: "nginx/absent-v6", daemon: "nginx", listens: []string{"[fd00::100]:80"},
			addr: "fd00::100", port: 80,
			wantStderr: "bind() to [fd00::100]:80 failed (99: Cannot assign requested address)"},
		{name: "haproxy/absent-v6", daemon: "haproxy", listens: []string{"[fd00::100]:80"},
			addr: "fd00::100", port: 80,
			wantStderr: "cannot bind socket (Cannot assign requested address) for [fd00::100:80]"},
		{name: "nginx/absent-v6-nonlocal", daemon: "nginx", listens: []string{"[fd00::100]:80"},
			sysctls: nonlocal6, addr: "fd00::100", port: 80,
			wantBound: true, socket: "[fd00::100]:80"},
		{name: "haproxy/absent-v6-nonlocal", daemon: "haproxy", listens: []string{"[fd00::100]:80"},
			sysctls: nonlocal6, addr: "fd00::100", port: 80,
			wantBound: true, socket: "[fd00::100]:80"},
		// A local route makes a whole prefix bindable without any address on it.
		{name: "nginx/local-route", daemon: "nginx", listens: []string{"10.9.0.7:80"},
			ipArgs: localRoute, addr: "10.9.0.7", port: 80,
			wantBound: true, socket: "10.9.0.7:80"},
		{name: "haproxy/local-route", daemon: "haproxy", listens: []string{"10.9.0.7:80"},
			ipArgs: localRoute, addr: "10.9.0.7", port: 80,
			wantBound: true, socket: "10.9.0.7:80"},
		// nginx serves a specific address from the wildcard socket on its port...
		{name: "nginx/grouped-under-wildcard", daemon: "nginx", listens: []string{"10.0.0.100:80", "80"},
			addr: "10.0.0.100", port: 80,
			wantBound: true, socket: "0.0.0.0:80", wantVia: "0.0.0.0:80"},
		// ...unless a parameter like `bind` gives it a socket of its own.
		{name: "nginx/grouped-but-bind", daemon: "nginx", listens: []string{"10.0.0.100:80 bind", "80"},
			addr: "10.0.0.100", port: 80,
			wantStderr: "bind() to 10.0.0.100:80 failed (99: Cannot assign requested address)"},
		// HAProxy's transparent sets IP_TRANSPARENT, which binds any address.
		{name: "haproxy/transparent", daemon: "haproxy", listens: []string{"10.0.0.100:80 transparent"},
			addr: "10.0.0.100", port: 80,
			wantBound: true, socket: "10.0.0.100:80"},
		// [::] next to a held 0.0.0.0: nginx sets IPV6_V6ONLY, so it binds...
		{name: "nginx/v6-wildcard-beside-v4", daemon: "nginx", listens: []string{"[::]:8080"},
			holder: wildcard8080, addr: "::", port: 8080,
			wantBound: true, socket: "[::]:8080"},
		// ...HAProxy leaves it to net.ipv6.bindv6only (0), so its socket is
		// dual-stack and clashes, unless v6only is asked for.
		{name: "haproxy/v6-wildcard-beside-v4", daemon: "haproxy", listens: []string{":::8080"},
			holder: wildcard8080, addr: "::", port: 8080,
			wantStderr: "cannot bind socket (Address already in use) for [:::8080]"},
		{name: "haproxy/v6only-wildcard-beside-v4", daemon: "haproxy", listens: []string{":::8080 v6only"},
			holder: wildcard8080, addr: "::", port: 8080,
			wantBound: true, socket: "[::]:8080"},
		// A unix socket needs its directory; bind() says ENOENT without it.
		{name: "nginx/unix-dir-missing", daemon: "nginx", listens: []string{"unix:PREFIX/missing/x.sock"},
			addr:       "PREFIX/missing/x.sock",
			wantStderr: "bind() to unix:PREFIX/missing/x.sock failed (2: No such file or directory)"},
		{name: "haproxy/unix-dir-missing", daemon: "haproxy", listens: []string{"PREFIX/missing/h.sock"},
			addr:       "PREFIX/missing/h.sock",
			wantStderr: "cannot bind UNIX socket (No such file or directory) [PREFIX/missing/h.sock]"},
		{name: "nginx/unix", daemon: "nginx", listens: []string{"unix:PREFIX/x.sock"},
			addr: "PREFIX/x.sock", wantBound: true, socket: "PREFIX/x.sock"},
		{name: "haproxy/unix", daemon: "haproxy", listens: []string{"PREFIX/h.sock"},
			addr: "PREFIX/h.sock", wantBound: true, socket: "PREFIX/h.sock"},
		// A link-local address means nothing without an interface: EINVAL,
		// whatever ip_nonlocal_bind says.
		{name: "nginx/link-local-no-scope", daemon: "nginx", listens: []string{"[fe80::1]:80"},
			sysctls: nonlocal6, addr: "fe80::1", port: 80,
			wantStderr: "bind() to [fe80::1]:80 failed (22: Invalid argument)"},
		{name: "haproxy/link-local-no-scope", daemon: "haproxy", listens: []string{"[fe80::1]:80"},
			sysctls: nonlocal6, addr: "fe80::1", port: 80,
			wantStderr: "cannot bind socket (Invalid argument) for [fe80::1:80]"},
	}
}

// inDir returns the case with PREFIX replaced by dir.
func (tc daemonCase) inDir(dir string) daemonCase {
	r := strings.NewReplacer("PREFIX", dir)
	tc.listens = slices.Clone(tc.listens)
	for i, l := range tc.listens {
		tc.listens[i] = r.Replace(l)
	}
	tc.addr, tc.socket, tc.wantStderr = r.Replace(tc.addr), r.Replace(tc.socket), r.Replace(tc.wantStderr)
	return tc
}

// proto is the listeners[].proto lbdoctor gives the case's listener.
func (tc daemonCase) proto() string {
	if strings.HasPrefix(tc.addr, "/") {
		return "unix"
	}
	return "tcp"
}

// daemonReport is the part of the lbdoctor/v1 JSON (CONTRACT.md) the
// agreement test reads.
type daemonReport struct {
	Schema   string `json:"schema"`
	Services []struct {
		Service   string `json:"service"`
		Config    string `json:"config"`
		Status    string `json:"status"`
		Listeners []struct {
			Address string `json:"address"`
			Port    int    `json:"port"`
			Proto   string `json:"proto"`
			File    string `json:"file"`
			Line    int    `json:"line"`
			Status  string `json:"status"`
			Errno   string `json:"errno"`
			Finding string `json:"finding"`
			Via     string `json:"via"`
		} `json:"listeners"`
	} `json:"services"`
	Findings []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Message  string `json:"message"`
	} `json:"findings"`
}

// daemonVerdict is what lbdoctor said about one case.
type daemonVerdict struct {
	exit           int
	service        string // services[0].status
	listener       string // listeners[].status of the case's address
	errno          string
	via            string
	findings       []string
	listenerExists bool
}

func (v daemonVerdict) String() string {
	s := fmt.Sprintf("exit %d, service %s, listener %s", v.exit, v.service, v.listener)
	if v.errno != "" {
		s += " " + v.errno
	}
	if v.via != "" {
		s += " via " + v.via
	}
	return s
}

// daemonOutcome is what the daemon did in the namespace.
type daemonOutcome struct {
	bound  bool
	exit   int
	errno  string // read back from its error text
	stderr string
}

func (o daemonOutcome) String() string {
	if o.bound {
		return "bound"
	}
	return fmt.Sprintf("failed (exit %d) %s", o.exit, o.errno)
}

// daemonRow is one line of the agreement table.
type daemonRow struct {
	name, daemon, lbdoctor string
	agree                  string // yes, NO, or - when lbdoctor did not run
}

func TestDaemonsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("TestDaemonsAgree starts real nginx and HAProxy in network namespaces: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("TestDaemonsAgree SKIPPED: needs root to create network namespaces (ip netns add)")
	}
	for _, tool := range []string{"ip", "ss", "nginx", "haproxy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("TestDaemonsAgree SKIPPED: %s is not installed (%v)", tool, err)
		}
	}
	templates, err := template.ParseGlob(filepath.Join("..", "..", "testdata", "daemon", "*.tmpl"))
	if err != nil {
		t.Fatalf("read config templates: %v", err)
	}

	daemonOnly := os.Getenv("LBDOCTOR_DAEMON_ONLY") == "1"
	bin := os.Getenv("LBDOCTOR_BIN")
	switch {
	case daemonOnly:
		t.Log("LBDOCTOR_DAEMON_ONLY=1: checking the daemons against the fixtures only, lbdoctor is not run")
	case bin != "":
		t.Logf("LBDOCTOR_BIN: judging %s", bin)
	default:
		bin = daemonBuildLbdoctor(t)
	}

	var (
		seq  atomic.Int32
		mu   sync.Mutex
		rows []daemonRow
	)
	t.Run("case", func(t *testing.T) {
		for _, tc := range daemonCases() {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				// The row is kept even when a step below stops the test.
				row := daemonRow{name: tc.name, daemon: "(not run)", lbdoctor: "(not run)", agree: "-"}
				defer func() {
					if t.Failed() && row.agree != "NO" {
						row.agree = "ERROR"
					}
					mu.Lock()
					rows = append(rows, row)
					mu.Unlock()
				}()

				ns := fmt.Sprintf("lbd-d-%d-%d", os.Getpid(), seq.Add(1))
				daemonNetns(ctx, t, ns, tc)
				if tc.holder != "" {
					network, addr, _ := strings.Cut(tc.holder, " ")
					ln, err := daemonHoldPort(ns, network, addr)
					if err != nil {
						t.Fatalf("hold %s in %s: %v", tc.holder, ns, err)
					}
					t.Cleanup(func() { ln.Close() })
				}
				prefix := t.TempDir()
				tc := tc.inDir(prefix)
				conf := writeDaemonConfig(t, templates, tc, prefix)

				// lbdoctor first: once the daemon runs, its own socket
				// would be part of the host state.
				var v daemonVerdict
				if !daemonOnly {
					row.lbdoctor = "(error, see log)"
					v = daemonRunLbdoctor(ctx, t, bin, ns, tc, conf)
					row.lbdoctor = v.String()
				}
				row.daemon = "(error, see log)"
				out := runDaemon(ctx, t, ns, tc, conf, prefix)

				row.daemon = out.String()
				// The fixture must build the state it claims.
				if out.bound != tc.wantBound {
					row.daemon += " (fixture expects otherwise!)"
					t.Errorf("fixture: daemon %s, the case expects bound=%v; stderr:\n%s", out, tc.wantBound, out.stderr)
				} else if !out.bound && !strings.Contains(out.stderr, tc.wantStderr) {
					row.daemon += " (unexpected text!)"
					t.Errorf("fixture: daemon stderr lacks %q:\n%s", tc.wantStderr, out.stderr)
				}
				if !daemonOnly {
					problems := daemonDisagreements(tc, out, v)
					for _, p := range problems {
						t.Errorf("disagreement: %s", p)
					}
					if len(problems) > 0 {
						t.Logf("lbdoctor findings: %q", v.findings)
					}
					row.agree = "yes"
					if len(problems) > 0 {
						row.agree = "NO"
					}
				}
			})
		}
	})

	slices.SortFunc(rows, func(a, b daemonRow) int { return strings.Compare(a.name, b.name) })
	var b strings.Builder
	fmt.Fprintf(&b, "%-36s %-32s %-52s %s\n", "CASE", "DAEMON", "LBDOCTOR", "AGREE")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-36s %-32s %-52s %s\n", r.name, r.daemon, r.lbdoctor, r.agree)
	}
	t.Logf("agreement table (%d cases):\n%s", len(rows), b.String())
}

// daemonDisagreements lists where lbdoctor's verdict differs from what the
// daemon did; the daemon is right by definition.
func daemonDisagreements(tc daemonCase, out daemonOutcome, v daemonVerdict) []string {
	var p []string
	if !v.listenerExists {
		return []string{fmt.Sprintf("lbdoctor reports no listener %s port %d (daemon %s)", tc.addr, tc.port, out)}
	}
	if out.bound {
		if v.service != "ok" {
			p = append(p, fmt.Sprintf("daemon bound, lbdoctor says service %q", v.service))
		}
		// warn is still "binds now" (e.g. a runtime-only sysctl).
		if v.listener != "ok" && v.listener != "warn" {
			p = append(p, fmt.Sprintf("daemon bound, lbdoctor says listener %q %s", v.listener, v.errno))
		}
		if v.listener == "ok" && v.errno != "" {
			p = append(p, fmt.Sprintf("listener ok but errno %q", v.errno))
		}
		if v.exit != 0 {
			p = append(p, fmt.Sprintf("daemon bound, lbdoctor exit code %d, want 0", v.exit))
		}
		if tc.wantVia != "" && v.via != tc.wantVia {
			p = append(p, fmt.Sprintf("daemon served %s:%d from %s, lbdoctor says via %q", tc.addr, tc.port, tc.socket, v.via))
		}
		return p
	}
	if v.service != "fail" {
		p = append(p, fmt.Sprintf("daemon failed with %s, lbdoctor says service %q", out.errno, v.service))
	}
	if v.listener != "fail" {
		p = append(p, fmt.Sprintf("daemon failed with %s, lbdoctor says listener %q", out.errno, v.listener))
	}
	if v.errno != out.errno {
		p = append(p, fmt.Sprintf("daemon failed with %s, lbdoctor says errno %q", out.errno, v.errno))
	}
	if v.exit != 1 {
		p = append(p, fmt.Sprintf("daemon failed, lbdoctor exit code %d, want 1", v.exit))
	}
	return p
}

// daemonBuildLbdoctor compiles the command under test once, from this directory.
func daemonBuildLbdoctor(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("TestDaemonsAgree SKIPPED: the go tool is not in PATH to build lbdoctor (%v)", err)
	}
	bin := filepath.Join(t.TempDir(), "lbdoctor")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build lbdoctor: %v\n%s", err, out)
	}
	return bin
}

// daemonCmd runs a helper (ip, ss, sysctl) that must succeed.
func daemonCmd(ctx context.Context, t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// daemonNetns creates the namespace ns with lo up and eth0 holding
// 10.0.0.5/24 and fd00::5/64, applies the case's sysctls and ip commands,
// and removes the namespace when the test ends. The host's own namespace
// is never touched: every command names ns.
func daemonNetns(ctx context.Context, t *testing.T, ns string, tc daemonCase) {
	t.Helper()
	daemonCmd(ctx, t, "ip", "netns", "add", ns)
	t.Cleanup(func() {
		// t.Context is already done when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	})
	steps := [][]string{
		{"link", "set", "lo", "up"},
		// The kernel has no dummy driver; ifb is a plain, always-up device.
		{"link", "add", "eth0", "type", "ifb"},
		{"link", "set", "eth0", "up"},
		{"addr", "add", "10.0.0.5/24", "dev", "eth0"},
		{"addr", "add", "fd00::5/64", "dev", "eth0", "nodad"},
	}
	for _, s := range append(steps, tc.ipArgs...) {
		daemonCmd(ctx, t, "ip", append([]string{"-n", ns}, s...)...)
	}
	sysctls := map[string]string{"net.ipv4.ip_nonlocal_bind": "0", "net.ipv6.ip_nonlocal_bind": "0"}
	for k, v := range tc.sysctls {
		sysctls[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(sysctls)) {
		daemonCmd(ctx, t, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", k+"="+sysctls[k])
	}
}

// daemonHoldPort opens a listening socket inside ns from this process: the
// "other process already on the port". The socket stays in ns after the
// thread switches back.
func daemonHoldPort(ns, network, addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		ln, err := net.Listen(network, addr)
		// Only a thread back in its own namespace may run other goroutines;
		// otherwise it stays locked and dies with this goroutine.
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{ln, err}
	}()
	r := <-ch
	return r.ln, r.err
}

// writeDaemonConfig renders the case's config from testdata/daemon into a
// fresh directory that is also the daemon's prefix.
func writeDaemonConfig(t *testing.T, templates *template.Template, tc daemonCase, prefix string) string {
	t.Helper()
	name := map[string]string{"nginx": "nginx.conf", "haproxy": "haproxy.cfg"}[tc.daemon]
	var b bytes.Buffer
	data := struct {
		Prefix  string
		Listens []string
	}{prefix, tc.listens}
	if err := templates.ExecuteTemplate(&b, name+".tmpl", data); err != nil {
		t.Fatalf("render %s: %v", name, err)
	}
	conf := filepath.Join(prefix, name)
	if err := os.WriteFile(conf, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// daemonRunLbdoctor runs `lbdoctor check --json` inside ns and picks out the
// verdict on the case's listener.
func daemonRunLbdoctor(ctx context.Context, t *testing.T, bin, ns string, tc daemonCase, conf string) daemonVerdict {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "check", "--json", "--"+tc.daemon, conf)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var v daemonVerdict
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		v.exit = exitErr.ExitCode()
	default:
		t.Fatalf("run lbdoctor: %v\nstderr:\n%s", err, stderr.String())
	}
	var r daemonReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("lbdoctor check --json (exit %d): stdout is not JSON: %v\nstdout:\n%s\nstderr:\n%s", v.exit, err, stdout.String(), stderr.String())
	}
	if r.Schema != "lbdoctor/v1" {
		t.Errorf("lbdoctor schema = %q, want lbdoctor/v1", r.Schema)
	}
	if len(r.Services) != 1 || r.Services[0].Service != tc.daemon {
		t.Fatalf("lbdoctor --%s reported services %+v, want exactly one %s", tc.daemon, r.Services, tc.daemon)
	}
	s := r.Services[0]
	v.service = s.Status
	for _, f := range r.Findings {
		v.findings = append(v.findings, f.ID+" "+f.Severity+": "+f.Message)
	}
	for _, l := range s.Listeners {
		if l.Address == tc.addr && l.Port == tc.port && l.Proto == tc.proto() {
			if v.listenerExists {
				t.Errorf("lbdoctor reports listener %s port %d twice", tc.addr, tc.port)
			}
			v.listenerExists = true
			v.listener, v.errno, v.via = l.Status, l.Errno, l.Via
		}
	}
	return v
}

// runDaemon starts the real daemon in ns in the foreground and waits until
// it either exits (failed) or has run for a second with its socket
// listening (bound); then it stops the daemon.
func runDaemon(ctx context.Context, t *testing.T, ns string, tc daemonCase, conf, prefix string) daemonOutcome {
	t.Helper()
	var args []string
	switch tc.daemon {
	case "nginx":
		// daemon off, pid and error_log stderr are in the config itself,
		// so lbdoctor reads exactly what nginx runs.
		args = []string{"nginx", "-c", conf, "-p", prefix}
	case "haproxy":
		args = []string{"haproxy", "-db", "-f", conf}
	default:
		t.Fatalf("unknown daemon %q", tc.daemon)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// ip netns exec execs the daemon, so the PID is the daemon's; its own
	// process group also holds nginx's workers, so a stop reaches them.
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", tc.daemon, err)
	}
	pid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waited bool
	var waitErr error
	stop := func() {
		if waited {
			return
		}
		// SIGTERM lets nginx's master take its workers down with it.
		syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case waitErr = <-done:
		case <-time.After(3 * time.Second):
			syscall.Kill(-pid, syscall.SIGKILL)
			waitErr = <-done
		}
		waited = true
	}
	defer stop()

	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case waitErr = <-done:
			waited = true
			out := daemonOutcome{exit: -1, stderr: stderr.String()}
			var exitErr *exec.ExitError
			if errors.As(waitErr, &exitErr) {
				out.exit = exitErr.ExitCode()
			} else if waitErr == nil {
				out.exit = 0
				t.Errorf("%s exited 0 in the foreground; stderr:\n%s", tc.daemon, out.stderr)
			}
			out.errno = daemonErrno(out.stderr)
			return out
		case <-tick.C:
			// nginx retries a busy port for 2.5 s before it gives up, so
			// "still running" alone does not mean bound.
			if time.Since(start) < time.Second || !daemonListening(ctx, t, ns, pid, tc.socket) {
				continue
			}
			stop()
			return daemonOutcome{bound: true, stderr: stderr.String()}
		case <-ctx.Done():
			stop()
			t.Fatalf("%s neither exited nor listened on %s in time; stderr:\n%s", tc.daemon, tc.socket, stderr.String())
		}
	}
}

// daemonListening reports whether process pid listens on the TCP or unix
// socket local (as `ss` prints it) in ns.
func daemonListening(ctx context.Context, t *testing.T, ns string, pid int, local string) bool {
	kind, match := "-t", func(field string) bool { return field == local }
	if strings.HasPrefix(local, "/") {
		// HAProxy binds PATH.PID.tmp and renames it to PATH; ss keeps the
		// bound name, so the file itself is the proof of the final name.
		fi, err := os.Lstat(local)
		if err != nil || fi.Mode().Type() != os.ModeSocket {
			return false
		}
		kind = "-x"
		match = func(field string) bool { return field == local || strings.HasPrefix(field, local+".") }
	}
	out := daemonCmd(ctx, t, "ip", "netns", "exec", ns, "ss", "-H", "-l", "-n", "-p", kind)
	owner := fmt.Sprintf("pid=%d,", pid)
	for _, line := range strings.Split(out, "\n") {
		// The peer column ("0.0.0.0:*", "*") never equals a local socket.
		if slices.ContainsFunc(strings.Fields(line), match) && strings.Contains(line, owner) {
			return true
		}
	}
	return false
}

// daemonErrno names the errno behind a daemon's bind error text; both
// nginx and HAProxy print strerror().
func daemonErrno(s string) string {
	for _, e := range []struct{ text, name string }{
		{"Cannot assign requested address", "EADDRNOTAVAIL"},
		{"Address already in use", "EADDRINUSE"},
		{"Permission denied", "EACCES"},
		{"Invalid argument", "EINVAL"},
		{"No such file or directory", "ENOENT"},
		{"Address family not supported", "EAFNOSUPPORT"},
	} {
		if strings.Contains(s, e.text) {
			return e.name
		}
	}
	return ""
}
