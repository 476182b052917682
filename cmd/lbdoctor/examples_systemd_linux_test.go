package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sandboxScript runs a command as examples/systemd/lbdoctor.service would,
// as far as a private mount namespace and setpriv can show it without
// systemd: every mount read-only (ProtectSystem=strict) but the output
// directory (ReadWritePaths=), no new privileges, and no capability but
// CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE (CapabilityBoundingSet=). The
// seccomp settings (SystemCallFilter=, RestrictAddressFamilies=,
// MemoryDenyWriteExecute=) are not reproduced.
//
// Before that, the same command runs without the sandbox, in the same
// network namespace, and its output is kept as plain.prom.
const sandboxScript = `set -e
out=$1; shift
plain=0; "$@" || plain=$?
mv "$out/lbdoctor.prom" "$out/plain.prom"
echo "plain exit $plain"
mount --bind "$out" "$out"
awk '{print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
  case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|"$out") continue;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || echo "cannot make $m read-only"
done
exec setpriv --no-new-privs --bounding-set -all,+dac_read_search,+sys_ptrace --inh-caps -all -- sh -c '
  grep -E "^(CapEff|NoNewPrivs):" /proc/self/status
  touch "$0/../outside" 2>/dev/null && echo "wrote outside the output directory"
  sandboxed=0; "$@" || sandboxed=$?
  echo "sandboxed exit $sandboxed"' "$out" "$@"
`

// TestSystemdSandbox runs the example unit's command line in (most of) its
// sandbox and outside it, in one fresh network namespace, and wants the
// same metrics from both: the hardening takes nothing lbdoctor needs.
func TestSystemdSandbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root (a private mount and network namespace): the unit's sandbox is not tried")
	}
	for _, tool := range []string{"unshare", "setpriv", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: needs %s (util-linux): the unit's sandbox is not tried", tool)
		}
	}
	bin, err := exec.LookPath("lbdoctor") // this test binary, as lbdoctor (TestMain)
	if err != nil {
		t.Fatal(err)
	}
	service, err := os.ReadFile(filepath.Join("..", "..", "examples", "systemd", "lbdoctor.service"))
	if err != nil {
		t.Fatal(err)
	}
	// The unit's settings this test reproduces: if they change, so must it.
	for _, want := range []string{"ProtectSystem=strict", "ReadWritePaths=/var/lib/prometheus/node-exporter", "NoNewPrivileges=yes", "CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_SYS_PTRACE"} {
		if !bytes.Contains(service, []byte("\n"+want+"\n")) {
			t.Fatalf("lbdoctor.service has no %q line; update this test with it", want)
		}
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "textfile")
	must(t, os.Mkdir(out, 0o755))
	var args []string
	for _, l := range strings.Split(string(service), "\n") {
		if rest, ok := strings.CutPrefix(l, "ExecStart=/usr/bin/lbdoctor "); ok {
			args = strings.Fields(strings.ReplaceAll(rest, "/var/lib/prometheus/node-exporter", out))
		}
	}
	if len(args) == 0 {
		t.Fatal("lbdoctor.service has no ExecStart=/usr/bin/lbdoctor line")
	}
	script := filepath.Join(dir, "sandbox.sh")
	must(t, os.WriteFile(script, []byte(sandboxScript), 0o644))
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--net", "sh", script, out, bin}, args...)...)
	log, err := cmd.CombinedOutput()
	t.Logf("sandbox:\n%s", log)
	if err != nil {
		t.Fatalf("the sandbox script failed: %v", err)
	}
	// The sandbox holds: exactly the two capabilities (bits 2 and 19), no
	// new privileges, nothing written outside the output directory.
	for _, want := range []string{"CapEff:\t0000000000080004", "NoNewPrivs:\t1"} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("the sandbox does not have %q", want)
		}
	}
	if bytes.Contains(log, []byte("wrote outside")) || bytes.Contains(log, []byte("cannot make")) {
		t.Errorf("the sandbox is not read-only")
	}
	codes := regexp.MustCompile(`(?m)^(plain|sandboxed) exit (\d+)$`).FindAllSubmatch(log, -1)
	if len(codes) != 2 || !bytes.Equal(codes[0][2], codes[1][2]) {
		t.Fatalf("want the same exit in and out of the sandbox: %q", codes)
	}
	// Exit 2 (and up 0) on a machine with none of the configs; CI has them.
	up := "lbdoctor_up 1\n"
	if string(codes[0][2]) == "2" {
		t.Log("no nginx, HAProxy or keepalived config on this machine: both runs exit 2 (lbdoctor_up 0)")
		up = "lbdoctor_up 0\n"
	}
	plain, err := os.ReadFile(filepath.Join(out, "plain.prom"))
	if err != nil {
		t.Fatal(err)
	}
	sandboxed, err := os.ReadFile(filepath.Join(out, "lbdoctor.prom"))
	if err != nil {
		t.Fatalf("the sandboxed run wrote no textfile: %v", err)
	}
	// The time and duration of a run differ; everything else must not.
	timing := regexp.MustCompile(`(?m)^lbdoctor_(last_run_timestamp_seconds|run_duration_seconds) .*\n`)
	p, s := timing.ReplaceAll(plain, nil), timing.ReplaceAll(sandboxed, nil)
	if !bytes.Equal(p, s) {
		t.Errorf("the sandboxed run's metrics differ:\n--- plain\n%s\n--- sandboxed\n%s", p, s)
	}
	if !bytes.Contains(s, []byte(up)) {
		t.Errorf("the sandboxed run's metrics have no %q:\n%s", up, s)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 2 {
		t.Errorf("the output directory holds %d entries, want plain.prom and lbdoctor.prom", len(entries))
	}
}
