package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// After-reboot scenarios of TestDaemonsAgree. lbdoctor gives two verdicts
// on every listener: does it bind now, and does it bind after the next
// reboot. A scenario builds the host as it is now (sysctls set by hand,
// files in the node's /etc/sysctl.d that were never applied), asks
// lbdoctor once, and has the daemon judge both verdicts: now in the
// case's namespace, after the reboot in a fresh namespace where nothing
// set by hand survives and the real systemd-sysctl has applied the node's
// files, as at boot:
//
//  1. a fresh network namespace with only lo (what the kernel has when
//     systemd-sysctl.service runs);
//  2. /lib/systemd/systemd-sysctl, in a private mount namespace where the
//     node's etc/sysctl.d is bind-mounted over /etc/sysctl.d and
//     /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d and
//     /lib/sysctl.d are empty, so it reads exactly the node's files;
//  3. eth0 appears, and systemd-sysctl --prefix=/net/ipv4/conf/eth0
//     --prefix=/net/ipv6/conf/eth0 runs for it, as udev's 99-systemd.rules
//     does; then the real ifup -a brings up the node's network
//     configuration (rebootInterfaces, in its etc/network/interfaces,
//     which lbdoctor reads too), in a private mount namespace with that
//     etc/network and an empty /run, as networking.service does at boot:
//     it gives eth0 10.0.0.5/24 and fd00::5/64, and the kernel refuses
//     the IPv6 one where disable_ipv6 is 1. An address the case added by
//     hand (ipArgs) is not in it and does not come back;
//  4. the other program on the port (the case's holder), and bootConns
//     outgoing connections (a boot's early health checks and resolvers),
//     which take their source ports from ip_local_port_range;
//  5. the daemon.
//
// lbdoctor's after-reboot verdict on a listener, read from its report:
// it fails after the reboot when a finding on it says so (LBD402, LBD410,
// LBD413, LBD420, LBD422 or LBD424 as warnings, LBD423 when it says "at
// boot"); a listener
// that fails now fails after the reboot too, unless a note says the boot
// configuration changes that (LBD403, LBD421, LBD422 as info); otherwise
// it binds.

// rebootFailIDs are the findings that say a listener fails after the next
// reboot.
var rebootFailIDs = []string{"LBD402", "LBD410", "LBD413", "LBD420", "LBD422", "LBD424"}

// rebootInterfaces is the node's network configuration in every
// after-reboot scenario (etc/network/interfaces below its root): what
// daemonNetns gives eth0, so that only what a case adds by hand is not
// persistent. dad-attempts 0 is daemonNetns's nodad.
const rebootInterfaces = `auto lo
iface lo inet loopback

auto eth0
iface eth0 inet static
    address 10.0.0.5/24
iface eth0 inet6 static
    address fd00::5/64
    dad-attempts 0
`

// rebootFixIDs are the notes that say a listener failing now binds after
// the next reboot.
var rebootFixIDs = []string{"LBD403", "LBD421", "LBD422"}

// rebootCases are the after-reboot scenarios: for each sysctl that decides
// a bind, one with a value set by hand only (now-only) and one with a value
// persisted only (persisted-only).
func rebootCases() []daemonCase {
	const (
		nonlocal4 = "net.ipv4.ip_nonlocal_bind"
		nonlocal6 = "net.ipv6.ip_nonlocal_bind"
		portStart = "net.ipv4.ip_unprivileged_port_start"
		v6only    = "net.ipv6.bindv6only"
		disable6  = "net.ipv6.conf.eth0.disable_ipv6"
		allOff6   = "net.ipv6.conf.all.disable_ipv6"
		portRange = "net.ipv4.ip_local_port_range"
		reserved  = "net.ipv4.ip_local_reserved_ports"
	)
	file := func(lines ...string) map[string]string {
		return map[string]string{"60-node.conf": strings.Join(lines, "\n") + "\n"}
	}
	nginx99 := func(sock string) string { return "bind() to " + sock + " failed (99: Cannot assign requested address)" }
	const wildcard8080 = "tcp4 0.0.0.0:8080"
	return []daemonCase{
		{name: "reboot/nonlocal4-now-only", daemon: "nginx", listens: []string{"10.0.0.100:80"},
			sysctls: map[string]string{nonlocal4: "1"}, reboot: true,
			addr: "10.0.0.100", port: 80, wantBound: true, socket: "10.0.0.100:80",
			bootWantStderr: nginx99("10.0.0.100:80"), bootWantFinding: "LBD402"},
		// The same, on 10.0.0.9, which the node's network configuration
		// creates at boot but nobody brought up yet: it binds after the
		// reboot without non-local binds.
		{name: "reboot/nonlocal4-now-only-configured", daemon: "haproxy", listens: []string{"10.0.0.9:80"},
			sysctls: map[string]string{nonlocal4: "1"}, reboot: true,
			interfaces: rebootInterfaces + "iface eth0 inet static\n    address 10.0.0.9/24\n",
			addr:       "10.0.0.9", port: 80, wantBound: true, socket: "10.0.0.9:80",
			bootWantBound: true},
		{name: "reboot/nonlocal4-persisted-only", daemon: "haproxy", listens: []string{"10.0.0.100:80"},
			persist: file(nonlocal4 + " = 1"), reboot: true,
			addr: "10.0.0.100", port: 80, socket: "10.0.0.100:80",
			wantStderr: "cannot bind socket (Cannot assign requested address) for [10.0.0.100:80]", wantFinding: "LBD101",
			bootWantBound: true, bootWantFinding: "LBD403"},
		{name: "reboot/nonlocal6-now-only", daemon: "haproxy", listens: []string{"[fd00::100]:80"},
			sysctls: map[string]string{nonlocal6: "1"}, reboot: true,
			addr: "fd00::100", port: 80, wantBound: true, socket: "[fd00::100]:80",
			bootWantStderr: "cannot bind socket (Cannot assign requested address) for [fd00::100:80]", bootWantFinding: "LBD402"},
		{name: "reboot/nonlocal6-persisted-only", daemon: "nginx", listens: []string{"[fd00::100]:80"},
			persist: file(nonlocal6 + " = 1"), reboot: true,
			addr: "fd00::100", port: 80, socket: "[fd00::100]:80",
			wantStderr: nginx99("[fd00::100]:80"), wantFinding: "LBD101",
			bootWantBound: true, bootWantFinding: "LBD403"},
		{name: "reboot/port-start-now-only", daemon: "nginx", listens: []string{"10.0.0.5:80"}, user: "nobody",
			sysctls: map[string]string{portStart: "80"}, reboot: true,
			addr: "10.0.0.5", port: 80, wantBound: true, socket: "10.0.0.5:80",
			bootWantStderr: "bind() to 10.0.0.5:80 failed (13: Permission denied)", bootWantFinding: "LBD420"},
		{name: "reboot/port-start-persisted-only", daemon: "nginx", listens: []string{"10.0.0.5:80"}, user: "nobody",
			persist: file(portStart + " = 80"), reboot: true,
			addr: "10.0.0.5", port: 80, socket: "10.0.0.5:80",
			wantStderr: "bind() to 10.0.0.5:80 failed (13: Permission denied)", wantFinding: "LBD302",
			bootWantBound: true, bootWantFinding: "LBD421"},
		// HAProxy leaves IPV6_V6ONLY to bindv6only: with 0 its [::] is
		// dual-stack and clashes with the other program's 0.0.0.0.
		{name: "reboot/bindv6only-now-only", daemon: "haproxy", listens: []string{":::8080"},
			sysctls: map[string]string{v6only: "1"}, holder: wildcard8080, reboot: true,
			addr: "::", port: 8080, wantBound: true, socket: "[::]:8080",
			bootWantStderr: "cannot bind socket (Address already in use) for [:::8080]", bootWantFinding: "LBD420"},
		{name: "reboot/bindv6only-persisted-only", daemon: "haproxy", listens: []string{":::8080"},
			persist: file(v6only + " = 1"), holder: wildcard8080, reboot: true,
			addr: "::", port: 8080, socket: "[::]:8080",
			wantStderr: "cannot bind socket (Address already in use) for [:::8080]", wantFinding: "LBD201",
			bootWantBound: true, bootWantFinding: "LBD421"},
		// disable_ipv6 set by hand on eth0 took fd00::5 away; at boot
		// ifup adds it again, as the node's etc/network/interfaces says.
		{name: "reboot/disable-ipv6-now-only", daemon: "nginx", listens: []string{"[fd00::5]:80"},
			sysctls: map[string]string{disable6: "1"}, reboot: true,
			addr: "fd00::5", port: 80, socket: "[fd00::5]:80",
			wantStderr: nginx99("[fd00::5]:80"), wantFinding: "LBD101",
			bootWantBound: true, bootWantFinding: "LBD421"},
		// The same, for fd00::7, which had been added by hand: no
		// configuration creates it, so it does not come back.
		{name: "reboot/disable-ipv6-now-only-by-hand", daemon: "haproxy", listens: []string{"[fd00::7]:80"},
			sysctls: map[string]string{disable6: "1"}, reboot: true,
			addr: "fd00::7", port: 80, socket: "[fd00::7]:80",
			wantStderr: "cannot bind socket (Cannot assign requested address) for [fd00::7:80]", wantFinding: "LBD101",
			bootWantStderr: "cannot bind socket (Cannot assign requested address) for [fd00::7:80]"},
		// fd00::7 added by hand and disable_ipv6 persisted on eth0: two
		// causes, one finding (LBD420; LBD410 leaves it to LBD420).
		{name: "reboot/disable-ipv6-persisted-only-by-hand", daemon: "nginx", listens: []string{"[fd00::7]:80"},
			ipArgs:  [][]string{{"addr", "add", "fd00::7/64", "dev", "eth0", "nodad"}},
			persist: file(disable6 + " = 1"), reboot: true,
			addr: "fd00::7", port: 80, wantBound: true, socket: "[fd00::7]:80",
			bootWantStderr: nginx99("[fd00::7]:80"), bootWantFinding: "LBD420"},
		// An address added by hand, no sysctl involved: LBD410's.
		{name: "reboot/address-by-hand", daemon: "haproxy", listens: []string{"10.0.0.8:80"},
			ipArgs: [][]string{{"addr", "add", "10.0.0.8/24", "dev", "eth0"}}, reboot: true,
			addr: "10.0.0.8", port: 80, wantBound: true, socket: "10.0.0.8:80",
			bootWantStderr: "cannot bind socket (Cannot assign requested address) for [10.0.0.8:80]", bootWantFinding: "LBD410"},
		{name: "reboot/disable-ipv6-persisted-only", daemon: "haproxy", listens: []string{"[fd00::5]:80"},
			persist: file(disable6 + " = 1"), reboot: true,
			addr: "fd00::5", port: 80, wantBound: true, socket: "[fd00::5]:80",
			bootWantStderr: "cannot bind socket (Cannot assign requested address) for [fd00::5:80]", bootWantFinding: "LBD420"},
		// "default" reaches eth0, which appears after systemd-sysctl ran.
		{name: "reboot/disable-ipv6-default-persisted-only", daemon: "nginx", listens: []string{"[fd00::5]:80"},
			persist: file("net.ipv6.conf.default.disable_ipv6 = 1"), reboot: true,
			addr: "fd00::5", port: 80, wantBound: true, socket: "[fd00::5]:80",
			bootWantStderr: nginx99("[fd00::5]:80"), bootWantFinding: "LBD420"},
		// The Redis story: IPv6 off everywhere takes ::1 off lo.
		{name: "reboot/disable-ipv6-all-takes-lo", daemon: "nginx", listens: []string{"[::1]:6380"},
			persist: file(allOff6 + " = 1"), reboot: true,
			addr: "::1", port: 6380, wantBound: true, socket: "[::1]:6380",
			bootWantStderr: nginx99("[::1]:6380"), bootWantFinding: "LBD420"},
		{name: "reboot/disable-ipv6-all-now-only", daemon: "nginx", listens: []string{"[::1]:6380"},
			sysctls: map[string]string{allOff6: "1"}, reboot: true,
			addr: "::1", port: 6380, socket: "[::1]:6380",
			wantStderr: nginx99("[::1]:6380"), wantFinding: "LBD101",
			bootWantBound: true, bootWantFinding: "LBD421"},
		// The port range: two outgoing connections at boot take both
		// ports of a two-port range; a reserved port is never given out.
		{name: "reboot/port-range-now-only", daemon: "nginx", listens: []string{"8080"},
			sysctls: map[string]string{portRange: "8080 8081"}, reboot: true, bootConns: 2,
			addr: "0.0.0.0", port: 8080, wantBound: true, socket: "0.0.0.0:8080", wantFinding: "LBD423",
			bootWantBound: true},
		{name: "reboot/port-range-persisted-only", daemon: "nginx", listens: []string{"8080"},
			persist: file(portRange + " = 8080 8081"), reboot: true, bootConns: 2,
			addr: "0.0.0.0", port: 8080, wantBound: true, socket: "0.0.0.0:8080",
			bootWantStderr: "bind() to 0.0.0.0:8080 failed (98: Address already in use)", bootWantFinding: "LBD423"},
		{name: "reboot/reserved-now-only", daemon: "haproxy", listens: []string{"0.0.0.0:8080"},
			sysctls: map[string]string{portRange: "8080 8081", reserved: "8080"}, persist: file(portRange + " = 8080 8081"),
			reboot: true, bootConns: 2,
			addr: "0.0.0.0", port: 8080, wantBound: true, socket: "0.0.0.0:8080",
			bootWantStderr: "cannot bind socket (Address already in use) for [0.0.0.0:8080]", bootWantFinding: "LBD423"},
		{name: "reboot/reserved-persisted-only", daemon: "haproxy", listens: []string{"0.0.0.0:8080"},
			sysctls: map[string]string{portRange: "8080 8081"}, persist: file(portRange+" = 8080 8081", reserved+" = 8080"),
			reboot: true, bootConns: 2,
			addr: "0.0.0.0", port: 8080, wantBound: true, socket: "0.0.0.0:8080", wantFinding: "LBD423",
			bootWantBound: true},
	}
}

// rebootHalf boots the case's node again in namespace ns (see above),
// starts the daemon there and returns where lbdoctor's after-reboot
// verdict v disagrees with it.
func rebootHalf(ctx context.Context, t *testing.T, row *daemonRow, daemonOnly bool, ns string, tc daemonCase, confs map[string]daemonConf, prefix, root string, v daemonVerdict) []string {
	t.Helper()
	if _, err := os.Stat("/lib/systemd/systemd-sysctl"); err != nil {
		t.Skipf("SKIPPED: /lib/systemd/systemd-sysctl is not installed to boot the node again (%v)", err)
	}
	if _, err := exec.LookPath("ifup"); err != nil {
		t.Skipf("SKIPPED: ifup (ifupdown) is not installed to bring up the node's network configuration (%v)", err)
	}
	rebootNetns(ctx, t, ns, root)
	if tc.holder != "" {
		network, addr, _ := strings.Cut(tc.holder, " ")
		c, err := daemonHoldPort(ns, network, addr)
		if err != nil {
			t.Fatalf("after reboot: hold %s in %s: %v", tc.holder, ns, err)
		}
		defer c.Close()
	}
	if tc.bootConns > 0 {
		stop, ports := rebootConnect(t, ns, tc.bootConns)
		defer stop()
		t.Logf("after reboot: %d outgoing connections from ports %v", tc.bootConns, ports)
	}
	row.daemon += "; after reboot (error, see log)"
	out, stop := daemonStart(ctx, t, ns, tc.daemon, tc.user, nil, "", confs[tc.daemon].real, prefix, tc.listenProto(), tc.socket)
	stop()
	row.daemon = strings.TrimSuffix(row.daemon, "(error, see log)") + out.String()
	if out.bound != tc.bootWantBound {
		row.daemon += " (fixture expects otherwise!)"
		t.Errorf("fixture: after reboot the daemon %s, the case expects bound=%v; stderr:\n%s", out, tc.bootWantBound, out.stderr)
		return nil
	}
	if !out.bound && !strings.Contains(out.stderr, tc.bootWantStderr) {
		row.daemon += " (unexpected text!)"
		t.Errorf("fixture: after reboot the daemon's stderr lacks %q:\n%s", tc.bootWantStderr, out.stderr)
		return nil
	}
	if daemonOnly {
		return nil
	}
	fails, errno, id := rebootVerdict(tc, tc.daemon, v)
	verdict := "ok"
	if fails {
		verdict = strings.TrimSpace("fail " + errno + " " + id)
	}
	row.lbdoctor += "; after reboot " + verdict
	var p []string
	switch {
	case out.bound && fails:
		p = append(p, fmt.Sprintf("after reboot the daemon bound, lbdoctor says %s fails (%s)", tc.daemon, verdict))
	case !out.bound && !fails:
		p = append(p, fmt.Sprintf("after reboot the daemon failed with %s, lbdoctor says %s binds", out.errno, tc.daemon))
	case !out.bound && errno != out.errno:
		p = append(p, fmt.Sprintf("after reboot the daemon failed with %s, lbdoctor says errno %q", out.errno, errno))
	}
	if tc.bootWantFinding != "" && !slices.Contains(v.ids[tc.daemon], tc.bootWantFinding) {
		p = append(p, fmt.Sprintf("lbdoctor reports no %s for %s (findings %q)", tc.bootWantFinding, tc.daemon, v.ids[tc.daemon]))
	}
	return p
}

// rebootVerdict reads lbdoctor's after-reboot verdict on service s's
// listener of the case from its report: whether it fails, with which errno,
// and the finding that says so.
func rebootVerdict(tc daemonCase, s string, v daemonVerdict) (fails bool, errno, id string) {
	addr := tc.addrOf(s)
	for _, f := range v.all {
		if f.service != s || f.address != addr || f.port != tc.port {
			continue
		}
		if (slices.Contains(rebootFailIDs, f.id) && f.severity != "info") || (f.id == "LBD423" && strings.Contains(f.message, "at boot")) {
			return true, daemonErrno(f.message), f.id
		}
	}
	for _, l := range v.listeners[s] {
		if l.status != "fail" {
			continue
		}
		for _, f := range v.all {
			if f.service == s && slices.Contains(rebootFixIDs, f.id) && f.severity == "info" {
				return false, "", ""
			}
		}
		return true, l.errno, l.finding
	}
	return false, "", ""
}

// rebootNetns creates the fresh namespace ns of a boot, applies the
// node's sysctl.d files (below root) with the real systemd-sysctl, then
// brings up eth0 as udev and the node's network configuration do, with
// the real ifup. Every change is inside ns or a private mount namespace.
func rebootNetns(ctx context.Context, t *testing.T, ns, root string) {
	t.Helper()
	sysctlD := filepath.Join(root, "etc", "sysctl.d")
	daemonCmd(ctx, t, "ip", "netns", "add", ns)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	})
	daemonCmd(ctx, t, "ip", "-n", ns, "link", "set", "lo", "up")
	t.Logf("after reboot: systemd-sysctl: %s", rebootSysctl(ctx, t, ns, sysctlD))
	daemonCmd(ctx, t, "ip", "-n", ns, "link", "add", "eth0", "type", "ifb")
	t.Logf("after reboot: udev's systemd-sysctl for eth0: %s", rebootSysctl(ctx, t, ns, sysctlD, "--prefix=/net/ipv4/conf/eth0", "--prefix=/net/ipv6/conf/eth0"))
	// With disable_ipv6 on eth0 the kernel refuses its IPv6 address and
	// ifup says it failed, as at boot: logged, not fatal.
	const script = `set -e
mount --bind "$1/etc/network" /etc/network
mount -t tmpfs -o size=1m lbd-run /run
ifup -a`
	if out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", root).CombinedOutput(); err != nil {
		t.Logf("after reboot: ifup -a: %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Logf("after reboot: addresses:\n%s", daemonCmd(ctx, t, "ip", "-n", ns, "-br", "addr"))
}

// rebootSysctl runs /lib/systemd/systemd-sysctl with args inside ns, in a
// private mount namespace that shows it only the files of sysctlD.
func rebootSysctl(ctx context.Context, t *testing.T, ns, sysctlD string, args ...string) string {
	t.Helper()
	const script = `set -e
d=$1; shift
for v in /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
	if [ -d "$v" ]; then mount -t tmpfs -o size=64k,mode=755 lbd-empty "$v"; fi
done
mount --bind "$d" /etc/sysctl.d
/lib/systemd/systemd-sysctl "$@"
echo "applied: $(cat /etc/sysctl.d/* 2>/dev/null | tr '\n' ';')"`
	cmd := append([]string{"netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", sysctlD}, args...)
	return strings.TrimSpace(daemonCmd(ctx, t, "ip", cmd...))
}

// rebootConnect opens n outgoing TCP connections inside ns, to a listener
// of this process on 127.0.0.1:7 there: their source ports come from
// ip_local_port_range, as a boot's early connections' do. stop closes
// them all.
func rebootConnect(t *testing.T, ns string, n int) (stop func(), ports []int) {
	t.Helper()
	var ln net.Listener
	if err := daemonInNetns(ns, func() (err error) {
		ln, err = net.Listen("tcp4", "127.0.0.1:7")
		return err
	}); err != nil {
		t.Fatalf("after reboot: listen in %s: %v", ns, err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	for range n {
		var c net.Conn
		err := daemonInNetns(ns, func() (err error) {
			c, err = net.Dial("tcp4", "127.0.0.1:7")
			return err
		})
		if err != nil {
			// A range with reserved ports runs out: that is the point.
			t.Logf("after reboot: outgoing connection: %v", err)
			continue
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		ports = append(ports, c.LocalAddr().(*net.TCPAddr).Port)
	}
	return func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}, ports
}
