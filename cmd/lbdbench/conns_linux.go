package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// connsHelperCmd is the hidden subcommand that makes a host busy: lbdbench
// runs itself with it inside the namespace (the test binary does the same
// through TestMain), so the connections belong to a process of their own,
// like a real server's, whose descriptors "ss -p" and lbdoctor's owner scan
// must walk.
const connsHelperCmd = "conns-helper"

// connsHelper listens on a loopback port, opens n connections to it and
// holds both ends, then says "ready" on stdout and waits until stdin
// closes. Each connection takes two descriptors; it raises its soft limit
// to the hard one, which without CAP_SYS_RESOURCE is as far as it goes, so
// a busy host is several helpers (startBusyHost).
func connsHelper(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet(connsHelperCmd, flag.ContinueOnError)
	fl.SetOutput(stderr)
	n := fl.Int("n", 1000, "established connections to open")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if err := holdConns(*n, stdout, os.Stdin); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", connsHelperCmd, err)
		return 1
	}
	return 0
}

// connsPerHelper is how many connections one helper can hold under the
// descriptor limit it inherits.
func connsPerHelper() (int, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	// Both ends of each connection, and room for the runtime's own.
	n := (int(min(lim.Max, 1<<20)) - 256) / 2
	if n < 100 {
		return 0, fmt.Errorf("RLIMIT_NOFILE hard limit %d is too low for a busy host", lim.Max)
	}
	return n, nil
}

func holdConns(n int, ready io.Writer, wait io.Reader) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise RLIMIT_NOFILE to %d: %w", lim.Max, err)
	}
	// One port holds up to ~28,000 clients (the ephemeral ports of
	// 127.0.0.1 towards it); a helper holds fewer.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var mu sync.Mutex
	held := make([]net.Conn, 0, 2*n) // kept reachable: a collected net.Conn closes its socket
	accepted := make(chan struct{}, n)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			accepted <- struct{}{}
		}
	}()
	const dialers = 8
	errs := make(chan error, dialers)
	var wg sync.WaitGroup
	for w := range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += dialers {
				c, err := net.Dial("tcp4", ln.Addr().String())
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	timeout := time.After(time.Minute)
	for range n {
		select {
		case <-accepted:
		case <-timeout:
			return errors.New("not every connection was accepted within a minute")
		}
	}
	fmt.Fprintf(ready, "ready %d\n", n)
	_, _ = io.Copy(io.Discard, wait)
	mu.Lock()
	defer mu.Unlock()
	for _, c := range held {
		c.Close()
	}
	return ln.Close()
}

// busyHost is the running connection helpers.
type busyHost struct {
	helpers []*helper
}

type helper struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

// startBusyHost starts as many helpers as the descriptor limit needs for n
// connections in all (self is a program that understands connsHelperCmd)
// and waits until every connection is established. It must be called on
// the namespace's thread.
func startBusyHost(ctx context.Context, self string, n int) (*busyHost, error) {
	per, err := connsPerHelper()
	if err != nil {
		return nil, err
	}
	b := &busyHost{}
	for left := n; left > 0; left -= per {
		share := min(left, per)
		h, err := startHelper(ctx, self, share)
		if err != nil {
			b.stop()
			return nil, err
		}
		b.helpers = append(b.helpers, h)
	}
	return b, nil
}

func startHelper(ctx context.Context, self string, n int) (*helper, error) {
	cmd, stdin, stdout, err := startChild(ctx, self, connsHelperCmd, "-n", fmt.Sprint(n))
	if err != nil {
		return nil, err
	}
	h := &helper{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err == nil && line != fmt.Sprintf("ready %d\n", n) {
		err = fmt.Errorf("unexpected %q", line)
	}
	if err != nil {
		h.stop()
		return nil, fmt.Errorf("%s did not get ready: %v", connsHelperCmd, err)
	}
	return h, nil
}

func (b *busyHost) stop() {
	for _, h := range b.helpers {
		h.stop()
	}
}

// stop ends the helper: closing its stdin asks it to go; its PID is
// killed if it has not gone a few seconds later.
func (h *helper) stop() {
	h.stdin.Close()
	done := make(chan struct{})
	go func() {
		h.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		h.cmd.Process.Kill()
		<-done
	}
}
