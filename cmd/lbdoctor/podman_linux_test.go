package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPodmanRun runs one real container: an image imported from the host's
// own haproxy binary and libraries (no registry is reachable), as USER
// haproxy with --cap-add NET_BIND_SERVICE on the host network of a test
// namespace, binding port 80. Podman makes the added capability ambient
// for a non-root user, so HAProxy binds; lbdoctor, given the container's
// `podman inspect`, must agree. Where Podman cannot run containers (crun
// refuses hybrid cgroups, no overlay), the test says why and skips.
func TestPodmanRun(t *testing.T) {
	if testing.Short() {
		t.Skip("TestPodmanRun runs a real container: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("TestPodmanRun SKIPPED: needs root for rootful Podman and network namespaces")
	}
	for _, tool := range []string{"podman", "haproxy", "ldd", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("TestPodmanRun SKIPPED: %s is not installed (%v)", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	podman := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "podman", args...).CombinedOutput()
		return string(out), err
	}
	image := fmt.Sprintf("localhost/lbdoctor-test-haproxy:%d", os.Getpid())
	tarball := podmanRootfsTar(t)
	imp := exec.CommandContext(ctx, "podman", "import", "-", image)
	imp.Stdin = bytes.NewReader(tarball)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Skipf("TestPodmanRun SKIPPED: podman import of the host's haproxy failed: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("podman", "rmi", "-f", image).Run() })
	// Podman's default RLIMIT_NOFILE is above what this machine lets
	// root raise to; a limit below it is honoured.
	limits := []string{"--ulimit", "nofile=1024:4096", "--ulimit", "nproc=1024:4096"}
	if out, err := podman(append(append([]string{"run", "--rm", "--network", "none"}, limits...), image, "/usr/sbin/haproxy", "-v")...); err != nil {
		t.Skipf("TestPodmanRun SKIPPED: podman cannot run a container on this machine: %v\n%s", err, strings.TrimSpace(out))
	}

	ns := fmt.Sprintf("lbd-pm-%d", os.Getpid())
	daemonNetns(ctx, t, ns, daemonCase{})
	dir, err := os.MkdirTemp("", "lbd-podman-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	cfg := filepath.Join(dir, "haproxy.cfg")
	daemonWriteFile(t, cfg, "global\n    maxconn 64\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend fe\n    bind 10.0.0.5:80\n    default_backend be\nbackend be\n    server s1 127.0.0.1:9\n")
	name := fmt.Sprintf("lbd-pm-%d", os.Getpid())
	run := append(append([]string{"netns", "exec", ns, "podman", "run", "-d", "--name", name, "--network", "host",
		"--user", "haproxy", "--cap-add", "NET_BIND_SERVICE", "-v", cfg + ":/usr/local/etc/haproxy/haproxy.cfg:ro"}, limits...),
		image, "/usr/sbin/haproxy", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg")
	if out, err := exec.CommandContext(ctx, "ip", run...).CombinedOutput(); err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("podman", "rm", "-f", name).Run() })
	time.Sleep(2 * time.Second)
	state, _ := podman("inspect", "--format", "{{.State.Running}}", name)
	logs, _ := podman("logs", name)
	bound := strings.TrimSpace(state) == "true" && strings.Contains(daemonCmd(ctx, t, "ip", "netns", "exec", ns, "ss", "-H", "-l", "-n", "-t"), "10.0.0.5:80")
	inspect, err := podman("inspect", name)
	if err != nil {
		t.Fatalf("podman inspect: %v\n%s", err, inspect)
	}
	def := filepath.Join(dir, "inspect.json")
	daemonWriteFile(t, def, inspect)

	bin := lbdoctorBin(t)
	out, _ := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "check", "--json", "--container", def).Output()
	var r daemonReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("lbdoctor: %v\n%s", err, out)
	}
	ok := len(r.Services) == 1 && r.Services[0].Status == "ok"
	t.Logf("podman run: haproxy bound=%v (logs: %s); lbdoctor service ok=%v", bound, strings.TrimSpace(logs), ok)
	if bound != ok {
		t.Errorf("disagreement: HAProxy in the container bound=%v, lbdoctor says ok=%v:\n%s", bound, ok, out)
	}
}

// podmanRootfsTar is a tar of a minimal root file system: the host's
// haproxy, the libraries ldd names, and passwd/group entries for root and
// haproxy.
func podmanRootfsTar(t *testing.T) []byte {
	t.Helper()
	out, err := exec.Command("ldd", "/usr/sbin/haproxy").Output()
	if err != nil {
		t.Skipf("TestPodmanRun SKIPPED: ldd /usr/sbin/haproxy: %v", err)
	}
	files := []string{"/usr/sbin/haproxy"}
	files = append(files, regexp.MustCompile(`/\S+`).FindAllString(string(out), -1)...)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(name, "/"), Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	dirs := map[string]bool{}
	for _, f := range append(files, "/etc/passwd", "/tmp/x", "/usr/local/etc/haproxy/x") {
		for d := filepath.Dir(f); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, Typeflag: tar.TypeDir})
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Skipf("TestPodmanRun SKIPPED: %v", err)
		}
		data, err := io.ReadAll(fh)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		add(f, 0o755, data)
	}
	ids, err := daemonUserIDs("haproxy")
	if err != nil {
		t.Skipf("TestPodmanRun SKIPPED: no haproxy user: %v", err)
	}
	add("/etc/passwd", 0o644, []byte(fmt.Sprintf("root:x:0:0:root:/root:/bin/sh\nhaproxy:x:%d:%d::/tmp:/bin/false\n", ids[0], ids[1])))
	add("/etc/group", 0o644, []byte(fmt.Sprintf("root:x:0:\nhaproxy:x:%d:\n", ids[1])))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
