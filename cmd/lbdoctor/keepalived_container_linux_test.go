package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// TestKeepalivedContainer runs the real keepalived the way a container
// would (its engine's bounding set plus cap_add, in the host's namespace or
// in one of its own) as the only node, MASTER at once, and compares whether
// the VIP reaches the "host" namespace with lbdoctor's LBD520 on the
// container's definition.
func TestKeepalivedContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("TestKeepalivedContainer runs keepalived in network namespaces: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("TestKeepalivedContainer SKIPPED: needs root to create network namespaces and run keepalived")
	}
	for _, tool := range []string{"ip", "keepalived", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("TestKeepalivedContainer SKIPPED: %s is not installed (%v)", tool, err)
		}
	}
	templates, err := template.ParseGlob(filepath.Join("..", "..", "testdata", "daemon", "*.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	bin := lbdoctorBin(t)
	cases := []struct {
		name        string
		engine      string
		hostNetwork bool
		capAdd      []string
		def         string // the definition's container part, after the image
	}{
		{"docker-host-net-admin", "docker", true, []string{"net_admin"}, "    network_mode: host\n    cap_add: [NET_ADMIN]\n"},
		{"docker-host-default-caps", "docker", true, nil, "    network_mode: host\n"},
		{"podman-host-net-admin-no-raw", "podman", true, []string{"net_admin"}, "Network=host\nAddCapability=CAP_NET_ADMIN\n"},
		{"docker-own-netns", "docker", false, []string{"net_admin"}, "    cap_add: [NET_ADMIN]\n"},
	}
	var seq atomic.Int32
	var (
		mu   sync.Mutex
		rows []string
	)
	t.Run("case", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
				defer cancel()
				ns := fmt.Sprintf("lbd-ka-%d-%d", os.Getpid(), seq.Add(1))
				daemonNetns(ctx, t, ns, daemonCase{})
				dir := t.TempDir()
				var b bytes.Buffer
				data := struct {
					RouterID, State, Self, Peer string
					Priority                    int
				}{"lbdka", "MASTER", "10.0.0.5", "10.0.0.6", 150}
				if err := templates.ExecuteTemplate(&b, "keepalived.conf.tmpl", data); err != nil {
					t.Fatal(err)
				}
				conf := filepath.Join(dir, "keepalived.conf")
				daemonWriteFile(t, conf, b.String())
				var def, file string
				if tc.engine == "podman" {
					def = fmt.Sprintf("[Container]\nImage=docker.io/osixia/keepalived:2.0.20\nVolume=%s:/etc/keepalived/keepalived.conf:ro\n%s", conf, tc.def)
					file = filepath.Join(dir, "vrrp.container")
				} else {
					def = fmt.Sprintf("services:\n  vrrp:\n    image: osixia/keepalived:2.0.20\n    volumes:\n      - %s:/etc/keepalived/keepalived.conf:ro\n%s", conf, tc.def)
					file = filepath.Join(dir, "compose.yaml")
				}
				daemonWriteFile(t, file, def)

				// lbdoctor first, on the definition alone.
				out, _ := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "check", "--json", "--container", file).Output()
				var r daemonReport
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatalf("lbdoctor --json: %v\n%s", err, out)
				}
				predicted := false
				for _, f := range r.Findings {
					predicted = predicted || f.ID == "LBD520"
				}

				// The daemon, as the engine would run it.
				runNS := ns
				if !tc.hostNetwork {
					runNS = ns + "c"
					daemonCmd(ctx, t, "ip", "netns", "add", runNS)
					t.Cleanup(func() { exec.Command("ip", "netns", "del", runNS).Run() })
					for _, s := range [][]string{{"link", "set", "lo", "up"}, {"link", "add", "eth0", "type", "ifb"}, {"link", "set", "eth0", "up"}, {"addr", "add", "10.0.0.5/24", "dev", "eth0"}} {
						daemonCmd(ctx, t, "ip", append([]string{"-n", runNS}, s...)...)
					}
				}
				bounding := "-all"
				for _, c := range append(slices.Clone(engineDefaultCaps[tc.engine]), tc.capAdd...) {
					bounding += ",+" + c
				}
				pid := func(s string) string { return filepath.Join(dir, "keepalived-"+s+".pid") }
				cmd := exec.CommandContext(ctx, "ip", "netns", "exec", runNS, "setpriv", "--bounding-set="+bounding,
					"keepalived", "-n", "-l", "-D", "-G", "-P", "-f", conf, "-p", pid("main"), "-r", pid("vrrp"), "-c", pid("checkers"))
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
				cmd.WaitDelay = 2 * time.Second
				var log syncBuffer
				cmd.Stdout, cmd.Stderr = &log, &log
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer func() {
					syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
					done := make(chan struct{})
					go func() { cmd.Wait(); close(done) }()
					select {
					case <-done:
					case <-time.After(5 * time.Second):
						syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
						<-done
					}
				}()
				// MASTER at once on a lone node: the VIP comes within a few
				// adverts, or never.
				vip := hapairWaitVIP(ctx, t, ns, true, 6*time.Second)
				row := fmt.Sprintf("%-30s VIP on host: %-5v lbdoctor LBD520: %-5v", tc.name, vip, predicted)
				mu.Lock()
				rows = append(rows, row)
				mu.Unlock()
				if vip == predicted {
					t.Errorf("disagreement: the VIP reached the host=%v, lbdoctor reported LBD520=%v\nkeepalived said:\n%s\nlbdoctor: %s", vip, predicted, log.String(), out)
				}
				t.Logf("keepalived log tail:\n%s", tail(log.String(), 6))
			})
		}
	})
	slices.Sort(rows)
	t.Logf("keepalived container cases:\n%s", strings.Join(rows, "\n"))
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
