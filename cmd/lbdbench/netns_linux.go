package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// netns is a throwaway network namespace. nginx -t binds every listen
// socket, so the daemons run where the fixture's VIPs exist, and the busy
// host of the gathering benchmark is built there too: the machine's own
// namespace is never touched.
type netns struct{ name string }

// vipDev is the interface inside the namespace that holds the VIPs; the
// kernel has no dummy driver, ifb serves as well.
const vipDev = "lbdvip"

// newNetns creates the namespace with loopback up and the VIPs on an ifb
// interface. On error nothing is left behind.
func newNetns(ctx context.Context, name string, vips []netip.Addr) (_ *netns, err error) {
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", name, err, out)
	}
	n := &netns{name: name}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	var batch strings.Builder
	fmt.Fprintf(&batch, "link set lo up\nlink add %s type ifb\nlink set %[1]s up\n", vipDev)
	for _, v := range vips {
		fmt.Fprintf(&batch, "address add %s/32 dev %s\n", v, vipDev)
	}
	cmd := exec.CommandContext(ctx, "ip", "-n", name, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip -n %s -batch: %v: %s", name, err, out)
	}
	return n, nil
}

// netnsPrefix names lbdbench's namespaces: the prefix, the PID of the
// process that made it, and its role ("lbd-bench-4242-cfg").
const netnsPrefix = "lbd-bench-"

// sweepStale deletes the namespaces of earlier runs that were killed before
// their deferred cleanup ran (SIGKILL, a test binary's timeout): those
// whose process is gone and in which nothing runs. A namespace whose PID
// lives on, even as another program, is left alone.
func sweepStale(ctx context.Context) {
	paths, _ := filepath.Glob(filepath.Join("/run/netns", netnsPrefix+"*"))
	for _, p := range paths {
		name := filepath.Base(p)
		id, _, _ := strings.Cut(strings.TrimPrefix(name, netnsPrefix), "-")
		pid, err := strconv.Atoi(id)
		if err != nil || pid <= 0 || unix.Kill(pid, 0) != unix.ESRCH {
			continue
		}
		out, err := exec.CommandContext(ctx, "ip", "netns", "pids", name).Output()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			continue
		}
		_ = exec.CommandContext(ctx, "ip", "netns", "del", name).Run()
	}
}

// close deletes the namespace; whatever still runs in it keeps it alive
// until it exits, which is why callers end their processes first.
func (n *netns) close() error {
	if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns del %s: %v: %s", n.name, err, out)
	}
	return nil
}

// do runs fn on an OS thread that has joined the namespace, so every
// process fn starts (exec forks from the calling thread) lives in it
// without the cost of "ip netns exec" in the times measured. fn must start
// its processes from its own goroutine. The thread is never unlocked: Go
// ends it with the goroutine instead of handing a thread in another
// namespace to the rest of the program.
func (n *netns) do(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := os.Open(filepath.Join("/run/netns", n.name))
		if err != nil {
			done <- err
			return
		}
		err = unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET)
		fd.Close()
		if err != nil {
			done <- fmt.Errorf("setns %s: %w", n.name, err)
			return
		}
		done <- fn()
	}()
	return <-done
}
