package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestServiceCorpusDaemons starts the real apache2, postgres and
// redis-server (Sentinel too) on each configuration of serviceCorpus, in
// an empty network namespace of its own (lo, and eth0 with 10.0.0.5 and
// fd00::5) and a private mount namespace where /etc/hosts is Debian's,
// and holds the sockets it opened to the recorded ones, which
// TestServiceCorpus holds lbdoctor's listing to. lbdoctor, run in the same
// namespace first, must say the service would start. Only the paths the
// daemon writes (logs, pid files, its data and unix socket directories)
// are pointed at a scratch directory; the listening settings are the
// file's own.
func TestServiceCorpusDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("TestServiceCorpusDaemons starts real daemons: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("TestServiceCorpusDaemons SKIPPED: needs root to create network namespaces")
	}
	for _, tool := range []string{"ip", "ss", "unshare", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("TestServiceCorpusDaemons SKIPPED: %s is not installed (%v)", tool, err)
		}
	}
	defer daemonPostgresTemplate.cleanup()
	bin := daemonBuildLbdoctor(t)
	var seq atomic.Int32
	agree := 0
	for _, c := range serviceCorpus() {
		ok := t.Run(c.name, func(t *testing.T) {
			if _, err := exec.LookPath(daemonBinary(c.service)); err != nil {
				t.Skipf("SKIPPED: %s is not installed (%v)", daemonBinary(c.service), err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			ns := fmt.Sprintf("lbd-sc-%d-%d", os.Getpid(), seq.Add(1))
			daemonNetns(ctx, t, ns, daemonCase{})
			root := stageServiceCorpus(t, c)
			scratch := filepath.Join(filepath.Dir(root), "run")
			if err := os.MkdirAll(scratch, 0o755); err != nil {
				t.Fatal(err)
			}
			hosts := filepath.Join(root, "etc", "hosts")

			// lbdoctor first, on the tree, in the namespace.
			out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "check", "--json", "--root", root, "--"+c.service, c.config).Output()
			var exitErr *exec.ExitError
			if err != nil && !errors.As(err, &exitErr) {
				t.Fatalf("lbdoctor: %v", err)
			}
			var r daemonReport
			if err := json.Unmarshal(out, &r); err != nil || len(r.Services) != 1 {
				t.Fatalf("lbdoctor --json: %v\n%s", err, out)
			}
			if r.Services[0].Status != "ok" {
				t.Errorf("lbdoctor says %s %q; findings %+v", c.service, r.Services[0].Status, r.Findings)
			}

			user, args, env := serviceCorpusCommand(ctx, t, c, root, scratch)
			if user != "" {
				ids, err := daemonUserIDs(user)
				if err != nil {
					t.Skipf("SKIPPED: user %s: %v", user, err)
				}
				args = append([]string{"setpriv", fmt.Sprintf("--reuid=%d", ids[0]), fmt.Sprintf("--regid=%d", ids[1]), "--clear-groups"}, args...)
			}
			// unshare -m: a private mount namespace, so the bind mount of
			// hosts never reaches the machine's /etc/hosts.
			script := `mount --bind "$0" /etc/hosts && exec "$@"`
			full := append([]string{"-m", "--propagation", "private", "sh", "-c", script, hosts, "ip", "netns", "exec", ns}, args...)
			cmd := exec.CommandContext(ctx, "unshare", full...)
			cmd.Env = append(os.Environ(), env...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			cmd.WaitDelay = 2 * time.Second
			var output syncBuffer
			cmd.Stdout, cmd.Stderr = &output, &output
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-done
				}
			}()
			want := recordedSockets(t, c.name)
			var got []string
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				select {
				case err := <-done:
					t.Fatalf("%s exited (%v) on a config it should run; output:\n%s", c.service, err, output.String())
				case <-time.After(300 * time.Millisecond):
				}
				got = listeningTCP(ctx, t, ns)
				if slices.Equal(got, want) {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("the daemon listens on %q, recorded %q; output:\n%s", got, want, output.String())
			}
		})
		if ok {
			agree++
		}
	}
	t.Logf("%d real-world configurations, %d where the daemon opened the recorded sockets and lbdoctor said it would start", len(serviceCorpus()), agree)
}

// serviceCorpusCommand is how the case's daemon is started on the staged
// tree: the user it runs as, its arguments and extra environment.
func serviceCorpusCommand(ctx context.Context, t *testing.T, c serviceCorpusCase, root, scratch string) (user string, args, env []string) {
	t.Helper()
	conf := filepath.Join(root, c.config)
	switch c.service {
	case "apache":
		// What Debian's envvars sets, with the writable paths in scratch.
		env = []string{"APACHE_RUN_USER=www-data", "APACHE_RUN_GROUP=www-data", "APACHE_RUN_DIR=" + scratch,
			"APACHE_PID_FILE=" + filepath.Join(scratch, "apache2.pid"), "APACHE_LOCK_DIR=" + scratch, "APACHE_LOG_DIR=" + scratch, "LANG=C"}
		return "", []string{"apache2", "-d", filepath.Dir(conf), "-f", conf, "-DFOREGROUND"}, env
	case "postgresql":
		ids, err := daemonUserIDs("postgres")
		if err != nil {
			t.Skipf("SKIPPED: user postgres: %v", err)
		}
		if err := os.Chown(scratch, ids[0], ids[1]); err != nil {
			t.Fatal(err)
		}
		daemonPostgresData(ctx, t, scratch)
		data := filepath.Join(scratch, "data")
		return "postgres", []string{daemonBinary("postgresql"), "-D", data, "-c", "config_file=" + conf,
			"-c", "data_directory=" + data, "-c", "hba_file=" + filepath.Join(data, "pg_hba.conf"),
			"-c", "ident_file=" + filepath.Join(data, "pg_ident.conf"), "-c", "external_pid_file=",
			"-c", "unix_socket_directories=" + scratch, "-c", "ssl=off"}, nil
	case "redis":
		// Sentinel rewrites its config: it gets a writable copy.
		if strings.Contains(c.config, "sentinel") {
			data, err := os.ReadFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			conf = filepath.Join(scratch, "sentinel.conf")
			if err := os.WriteFile(conf, data, 0o644); err != nil {
				t.Fatal(err)
			}
			args = []string{"--sentinel"}
		}
		return "", append([]string{"redis-server", conf}, append(args, "--daemonize", "no", "--logfile", "",
			"--pidfile", filepath.Join(scratch, "redis.pid"), "--dir", scratch)...), nil
	}
	t.Fatalf("unknown service %q", c.service)
	return "", nil, nil
}

// listeningTCP is every listening TCP local address in ns, sorted.
func listeningTCP(ctx context.Context, t *testing.T, ns string) []string {
	var out []string
	for _, line := range strings.Split(daemonCmd(ctx, t, "ip", "netns", "exec", ns, "ss", "-H", "-l", "-t", "-n"), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && !slices.Contains(out, f[3]) {
			out = append(out, f[3])
		}
	}
	slices.Sort(out)
	return out
}
