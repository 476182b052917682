package keepalived

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// severityBase is a VRRP instance keepalived runs with, put before every
// row so that the daemon has something to run whatever the row's lines do
// (with nothing left to run it stops: "keepalived has no configuration to
// run"). eth0 is a bridge in the test's own network namespace.
const severityBase = `vrrp_instance VI_BASE {
    state BACKUP
    interface eth0
    virtual_router_id 250
    priority 100
    virtual_ipaddress {
        192.0.2.250/24
    }
}
`

// severityRow is a keepalived.conf snippet (after severityBase, which is
// 9 lines long) and what lbdoctor must say about it.
type severityRow struct {
	name  string
	conf  string
	files map[string]string // more files in the same folder
	// words is what keepalived says about the row, which lbdoctor's
	// message must carry as well: the daemon's own words.
	words string
	// lvs rows are judged by keepalived -t alone: their daemon needs IPVS
	// in the kernel, which a test may not load (the checker process
	// exits with "Can't initialize ipvs" whatever the file says).
	lvs bool
	// quiet says why lbdoctor warns where keepalived says nothing.
	quiet string
	// gap marks a row keepalived refuses where lbdoctor reports nothing,
	// a known false negative (the row fails once lbdoctor reports it, so
	// that the mark goes).
	gap string
}

// severityRows cover every kind of problem the keepalived parser reports
// (lbdoctor's own reading limits aside, which say nothing about the
// daemon). Which of them keepalived refuses is not written here: the test
// asks keepalived.
var severityRows = []severityRow{
	{name: "unknown ip address option", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1/24 dev eth0 no-track\n }\n}\n",
		words: "Unknown configuration entry 'no-track' for ip address - ignoring"},
	{name: "invalid VIP", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.300\n  10.0.0.1\n }\n}\n",
		words: "VRRP parsed invalid IP 10.0.0.300. skipping IP..."},
	{name: "VIP label too long", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.2 label aaaaaaaaaaaaaaaaaaaa\n  10.0.0.1\n }\n}\n",
		words: "Address label aaaaaaaaaaaaaaaaaaaa is longer than maximum length 15 - removing address"},
	{name: "VIP dev twice", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.2 dev eth0 dev eth0\n  10.0.0.1\n }\n}\n",
		words: "Cannot specify ipaddress device more than once for 10.0.0.2"},
	{name: "VIP option without value", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.2 dev\n  10.0.0.1\n }\n}\n",
		words: "No dev parameter specified for 10.0.0.2"},
	{name: "broadcast on IPv6 VIP", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  fe80::1 brd ::1\n  fe80::2\n }\n}\n",
		words: "VRRP is trying to assign a broadcast brd to the IPv6 address fe80::1 !!?? WTF... skipping VIP..."},
	{name: "VIP family differs from the instance", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n  2001:db8::1\n }\n}\n",
		words: "(V1): address family must match VRRP instance [2001:db8::1] - ignoring"},
	{name: "priority out of range", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n priority 300\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
		words: "(V1) Priority not valid! must be between 1 & 255. Using default 100"},
	{name: "virtual_router_id out of range", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 300\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
		words: "VRID '300' not valid - must be between 1 & 255"},
	{name: "virtual_router_id missing", conf: "vrrp_instance V1 {\n interface eth0\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
		gap: "the daemon stops on an instance without virtual_router_id; many test configs of other packages lack one, so reporting it is left for a change of its own"},
	{name: "interface that does not exist", conf: "vrrp_instance V1 {\n interface eth9\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
		gap: "the daemon stops; the parser cannot know the host's interfaces, LBD503 reports it as an error against them"},
	{name: "malformed unicast_src_ip", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n unicast_src_ip 10.0.0.300\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
		words: "Configuration error: VRRP instance[V1] malformed src address[10.0.0.300]. Skipping..."},
	{name: "unicast peer of the other family", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n unicast_src_ip 192.0.2.1\n unicast_peer {\n  2001:db8::2\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
		words: "Configuration error: VRRP instance[V1] and unicast peer address[2001:db8::2] MUST be of the same family !!! Skipping..."},
	{name: "vrrp_instance without a name", conf: "vrrp_instance {\n interface eth0\n virtual_router_id 1\n}\n",
		words: "vrrp_instance must have a name"},
	{name: "vrrp_instance defined twice", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n }\n}\nvrrp_instance V1 {\n interface eth0\n virtual_router_id 2\n}\n",
		words: "vrrp instance V1 already defined"},
	{name: "stray closing brace", conf: "}\n", words: "Extra '}' found"},
	{name: "block never closed", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1\n"},
	{name: "unterminated quote", conf: "global_defs {\n router_id \"x\n}\n",
		words: "Unterminated quote 'router_id \"x'"},
	{name: "NUL in a line", conf: "global_defs {\n router_id a\x00b\n}\n",
		quiet: "keepalived reads the line up to the NUL without a word; lbdoctor, which leaves the line out, says so"},
	{name: "unknown keyword outside any block", conf: "net_namespae x\n", words: "Unknown keyword 'net_namespae'"},
	{name: "unknown keyword with a block", conf: "vrrp_instanse V1 {\n interface eth0\n virtual_router_id 1\n}\n", words: "Unknown keyword 'vrrp_instanse'"},
	{name: "vrrp_sync_group without a name", conf: "vrrp_sync_group {\n group {\n  VI_BASE\n }\n}\n",
		words: "vrrp_sync_group must have a name - skipping"},
	{name: "net_namespace without a name", conf: "net_namespace\n", words: "net_namespace name missing - ignoring"},
	{name: "invalid ~SEQ", conf: "~SEQ(A,1,x) $X=1\n"},
	{name: "invalid virtual_server address", conf: "virtual_server 10.0.0.300 80 {\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n}\n",
		words: "Invalid virtual server IP address/port 10.0.0.300/80 - skipping", lvs: true},
	{name: "virtual_server unknown protocol", conf: "virtual_server 10.0.0.3 80 {\n protocol FOO\n real_server 10.0.0.2 80 {\n }\n}\n",
		words: "Unknown protocol FOO - ignoring", lvs: true},
	{name: "virtual_server_group without entries", conf: "virtual_server_group G {\n}\nvirtual_server group G {\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n}\n", lvs: true,
		words: "virtual server group G has no entries - removing"},
	{name: "virtual_server without address", conf: "virtual_server {\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n}\n", lvs: true},
	{name: "virtual_server group without a name", conf: "virtual_server group {\n protocol TCP\n real_server 10.0.0.2 80 {\n }\n}\n", lvs: true},
	{name: "group line without a name", conf: "virtual_server_group {\n 10.0.0.1 80\n}\n", lvs: true},
	{name: "include of a missing file", conf: "include missing.conf\n"},
	{name: "includem of a missing file", conf: "includem missing.conf\n", words: "Config files missing 'missing.conf'."},
	{name: "includew matching nothing", conf: "includew *.none\n", words: "No config files matched '*.none'."},
	{name: "includeb with one of two missing", conf: "includeb {a,missing}.inc\n", files: map[string]string{"a.inc": "global_defs {\n}\n"}},
	{name: "includer of a folder", conf: "includer sub\n", files: map[string]string{"sub/x": ""}},
	{name: "include cycle", conf: "include loop.inc\n", files: map[string]string{"loop.inc": "include loop.inc\n"}},
	{name: "includer cycle", conf: "includer loop.inc\n", files: map[string]string{"loop.inc": "includer loop.inc\n"}},
	{name: "clean", conf: "vrrp_instance V1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  10.0.0.1/24 dev eth0 no_track\n }\n}\n"},
}

// TestSeverityMatchesKeepalived holds lbdoctor's verdict on each row to
// keepalived's own: a config error (LBD001) exactly where keepalived will
// not run the file, a warning (LBD005) where it complains and runs. Each
// row runs twice in a network namespace of its own with an eth0: through
// keepalived -t (exit 0, or 5/6, which keepalived's source keeps for
// "configuration errors, but keepalived will still run", is acceptance;
// anything else is refusal), and as the daemon itself, which either
// reports "Startup complete" or exits. The two must agree.
func TestSeverityMatchesKeepalived(t *testing.T) {
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("keepalived is not installed: no daemon to hold the severities to")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: keepalived runs in a network and mount namespace of its own")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skipf("needs unshare: %v", err)
	}
	baseLines := strings.Count(severityBase, "\n")
	for _, r := range severityRows {
		t.Run(r.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "keepalived.conf")
			writeTestFile(t, path, severityBase+r.conf)
			for name, text := range r.files {
				writeTestFile(t, filepath.Join(dir, name), text)
			}
			cfg, err := Parse(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Unread) > 0 {
				t.Fatalf("row hits lbdoctor's own limits: %v", cfg.Unread)
			}
			verdict, err := runKeepalived(bin, dir, path, !r.lvs)
			if err != nil {
				t.Fatal(err)
			}
			judge := "the daemon"
			if r.lvs {
				judge = "keepalived -t (IPVS rows)"
				verdict.runs = verdict.accepted()
			}
			t.Logf("keepalived -t: exit %d; %s runs it: %v; lbdoctor: %d errors, %d warnings", verdict.checkExit, judge, verdict.runs, len(cfg.Errors), len(cfg.DaemonWarnings))
			if !r.lvs && verdict.accepted() != verdict.runs {
				// The daemon is the judge; say where its check disagrees.
				t.Logf("keepalived -t exit %d, yet the daemon runs=%v", verdict.checkExit, verdict.runs)
			}
			if r.gap != "" {
				if verdict.runs || len(cfg.Errors) > 0 {
					t.Errorf("known gap %q no longer holds: the daemon runs=%v, lbdoctor's errors %v (remove the mark)", r.gap, verdict.runs, cfg.Errors)
				}
				t.Logf("known gap: keepalived refuses, lbdoctor reports no config error: %s", r.gap)
				return
			}
			for _, e := range cfg.Errors {
				if verdict.runs {
					t.Errorf("keepalived runs this file, lbdoctor reports a config error: %v\nkeepalived -t said:\n%s", e, verdict.checkOut)
				}
			}
			if !verdict.runs && len(cfg.Errors) == 0 {
				t.Errorf("keepalived refuses this file (-t exit %d), lbdoctor reports no config error (warnings: %v):\n%s\n%s", verdict.checkExit, cfg.DaemonWarnings, verdict.checkOut, verdict.runOut)
			}
			complaints := verdict.checkOut
			if verdict.checkExit == 0 && strings.TrimSpace(complaints) == "" && len(cfg.DaemonWarnings) > 0 && r.quiet == "" {
				t.Errorf("keepalived -t says nothing, lbdoctor warns: %v", cfg.DaemonWarnings)
			}
			if verdict.runs && verdict.checkExit == 5 && len(cfg.DaemonWarnings) == 0 && r.name != "include of a missing file" {
				t.Errorf("keepalived -t complains (exit 5), lbdoctor says nothing:\n%s", complaints)
			}
			for _, w := range cfg.DaemonWarnings {
				if w.Pos.File == path && w.Pos.Line <= baseLines {
					t.Errorf("warning inside the base instance: %v", w)
				}
			}
			if r.words != "" {
				if !strings.Contains(complaints+verdict.runOut, r.words) {
					t.Errorf("keepalived does not say %q:\n%s", r.words, complaints)
				}
				found := false
				for _, e := range append(append([]parsers.Error(nil), cfg.Errors...), cfg.DaemonWarnings...) {
					found = found || strings.Contains(e.Msg, r.words)
				}
				if !found {
					t.Errorf("lbdoctor's messages do not carry keepalived's words %q: errors %v, warnings %v", r.words, cfg.Errors, cfg.DaemonWarnings)
				}
			}
		})
	}
}

// keepalivedVerdict is what keepalived made of a file.
type keepalivedVerdict struct {
	checkExit int    // keepalived -t's exit code; -1 when it did not finish
	checkOut  string // what it printed
	runs      bool   // the daemon reported "Startup complete"
	runOut    string
}

// accepted reads keepalived -t's exit code as keepalived 2.2.7's
// config_test_exit writes it: 0 is a clean file, 5 a file with
// configuration errors "but keepalived will still run" (lib/parser.h), 6 a
// script security problem (the scripts are disabled, keepalived runs). 4
// is a file keepalived cannot run (a missing interface, a fatal error), 2
// the exit of a line it cannot read at all. The code is not the whole
// truth: a checked include that fails exits 6 too (KEEPALIVED_EXIT_NO_CONFIG,
// before the test proper), and an instance left without a router id exits
// 5 though the daemon stops on it; where the daemon can run, it decides.
func (v keepalivedVerdict) accepted() bool {
	return v.checkExit == 0 || v.checkExit == 5 || v.checkExit == 6
}

// runKeepalived runs keepalived -t on path and then, with daemon, the
// daemon itself, in a new network namespace with lo and a bridge named
// eth0 (192.0.2.1/24), and a new mount namespace with /run in memory for
// its pid files. The daemon is stopped as soon as it reports "Startup
// complete", or when it exits by itself.
func runKeepalived(bin, dir, path string, daemon bool) (keepalivedVerdict, error) {
	v := keepalivedVerdict{checkExit: -1}
	script := fmt.Sprintf(`exec 2>&1
set -e
mount -t tmpfs lbd-severity /run
ip link set lo up
ip link add eth0 type bridge
ip link set eth0 up
ip addr add 192.0.2.1/24 dev eth0
cd %[1]s
# An include cycle runs until the descriptors are spent: few of them, soon.
ulimit -n 256
set +e
timeout 30 %[2]s -t -f %[3]s >/run/check.out 2>&1
echo "lbd-check-exit=$?"
sed 's/^/lbd-check: /' /run/check.out
%[4]s
exec %[2]s -n -l -D -f %[3]s -p /run/k.pid -r /run/v.pid -c /run/c.pid -b /run/b.pid 2>&1
`, shq(dir), shq(bin), shq(path), map[bool]string{true: "", false: "exit 0"}[daemon])
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-n", "-m", "--propagation", "private", "sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return v, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The daemon's own processes are in the group: a hung one is killed
	// with it.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		return v, err
	}
	var check, run strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "lbd-check-exit="):
			v.checkExit, _ = strconv.Atoi(strings.TrimPrefix(line, "lbd-check-exit="))
		case strings.HasPrefix(line, "lbd-check: "):
			check.WriteString(strings.TrimPrefix(line, "lbd-check: ") + "\n")
		default:
			run.WriteString(line + "\n")
		}
		if strings.HasSuffix(line, "Startup complete") {
			v.runs = true
			// keepalived stops its children on SIGTERM.
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	err = cmd.Wait()
	v.checkOut, v.runOut = check.String(), run.String()
	if ctx.Err() != nil {
		return v, fmt.Errorf("keepalived did not finish: %v\n%s\n%s", ctx.Err(), v.checkOut, v.runOut)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return v, err
	}
	if v.checkExit < 0 {
		return v, fmt.Errorf("keepalived -t did not run:\n%s", v.runOut)
	}
	return v, nil
}

// shq quotes for sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func writeTestFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
