package node

import (
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// TestProbeBind runs the probe in a namespace this test builds and checks
// the kernel's answers: what the model calls local binds, an absent address
// fails unless IP_TRANSPARENT is set, an unscoped link-local address is
// EINVAL. Port 0 only: no port is taken.
func TestProbeBind(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to build a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("SKIP: needs ip(8) from iproute2")
	}
	ns := "lbd-probe-" + strconv.Itoa(os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "set", "lo", "up")
	ip("-n", ns, "link", "add", "eth0", "type", "ifb")
	ip("-n", ns, "link", "set", "eth0", "up")
	ip("-n", ns, "addr", "add", "10.0.0.5/24", "dev", "eth0")
	ip("-n", ns, "addr", "add", "fd00::5/64", "dev", "eth0", "nodad")

	cases := []struct {
		l    parsers.Listener
		want string
	}{
		{parsers.Listener{Proto: parsers.TCP, Addr: netip.MustParseAddr("10.0.0.5")}, ""},
		{parsers.Listener{Proto: parsers.UDP, Addr: netip.MustParseAddr("127.0.0.9")}, ""},
		{parsers.Listener{Proto: parsers.TCP, Addr: netip.MustParseAddr("10.0.0.100")}, "EADDRNOTAVAIL"},
		{parsers.Listener{Proto: parsers.TCP, Addr: netip.MustParseAddr("10.0.0.100"), Transparent: true}, ""},
		{parsers.Listener{Proto: parsers.TCP, Addr: netip.MustParseAddr("fd00::5")}, ""},
		{parsers.Listener{Proto: parsers.TCP, Addr: netip.MustParseAddr("fd00::100")}, "EADDRNOTAVAIL"},
		{parsers.Listener{Proto: parsers.TCP, Addr: netip.MustParseAddr("fe80::1")}, "EINVAL"},
	}
	got := make([]string, len(cases))
	done := make(chan error)
	go func() {
		// setns changes only this thread, which never goes back to the
		// scheduler's pool: it exits locked.
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		for i, c := range cases {
			if got[i], err = probeBind(&c.l); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("probe %s %s transparent=%t = %q, want %q", c.l.Proto, c.l.Addr, c.l.Transparent, got[i], c.want)
		}
	}
}
