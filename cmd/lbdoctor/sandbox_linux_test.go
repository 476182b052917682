package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// sandboxCases are TestDaemonsAgree's cases for systemd's sandbox: each
// unit setting is applied to the real daemon the way systemd applies it
// (setpriv for users and capabilities, a user namespace for
// PrivateUsers=, a seccomp filter for RestrictAddressFamilies=, a cgroup
// BPF program for SocketBindAllow=/SocketBindDeny=), without systemd as
// PID 1, which this machine does not have (systemd-run needs it).
func sandboxCases() []daemonCase {
	const (
		perm80     = "bind() to 10.0.0.5:80 failed (13: Permission denied)"
		hapPerm80  = "cannot bind socket (Permission denied) for [10.0.0.5:80]"
		afInet6    = 10
		afNetlink  = 16
		afPacket   = 17
		ambientCap = "AmbientCapabilities=CAP_NET_BIND_SERVICE"
	)
	// RestrictAddressFamilies=AF_UNIX AF_INET denies every other family;
	// these are the ones a daemon might ask for.
	notV6 := []int{afInet6, afNetlink, afPacket}
	return []daemonCase{
		// The ambient capability binds port 80 as nobody...
		{name: "sandbox/ambient", daemon: "nginx", listens: []string{"10.0.0.5:80"}, user: "nobody",
			unit: []string{ambientCap}, sandbox: &daemonSandbox{ambient: true},
			addr: "10.0.0.5", port: 80, wantBound: true, socket: "10.0.0.5:80"},
		// ...but not with PrivateUsers=: it counts in the service's
		// own user namespace only.
		{name: "sandbox/private-users-ambient", daemon: "nginx", listens: []string{"10.0.0.5:80"}, user: "nobody",
			unit: []string{ambientCap, "PrivateUsers=yes"}, sandbox: &daemonSandbox{ambient: true, userns: true},
			addr: "10.0.0.5", port: 80, wantStderr: perm80, wantFinding: "LBD310"},
		// Not even root binds port 80 under PrivateUsers=...
		{name: "sandbox/private-users-root", daemon: "haproxy", listens: []string{"10.0.0.5:80"},
			unit: []string{"PrivateUsers=yes"}, sandbox: &daemonSandbox{userns: true},
			addr: "10.0.0.5", port: 80, wantStderr: hapPerm80, wantFinding: "LBD310"},
		// ...while ports above ip_unprivileged_port_start bind.
		{name: "sandbox/private-users-8080", daemon: "haproxy", listens: []string{"10.0.0.5:8080"},
			unit: []string{"PrivateUsers=yes"}, sandbox: &daemonSandbox{userns: true},
			addr: "10.0.0.5", port: 8080, wantBound: true, socket: "10.0.0.5:8080"},
		// A bounding set without CAP_NET_BIND_SERVICE stops root.
		{name: "sandbox/bounding-set-root", daemon: "haproxy", listens: []string{"10.0.0.5:80"},
			unit: []string{"CapabilityBoundingSet=~CAP_NET_BIND_SERVICE"}, sandbox: &daemonSandbox{dropBounding: true},
			addr: "10.0.0.5", port: 80, wantStderr: hapPerm80, wantFinding: "LBD302"},
		// A file capability on the program binds port 80 as nobody...
		{name: "sandbox/file-caps", daemon: "nginx", listens: []string{"10.0.0.5:80"}, user: "nobody",
			sandbox: &daemonSandbox{fileCaps: true},
			addr:    "10.0.0.5", port: 80, wantBound: true, socket: "10.0.0.5:80"},
		// ...unless NoNewPrivileges= voids it...
		{name: "sandbox/file-caps-nnp", daemon: "nginx", listens: []string{"10.0.0.5:80"}, user: "nobody",
			unit: []string{"NoNewPrivileges=yes"}, sandbox: &daemonSandbox{fileCaps: true, nnp: true},
			addr: "10.0.0.5", port: 80, wantStderr: perm80, wantFinding: "LBD313"},
		// ...which leaves an ambient capability alone.
		{name: "sandbox/nnp-ambient", daemon: "nginx", listens: []string{"10.0.0.5:80"}, user: "nobody",
			unit: []string{"NoNewPrivileges=yes", ambientCap}, sandbox: &daemonSandbox{ambient: true, nnp: true},
			addr: "10.0.0.5", port: 80, wantBound: true, socket: "10.0.0.5:80"},
		// SocketBindDeny=any with SocketBindAllow=tcp:443: port 80 is
		// refused with EPERM, 443 binds.
		{name: "sandbox/socket-bind-deny", daemon: "haproxy", listens: []string{"10.0.0.5:80"},
			unit:    []string{"SocketBindAllow=tcp:443", "SocketBindDeny=any"},
			sandbox: &daemonSandbox{bindAllow: []int{443}, bindDenyAll: true},
			addr:    "10.0.0.5", port: 80,
			wantStderr: "cannot bind socket (Operation not permitted) for [10.0.0.5:80]", wantFinding: "LBD311"},
		{name: "sandbox/socket-bind-allow", daemon: "haproxy", listens: []string{"10.0.0.5:443"},
			unit:    []string{"SocketBindAllow=tcp:443", "SocketBindDeny=any"},
			sandbox: &daemonSandbox{bindAllow: []int{443}, bindDenyAll: true},
			addr:    "10.0.0.5", port: 443, wantBound: true, socket: "10.0.0.5:443"},
		{name: "sandbox/socket-bind-deny-port", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			unit: []string{"SocketBindDeny=tcp:8080"}, sandbox: &daemonSandbox{bindDeny: []int{8080}},
			addr: "10.0.0.5", port: 8080,
			wantStderr: "bind() to 10.0.0.5:8080 failed (1: Operation not permitted)", wantFinding: "LBD311"},
		// RestrictAddressFamilies= without AF_INET6: an IPv6 listen
		// fails at socket(), an IPv4 one binds.
		{name: "sandbox/families-no-ipv6", daemon: "nginx", listens: []string{"[fd00::5]:8080"},
			unit: []string{"RestrictAddressFamilies=AF_UNIX AF_INET"}, sandbox: &daemonSandbox{denyFamilies: notV6},
			addr: "fd00::5", port: 8080,
			wantStderr: "socket() [fd00::5]:8080 failed (97: Address family not supported by protocol)", wantFinding: "LBD312"},
		{name: "sandbox/families-no-ipv6-haproxy", daemon: "haproxy", listens: []string{"[fd00::5]:8080"},
			unit: []string{"RestrictAddressFamilies=AF_UNIX AF_INET"}, sandbox: &daemonSandbox{denyFamilies: notV6},
			addr: "fd00::5", port: 8080,
			wantStderr: "Address family not supported by protocol", wantFinding: "LBD312"},
		{name: "sandbox/families-ipv4", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			unit: []string{"RestrictAddressFamilies=AF_UNIX AF_INET"}, sandbox: &daemonSandbox{denyFamilies: notV6},
			addr: "10.0.0.5", port: 8080, wantBound: true, socket: "10.0.0.5:8080"},
	}
}

// sandboxSeq numbers the cgroups of one test run.
var sandboxSeq atomic.Int32

// sandboxArgs turns the daemon's command line into the one that runs it
// in sb as user, and the environment the helper reads.
// cgroupFD is the cgroup the command must start in, -1 for none.
func sandboxArgs(t *testing.T, sb *daemonSandbox, daemon, user, root string, args []string) (argv, env []string, cgroupFD int) {
	t.Helper()
	if sb.raw != nil {
		return append(append([]string(nil), sb.raw...), args...), nil, -1
	}
	if sb.fileCaps {
		args[0] = filepath.Join(root, "usr/sbin", daemon)
	}
	var ids [2]int
	if user != "" {
		var err error
		if ids, err = daemonUserIDs(user); err != nil {
			t.Fatal(err)
		}
	}
	// systemd switches user and capabilities, then sets no_new_privs and
	// execs: the second setpriv is that last step, run by the user.
	if sb.nnp {
		args = append([]string{"setpriv", "--nnp"}, args...)
	}
	var pre []string
	if user != "" {
		pre = append(pre, fmt.Sprintf("--reuid=%d", ids[0]), fmt.Sprintf("--regid=%d", ids[1]), "--clear-groups")
	}
	if sb.ambient {
		pre = append(pre, "--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service")
	}
	if sb.dropBounding {
		pre = append(pre, "--bounding-set=-net_bind_service")
	}
	if pre != nil {
		args = append(append([]string{"setpriv"}, pre...), args...)
	}
	cgroupFD = -1
	if sb.bindDenyAll || len(sb.bindDeny) > 0 {
		// ip netns exec mounts a sysfs of the namespace on /sys, so the
		// cgroup is prepared here and the command started in it.
		dir := sandboxCgroup(t)
		if err := sandboxBindPrograms(dir, sb.bindAllow, sb.bindDeny, sb.bindDenyAll); err != nil {
			t.Skipf("SKIPPED: cannot attach a cgroup/bind program as SocketBindDeny= does: %v", err)
		}
		f, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		cgroupFD = int(f.Fd())
	}
	if !sb.userns && len(sb.denyFamilies) == 0 {
		return args, nil, cgroupFD
	}
	b, err := json.Marshal(sandboxSpec{DenyFamilies: sb.denyFamilies, Userns: sb.userns, UID: ids[0], GID: ids[1]})
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{sandboxHelper}, args...), []string{"LBD_SANDBOX=" + string(b)}, cgroupFD
}

// sandboxCgroup creates a cgroup v2 directory of the test's own and
// removes it when the test ends (the daemon is gone by then).
func sandboxCgroup(t *testing.T) string {
	t.Helper()
	var base string
	for _, d := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		var st unix.Statfs_t
		if unix.Statfs(d, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			base = d
			break
		}
	}
	if base == "" {
		t.Skip("SKIPPED: no cgroup v2 hierarchy to attach a cgroup/bind program to (SocketBindDeny= needs one too)")
	}
	dir := filepath.Join(base, fmt.Sprintf("lbd-sb-%d-%d", os.Getpid(), sandboxSeq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("SKIPPED: cannot create a cgroup for the bind program: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove cgroup %s: %v", dir, err)
		}
	})
	return dir
}

// daemonCopyWithCaps copies the daemon's program to dst and gives the copy
// cap_net_bind_service+ep, as `setcap cap_net_bind_service+ep dst` does.
func daemonCopyWithCaps(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	// VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, permitted bit 10.
	attr := []byte{1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if err := unix.Setxattr(dst, "security.capability", attr, 0); err != nil {
		t.Skipf("SKIPPED: cannot set file capabilities on %s: %v", dst, err)
	}
}
