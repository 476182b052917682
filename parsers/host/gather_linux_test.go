package host

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// helperEnv selects what TestHelperProcess does when the test binary runs
// itself inside a network namespace.
const helperEnv = "LBD_HOST_HELPER"

// TestHelperProcess is not a test: the namespace tests run the test binary
// again through "ip netns exec" with helperEnv set, so Go code (Gather, a
// listener, bind probes) runs inside the namespace.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		return
	case "gather":
		f, err := Gather()
		if err == nil {
			err = Write(os.Stdout, f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "probe":
		probe(os.Getenv("LBD_HOST_PROBE"))
	case "listen":
		if err := listen(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(0)
}

// probe binds a socket to each comma-separated address and prints "ADDR ok"
// or "ADDR ERRNO": the kernel's own verdict for IsLocal to match.
func probe(list string) {
	for _, s := range strings.Split(list, ",") {
		a := netip.MustParseAddr(s)
		var fd int
		var err error
		var sa unix.Sockaddr
		typ := unix.SOCK_STREAM
		if a.IsMulticast() {
			typ = unix.SOCK_DGRAM // TCP refuses IPv6 multicast with EINVAL
		}
		if a.Is4() {
			fd, err = unix.Socket(unix.AF_INET, typ, 0)
			sa = &unix.SockaddrInet4{Addr: a.As4()}
		} else {
			fd, err = unix.Socket(unix.AF_INET6, typ, 0)
			sa = &unix.SockaddrInet6{Addr: a.As16()}
		}
		if err == nil {
			err = unix.Bind(fd, sa)
			unix.Close(fd)
		}
		verdict := "ok"
		if err != nil {
			verdict = unix.ErrnoName(err.(unix.Errno))
		}
		fmt.Println(s, verdict)
	}
}

// listen opens the sockets the namespace test expects Gather to find, and
// some it must not list (an established connection, a connected UDP
// socket), prints "ready PID" and holds them until stdin closes.
func listen() error {
	bindTo := func(dev string) net.ListenConfig {
		return net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) { serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, dev) })
			if err != nil {
				return err
			}
			return serr
		}}
	}
	ctx := context.Background()
	var keep []io.Closer
	for _, l := range []struct{ network, addr, dev string }{
		{"tcp4", "192.0.2.10:8080", ""},
		{"tcp6", "[::]:8443", ""}, // Go sets IPV6_V6ONLY for tcp6 wildcards
		{"tcp", "[::]:9000", ""},  // dual stack
		{"tcp4", "10.9.0.77:80", ""},
		{"tcp4", "203.0.113.9:81", ""}, // nonlocal, needs ip_nonlocal_bind
		{"tcp4", "0.0.0.0:8081", "eth1"},
	} {
		lc := net.ListenConfig{}
		if l.dev != "" {
			lc = bindTo(l.dev)
		}
		ln, err := lc.Listen(ctx, l.network, l.addr)
		if err != nil {
			return err
		}
		keep = append(keep, ln)
	}
	pc, err := net.ListenPacket("udp4", "0.0.0.0:5353")
	if err != nil {
		return err
	}
	keep = append(keep, pc)
	client, err := net.Dial("tcp4", "192.0.2.10:8080")
	if err != nil {
		return err
	}
	keep = append(keep, client)
	udp, err := net.Dial("udp4", "192.0.2.10:5353")
	if err != nil {
		return err
	}
	keep = append(keep, udp)
	fmt.Println("ready", os.Getpid())
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range keep {
		c.Close()
	}
	return nil
}

// netns creates a network namespace for this test and deletes it at the
// end, or skips the test when that is not possible here.
func netns(t *testing.T, suffix string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating a network namespace needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: ip(8) from iproute2 is not installed")
	}
	ns := fmt.Sprintf("lbd-host-%d%s", os.Getpid(), suffix)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot create network namespace %s: %v: %s", ns, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("delete network namespace %s: %v: %s", ns, err, out)
		}
	})
	return ns
}

// ip runs "ip -n NS ARGS..." and fails the test when it fails.
func ip(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
}

// inNetns runs the test binary's helper in ns and returns its stdout.
func inNetns(t *testing.T, ns, mode string, env ...string) []byte {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^TestHelperProcess$")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+mode), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s helper in %s: %v: %s", mode, ns, err, stderr.Bytes())
	}
	return out
}

// setupHost gives ns the state the tests read back: an up ifb with two IPv4
// addresses and a nodad IPv6 one, a down veth pair with an IPv4 address, a
// tentative and a nodad IPv6 address, an AnyIP range in table local and
// another in table 100.
func setupHost(t *testing.T, ns string) {
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "eth1", "type", "ifb"},
		{"link", "set", "eth1", "up"},
		{"addr", "add", "192.0.2.10/24", "dev", "eth1"},
		{"addr", "add", "192.0.2.11/24", "dev", "eth1"},
		{"addr", "add", "192.0.2.12/24", "dev", "eth1", "valid_lft", "300", "preferred_lft", "300"},
		{"addr", "add", "2001:db8:1::10/64", "dev", "eth1", "nodad"},
		{"link", "add", "veth0", "type", "veth", "peer", "name", "veth1"},
		{"addr", "add", "198.51.100.7/24", "dev", "veth0"},
		{"addr", "add", "2001:db8:2::5/64", "dev", "veth0"},
		{"addr", "add", "2001:db8:3::5/64", "dev", "veth1", "nodad"},
		{"route", "add", "local", "10.9.0.0/24", "dev", "lo"},
		{"route", "add", "local", "10.10.0.0/24", "dev", "lo", "table", "100"},
	} {
		ip(t, ns, args...)
	}
}

// TestIsLocalMatchesKernel binds each address inside a namespace and checks
// that IsLocal, fed with what Gather saw there, agrees with bind().
func TestIsLocalMatchesKernel(t *testing.T) {
	ns := netns(t, "")
	setupHost(t, ns)
	addrs := []string{
		"0.0.0.0", "::", "127.0.0.1", "127.1.2.3", "192.0.2.10", "192.0.2.11",
		"192.0.2.12", "198.51.100.7", "10.9.0.77", "10.10.0.1", "203.0.113.1",
		"224.0.0.18", "255.255.255.255", "::1", "2001:db8:1::10", "2001:db8:1::11",
		"2001:db8:2::5", "2001:db8:3::5", "ff05::12",
	}
	f := decodeFacts(t, inNetns(t, ns, "gather"))
	sc := bufio.NewScanner(bytes.NewReader(inNetns(t, ns, "probe", "LBD_HOST_PROBE="+strings.Join(addrs, ","))))
	n := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			t.Fatalf("probe printed %q", sc.Text())
		}
		n++
		kernel := fields[1] == "ok"
		if !kernel && fields[1] != "EADDRNOTAVAIL" {
			t.Errorf("bind(%s) failed with %s, not EADDRNOTAVAIL", fields[0], fields[1])
		}
		ok, why := f.IsLocal(netip.MustParseAddr(fields[0]))
		if ok != kernel {
			t.Errorf("IsLocal(%s) = %v (%s), bind() says %s", fields[0], ok, why, fields[1])
		}
		if !ok && why == "" {
			t.Errorf("IsLocal(%s) = false without a reason", fields[0])
		}
	}
	if n != len(addrs) {
		t.Fatalf("probe answered %d of %d addresses", n, len(addrs))
	}
}

// TestRouteTypesMatchKernel gives one namespace the routes of every type
// table local can hold, and another the same after an ip rule split tables
// local and main, then checks that IsLocal, fed with what Gather saw, agrees
// with bind() on every address they concern.
func TestRouteTypesMatchKernel(t *testing.T) {
	routes := [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "eth1", "type", "ifb"},
		{"link", "set", "eth1", "up"},
		{"addr", "add", "192.0.2.10/24", "dev", "eth1"},
		{"link", "add", "veth0", "type", "veth", "peer", "name", "veth1"},
		{"addr", "add", "198.51.100.7/24", "dev", "veth0"}, // down: no broadcast route
		{"route", "add", "local", "10.9.0.0/24", "dev", "lo", "table", "local"},
		{"route", "add", "blackhole", "10.9.0.1/32", "table", "local"},
		{"route", "add", "unreachable", "10.9.0.2/32", "table", "local"},
		{"route", "add", "prohibit", "10.9.0.3/32", "table", "local"},
		{"route", "add", "throw", "10.9.0.4/32", "table", "local"},
		{"route", "add", "unicast", "10.9.0.5/32", "dev", "eth1", "table", "local"},
		{"route", "add", "anycast", "10.9.0.6/32", "dev", "lo", "table", "local"},
		{"route", "add", "nat", "10.9.0.10/32", "table", "local", "scope", "255"},
		{"route", "add", "xresolve", "10.9.0.11/32", "table", "local", "scope", "255"},
		{"route", "add", "10.9.0.7/32", "dev", "eth1", "table", "main"},
		{"route", "add", "10.9.0.8/32", "dev", "eth1", "table", "main", "tos", "0x10"},
		{"route", "add", "broadcast", "10.7.0.1", "dev", "lo", "table", "local"},
		{"route", "add", "multicast", "10.7.0.2", "dev", "lo", "table", "local"},
		{"route", "add", "local", "10.8.0.0/24", "dev", "lo", "table", "main"},
		{"route", "add", "local", "10.6.0.0/24", "dev", "lo", "table", "local", "tos", "0x10"},
		{"route", "prepend", "blackhole", "192.0.2.10/32", "table", "local"},
		{"route", "add", "local", "10.5.0.0/24", "dev", "lo", "table", "local"},
		{"route", "append", "blackhole", "10.5.0.0/24", "table", "local"},
		{"route", "add", "blackhole", "10.5.0.1/32", "table", "local", "metric", "5"},
		{"route", "add", "local", "10.5.0.1/32", "dev", "lo", "table", "local", "metric", "1"},
		{"route", "add", "default", "via", "192.0.2.1"},
	}
	addrs := []string{
		"192.0.2.10", "192.0.2.255", "192.0.2.0", "198.51.100.7", "198.51.100.255",
		"10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6",
		"10.9.0.7", "10.9.0.8", "10.9.0.9", "10.9.0.10", "10.9.0.11", "10.7.0.1", "10.7.0.2", "10.7.0.3",
		"10.8.0.1", "10.6.0.1", "10.5.0.1", "10.5.0.2", "127.255.255.255",
		"0.1.2.3", "240.0.0.1", "239.1.2.3", "255.255.255.255",
	}
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprintf("split=%v", split), func(t *testing.T) {
			ns := netns(t, fmt.Sprintf("-rt%v", split))
			if split {
				ip(t, ns, "rule", "add", "from", "203.0.113.1", "table", "100")
			}
			for _, args := range routes {
				ip(t, ns, args...)
			}
			f := decodeFacts(t, inNetns(t, ns, "gather"))
			if f.LocalTableMerged == split {
				t.Errorf("Gather: local_table_merged = %v with split=%v", f.LocalTableMerged, split)
			}
			if slices.ContainsFunc(f.Routes, func(r Route) bool { return r.Prefix == "0.0.0.0/0" || r.Prefix == "192.0.2.0/24" }) {
				t.Errorf("Gather kept routes of table main that decide nothing: %+v", f.Routes)
			}
			sc := bufio.NewScanner(bytes.NewReader(inNetns(t, ns, "probe", "LBD_HOST_PROBE="+strings.Join(addrs, ","))))
			n, bound := 0, 0
			for sc.Scan() {
				fields := strings.Fields(sc.Text())
				if len(fields) != 2 {
					t.Fatalf("probe printed %q", sc.Text())
				}
				n++
				kernel := fields[1] == "ok"
				if kernel {
					bound++
				}
				ok, why := f.IsLocal(netip.MustParseAddr(fields[0]))
				if ok != kernel {
					t.Errorf("IsLocal(%s) = %v (%s), bind() says %s", fields[0], ok, why, fields[1])
				}
				t.Logf("%-16s bind() %-13s IsLocal %v %s", fields[0], fields[1], ok, why)
			}
			if n != len(addrs) || bound == 0 || bound == n {
				t.Fatalf("probe answered %d of %d addresses, %d bound: the state is not what the test builds", n, len(addrs), bound)
			}
			t.Logf("%d addresses, %d bound, IsLocal agrees on each", n, bound)
		})
	}
}

// TestLocalTableMerged reads fib_triestat as the kernel printed it for a
// namespace before its first ip rule (one trie: both tables show it, and it
// holds the routes of both) and after (two tries), and without /proc.
func TestLocalTableMerged(t *testing.T) {
	const (
		merged = "Basic info: size of leaf: 48 bytes, size of tnode: 40 bytes.\nMain:\n\tAver depth:     2.83\n\tLeaves:         6\n\tPrefixes:       6\nLocal:\n\tAver depth:     2.83\n\tLeaves:         6\n\tPrefixes:       6\n"
		split  = "Basic info: size of leaf: 48 bytes, size of tnode: 40 bytes.\nMain:\n\tAver depth:     0.00\n\tLeaves:         1\n\tPrefixes:       1\nLocal:\n\tAver depth:     2.60\n\tLeaves:         5\n\tPrefixes:       5\n"
		// Two split tries that happen to look alike: 3 routes each.
		alike = "Main:\n\tLeaves:         3\n\tPrefixes:       3\nLocal:\n\tLeaves:         3\n\tPrefixes:       3\n"
	)
	for _, tc := range []struct {
		name, stat string
		count      [2]int // routes in tables local and main, from a dump
		want       bool
	}{
		{"merged", merged, [2]int{5, 1}, true},
		{"split", split, [2]int{5, 1}, false},
		{"split, alike", alike, [2]int{3, 3}, false},
		{"merged, main empty", alike, [2]int{3, 0}, false},
		{"no /proc", "", [2]int{5, 1}, false},
	} {
		dir := t.TempDir()
		path := dir + "/fib_triestat"
		if tc.stat != "" {
			if err := os.WriteFile(path, []byte(tc.stat), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s, err := readTrieStat(path)
		if err != nil || s.merged(tc.count) != tc.want {
			t.Errorf("%s: merged = %v (%+v, %v); want %v", tc.name, s.merged(tc.count), s, err, tc.want)
		}
	}
}

func decodeFacts(t *testing.T, out []byte) *Facts {
	t.Helper()
	f, err := Decode(bytes.NewReader(out), "gather")
	if err != nil {
		t.Fatalf("decode Gather's snapshot: %v\n%s", err, out)
	}
	return f
}

// TestGatherNetns builds a host in a namespace and checks that Gather reads
// back every part of it.
func TestGatherNetns(t *testing.T) {
	ns := netns(t, "")
	setupHost(t, ns)
	if out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-w", "net.ipv4.ip_nonlocal_bind=1").CombinedOutput(); err != nil {
		t.Fatalf("sysctl in %s: %v: %s", ns, err, out)
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	lst := exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^TestHelperProcess$")
	lst.Env = append(os.Environ(), helperEnv+"=listen")
	lst.Stderr = os.Stderr
	stdin, err := lst.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := lst.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := lst.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- lst.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = lst.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var pid int
	if _, serr := fmt.Sscanf(line, "ready %d", &pid); err != nil || serr != nil {
		t.Fatalf("listener helper did not start: %q, %v", line, err)
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		t.Fatal(err)
	}
	command := strings.TrimSpace(string(comm))

	out := inNetns(t, ns, "gather")
	f := decodeFacts(t, out)
	t.Logf("Gather in %s:\n%s", ns, out)

	if host, _ := os.Hostname(); f.Hostname != host {
		t.Errorf("Hostname = %q, want %q", f.Hostname, host)
	}
	if f.NoIPv6 {
		t.Errorf("NoIPv6 = true on a kernel with IPv6")
	}

	up := map[string]bool{}
	for _, i := range f.Interfaces {
		up[i.Name] = i.Up
	}
	for _, i := range f.Interfaces {
		mac, _ := exec.Command("ip", "-n", ns, "-br", "link", "show", "dev", i.Name).Output()
		// "eth1  UP  aa:bb:cc:dd:ee:ff <...>"; lo's all-zero address is not recorded.
		if fields := strings.Fields(string(mac)); len(fields) >= 3 && fields[2] != "00:00:00:00:00:00" && fields[2] != i.MAC {
			t.Errorf("interface %s: MAC %q, ip link says %q", i.Name, i.MAC, fields[2])
		}
	}
	for name, want := range map[string]bool{"lo": true, "eth1": true, "veth0": false, "veth1": false} {
		if got, ok := up[name]; !ok || got != want {
			t.Errorf("interface %s: up = %v (listed %v), want %v", name, got, ok, want)
		}
	}

	type addrKey struct{ addr, dev string }
	addrs := map[addrKey]Address{}
	for _, a := range f.Addresses {
		addrs[addrKey{a.Address, a.Interface}] = a
	}
	for _, w := range []struct {
		addr, dev, family string
		prefix            int
		flags, noFlags    []string
	}{
		{"127.0.0.1", "lo", "ipv4", 8, nil, []string{"secondary"}},
		{"::1", "lo", "ipv6", 128, []string{"permanent"}, nil},
		{"192.0.2.10", "eth1", "ipv4", 24, []string{"permanent"}, []string{"secondary", "dynamic"}},
		{"192.0.2.12", "eth1", "ipv4", 24, []string{"secondary", "dynamic"}, []string{"permanent"}},
		{"192.0.2.11", "eth1", "ipv4", 24, []string{"secondary"}, nil},
		{"2001:db8:1::10", "eth1", "ipv6", 64, []string{"nodad", "permanent"}, []string{"tentative"}},
		{"198.51.100.7", "veth0", "ipv4", 24, nil, nil},
		{"2001:db8:2::5", "veth0", "ipv6", 64, []string{"tentative", "permanent"}, []string{"nodad"}},
		{"2001:db8:3::5", "veth1", "ipv6", 64, []string{"nodad"}, []string{"tentative"}},
	} {
		a, ok := addrs[addrKey{w.addr, w.dev}]
		if !ok {
			t.Errorf("address %s on %s not gathered", w.addr, w.dev)
			continue
		}
		if a.Family != w.family || a.Prefix != w.prefix {
			t.Errorf("address %s: family %s prefix %d, want %s %d", w.addr, a.Family, a.Prefix, w.family, w.prefix)
		}
		for _, fl := range w.flags {
			if !slices.Contains(a.Flags, fl) {
				t.Errorf("address %s: flags %v lack %s", w.addr, a.Flags, fl)
			}
		}
		for _, fl := range w.noFlags {
			if slices.Contains(a.Flags, fl) {
				t.Errorf("address %s: flags %v have %s", w.addr, a.Flags, fl)
			}
		}
	}

	for _, w := range []Route{
		{Prefix: "127.0.0.0/8", Interface: "lo", Table: 255},
		{Prefix: "10.9.0.0/24", Interface: "lo", Table: 255},
		{Prefix: "10.10.0.0/24", Interface: "lo", Table: 100},
		{Prefix: "198.51.100.7/32", Interface: "veth0", Table: 255},
		{Prefix: "192.0.2.11/32", Interface: "eth1", Table: 255},
		{Prefix: "2001:db8:1::10/128", Interface: "eth1", Table: 255},
	} {
		if !slices.Contains(f.Routes, w) {
			t.Errorf("local route %+v not gathered", w)
		}
	}

	if got := f.Sysctl(NonlocalBind4); got != "1" {
		t.Errorf("%s = %q, want 1", NonlocalBind4, got)
	}
	for _, name := range []string{NonlocalBind6, BindV6Only, UnprivilegedPortMin} {
		if f.Sysctl(name) == "" {
			t.Errorf("sysctl %s not gathered", name)
		}
	}

	want := []Socket{
		{Proto: "tcp", Address: "10.9.0.77", Port: 80},
		{Proto: "tcp", Address: "203.0.113.9", Port: 81},
		{Proto: "tcp", Address: "192.0.2.10", Port: 8080},
		{Proto: "tcp", Address: "0.0.0.0", Port: 8081, Interface: "eth1"},
		{Proto: "tcp", Address: "::", Port: 8443, V6Only: true},
		{Proto: "tcp", Address: "::", Port: 9000},
		{Proto: "udp", Address: "0.0.0.0", Port: 5353},
	}
	var got []Socket
	for _, s := range f.Sockets {
		if s.Inode == 0 {
			t.Errorf("socket %s:%d has no inode", s.Address, s.Port)
		}
		if s.PID != pid || s.Command != command {
			t.Errorf("socket %s %s:%d owned by %d %q, want %d %q", s.Proto, s.Address, s.Port, s.PID, s.Command, pid, command)
		}
		// Go's listeners set SO_REUSEADDR on TCP only, SO_REUSEPORT never;
		// the options come from the owner's own descriptor.
		if s.ReuseAddr == nil || s.ReusePort == nil {
			t.Errorf("socket %s %s:%d: SO_REUSEADDR/SO_REUSEPORT not read", s.Proto, s.Address, s.Port)
		} else if *s.ReuseAddr != (s.Proto == "tcp") || *s.ReusePort {
			t.Errorf("socket %s %s:%d: reuseaddr=%t reuseport=%t, want %t false", s.Proto, s.Address, s.Port, *s.ReuseAddr, *s.ReusePort, s.Proto == "tcp")
		}
		s.Inode, s.PID, s.Command, s.UID = 0, 0, "", 0
		s.ReuseAddr, s.ReusePort = nil, nil
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Errorf("sockets:\n got %+v\nwant %+v", got, want)
	}

	sorted := f.clone()
	sorted.sort()
	if !slices.EqualFunc(sorted.Addresses, f.Addresses, addrEqual) || !slices.Equal(sorted.Sockets, f.Sockets) || !slices.Equal(sorted.Routes, f.Routes) {
		t.Errorf("Gather's lists are not in canonical order")
	}

	compareWithSS(t, ns, f)
}

func addrEqual(a, b Address) bool {
	return a.Address == b.Address && a.Interface == b.Interface && a.Prefix == b.Prefix && slices.Equal(a.Flags, b.Flags)
}

// compareWithSS checks that Gather lists the sockets "ss -ltn" and "ss -lun"
// list, no more and no fewer.
func compareWithSS(t *testing.T, ns string, f *Facts) {
	t.Helper()
	if _, err := exec.LookPath("ss"); err != nil {
		t.Log("ss not installed: not comparing with it")
		return
	}
	var want []string
	for _, proto := range []string{"tcp", "udp"} {
		out, err := exec.Command("ip", "netns", "exec", ns, "ss", "-Hln", "--"+proto).Output()
		if err != nil {
			t.Fatalf("ss in %s: %v", ns, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 4 {
				continue
			}
			local := fields[3]
			i := strings.LastIndex(local, ":")
			host, port := strings.Trim(local[:i], "[]"), local[i+1:]
			host, dev, _ := strings.Cut(host, "%")
			if host == "*" {
				host = "::"
			}
			want = append(want, proto+" "+host+" "+port+" "+dev)
		}
	}
	var got []string
	for _, s := range f.Sockets {
		got = append(got, s.Proto+" "+s.Address+" "+strconv.Itoa(s.Port)+" "+s.Interface)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Gather's sockets differ from ss -ln:\nGather %q\n    ss %q", got, want)
	}
}

// TestGatherDADFailed puts an IPv6 address on a link where a peer
// namespace already holds it, so duplicate address detection fails, and
// checks that Gather sees "dadfailed" and IsLocal refuses the address as
// bind() does.
func TestGatherDADFailed(t *testing.T) {
	ns := netns(t, "")
	peer := netns(t, "-peer")
	ip(t, ns, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", peer)
	ip(t, peer, "addr", "add", "2001:db8:4::1/64", "dev", "vb", "nodad")
	ip(t, peer, "link", "set", "vb", "up")
	ip(t, ns, "addr", "add", "2001:db8:4::1/64", "dev", "va")
	ip(t, ns, "link", "set", "va", "up")

	a := netip.MustParseAddr("2001:db8:4::1")
	var f *Facts
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		f = decodeFacts(t, inNetns(t, ns, "gather"))
		if slices.ContainsFunc(f.Addresses, func(ad Address) bool {
			return ad.Address == a.String() && slices.Contains(ad.Flags, "dadfailed")
		}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dadfailed address after 10s: %+v", f.Addresses)
		}
	}
	ok, why := f.IsLocal(a)
	if ok || !strings.Contains(why, "dadfailed") {
		t.Errorf("IsLocal(%s) = %v, %q; want false, dadfailed", a, ok, why)
	}
	if out := strings.TrimSpace(string(inNetns(t, ns, "probe", "LBD_HOST_PROBE="+a.String()))); out != a.String()+" EADDRNOTAVAIL" {
		t.Errorf("bind probe says %q, want EADDRNOTAVAIL", out)
	}
}
