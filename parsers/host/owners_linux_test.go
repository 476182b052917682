package host

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFindOwners runs the owner scan over a fake /proc: the lowest PID
// holding a socket is named, links that are not sockets are ignored, and a
// socket nobody holds keeps no owner.
func TestFindOwners(t *testing.T) {
	proc := t.TempDir()
	for pid, fds := range map[string]map[string]string{
		"7":    {"0": "/dev/null", "1": "socket:[777]"},
		"100":  {"5": "socket:[555]", "6": "pipe:[9]", "7": "socket:[55]"},
		"200":  {"3": "socket:[555]", "4": "socket:[888]"},
		"1000": {"3": "socket:[555]"},
	} {
		dir := filepath.Join(proc, pid, "fd")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for fd, target := range fds {
			if err := os.Symlink(target, filepath.Join(dir, fd)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(proc, pid, "comm"), []byte("cmd"+pid+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Entries that are not processes, or whose fd directory is gone.
	if err := os.MkdirAll(filepath.Join(proc, "sys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(proc, "300"), 0o755); err != nil {
		t.Fatal(err)
	}

	socks := []Socket{
		{Proto: "tcp", Port: 80, Inode: 555},
		{Proto: "tcp", Port: 81, Inode: 777},
		{Proto: "udp", Port: 53, Inode: 888},
		{Proto: "udp", Port: 54, Inode: 999}, // held by nobody we can see
		{Proto: "udp", Port: 55},             // no inode: never matched
	}
	findOwners(proc, socks)
	want := []struct {
		pid     int
		command string
	}{{100, "cmd100"}, {7, "cmd7"}, {200, "cmd200"}, {0, ""}, {0, ""}}
	for i, w := range want {
		if socks[i].PID != w.pid || socks[i].Command != w.command {
			t.Errorf("socket %d (inode %d): owner %d %q, want %d %q", i, socks[i].Inode, socks[i].PID, socks[i].Command, w.pid, w.command)
		}
	}
	findOwners(filepath.Join(proc, "absent"), socks) // must not fail or panic
}

func TestSocketInode(t *testing.T) {
	for in, want := range map[string]uint64{"socket:[12345]": 12345, "socket:[]": 0, "socket:[x]": 0, "pipe:[5]": 0, "socket:[5": 0, "": 0} {
		got, ok := socketInode([]byte(in))
		if got != want || ok != (want != 0) {
			t.Errorf("socketInode(%q) = %d, %v", in, got, ok)
		}
	}
}

func TestAddrFlags(t *testing.T) {
	for _, tc := range []struct {
		flags  int
		family string
		want   []string
	}{
		{0, "ipv4", []string{"dynamic"}},
		{unix.IFA_F_SECONDARY | unix.IFA_F_PERMANENT, "ipv4", []string{"secondary", "permanent"}},
		{unix.IFA_F_TEMPORARY, "ipv6", []string{"temporary", "dynamic"}},
		{unix.IFA_F_TENTATIVE | unix.IFA_F_DADFAILED | unix.IFA_F_PERMANENT, "ipv6", []string{"dadfailed", "tentative", "permanent"}},
		{unix.IFA_F_NODAD | unix.IFA_F_OPTIMISTIC | 0x10000, "ipv6", []string{"nodad", "optimistic", "0x10000", "dynamic"}},
	} {
		if got := addrFlags(tc.flags, tc.family); !slices.Equal(got, tc.want) {
			t.Errorf("addrFlags(%#x, %s) = %v, want %v", tc.flags, tc.family, got, tc.want)
		}
	}
}

// TestParseDiagMsg decodes a hand-built inet_diag_msg and survives every
// truncation of it.
func TestParseDiagMsg(t *testing.T) {
	b := make([]byte, sizeofInetDiagMsg+8)
	b[0] = unix.AF_INET6
	b[1] = tcpListen
	binary.BigEndian.PutUint16(b[4:], 8443)
	copy(b[8:24], []byte{0x20, 0x01, 0x0d, 0xb8, 15: 1})
	ne := binary.NativeEndian
	ne.PutUint32(b[40:], 3)
	ne.PutUint32(b[64:], 1000)
	ne.PutUint32(b[68:], 4242)
	ne.PutUint16(b[72:], 5)
	ne.PutUint16(b[74:], inetDiagSKV6Only)
	b[76] = 1
	s, ok := parseDiagMsg(b, "tcp")
	want := diagSocket{Socket{Proto: "tcp", Address: "2001:db8::1", Port: 8443, V6Only: true, UID: 1000, Inode: 4242}, 3}
	if !ok || s != want {
		t.Errorf("parseDiagMsg = %+v, %v; want %+v", s, ok, want)
	}
	for n := range b {
		if _, ok := parseDiagMsg(b[:n], "tcp"); ok != (n >= sizeofInetDiagMsg) {
			t.Errorf("parseDiagMsg of %d bytes: ok = %v", n, ok)
		}
	}
	b[0] = unix.AF_UNIX
	if _, ok := parseDiagMsg(b, "tcp"); ok {
		t.Errorf("parseDiagMsg accepted family AF_UNIX")
	}
}
