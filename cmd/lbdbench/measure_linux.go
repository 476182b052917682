package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// command is one program the benchmark times.
type command struct {
	label string   // as the table names it
	argv  []string // program and arguments
	// exitOK says which exit codes mean the program did its job: lbdoctor
	// exits 1 when it has findings, which the fixture is built to have.
	exitOK func(code int) bool
}

func exitZero(code int) bool { return code == 0 }

// timing is what the runs of one command measured.
type timing struct {
	label   string
	median  time.Duration
	best    time.Duration
	peakRSS int64 // bytes: the largest ru_maxrss of any run
	runs    int
}

// measure runs each command n times through sp, interleaved (a, b, c, a,
// b, c, ...) so that a slow phase of the machine hits all of them alike,
// and returns one timing per command in the order given.
func measure(sp *spawner, n int, cmds ...command) ([]timing, error) {
	walls := make([][]time.Duration, len(cmds))
	out := make([]timing, len(cmds))
	for range n {
		for i, c := range cmds {
			r, err := sp.run(c.argv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.label, err)
			}
			if !c.exitOK(r.Code) {
				return nil, fmt.Errorf("%s: exit status %d\n$ %s\n%s", c.label, r.Code, strings.Join(c.argv, " "), r.Stderr)
			}
			walls[i] = append(walls[i], r.Wall)
			out[i].peakRSS = max(out[i].peakRSS, r.MaxRSS)
		}
	}
	for i, c := range cmds {
		w := walls[i]
		slices.Sort(w)
		out[i].label, out[i].runs = c.label, len(w)
		out[i].best, out[i].median = w[0], median(w)
	}
	return out, nil
}

// median of sorted durations.
func median(sorted []time.Duration) time.Duration {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// The measured programs are started by a small process of their own, the
// spawner, not by lbdbench: Linux counts the memory of the process that
// forks a program in the program's ru_maxrss (Go forks with CLONE_VM, and
// exec keeps the larger of the old and the new peak), and lbdbench itself
// grows to hundreds of MiB reading lbdoctor's verdicts. The spawner stays
// at a few MiB: that is the floor below which no peak RSS can be told,
// and lbdbench prints it.
const spawnHelperCmd = "spawn-helper"

// spawnRequest and spawnResult are the spawner's protocol, one JSON line
// each way.
type spawnRequest struct {
	Argv []string
}

type spawnResult struct {
	Wall   time.Duration // from fork to reaping
	MaxRSS int64         // bytes
	Code   int           // exit status
	Err    string        // the program could not be started
	Stderr string        // its end, to explain a failure
}

// spawnHelper serves spawn requests from stdin until it closes. The
// programs' stdout goes to /dev/null, as when a CI job redirects it.
func spawnHelper(stdin io.Reader, stdout io.Writer) int {
	dec := json.NewDecoder(stdin)
	enc := json.NewEncoder(stdout)
	for {
		var req spawnRequest
		if err := dec.Decode(&req); err != nil {
			return 0
		}
		var res spawnResult
		if len(req.Argv) == 0 {
			res.Err = "empty command"
		} else {
			res = spawn(req.Argv)
		}
		if err := enc.Encode(res); err != nil {
			return 1
		}
	}
}

func spawn(argv []string) spawnResult {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	res := spawnResult{Wall: time.Since(start)}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		res.Err = err.Error()
		return res
	}
	res.Code = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSS = ru.Maxrss * 1024 // Linux reports KiB
	}
	if res.Code != 0 {
		res.Stderr = tail(stderr.String(), 2000)
	}
	return res
}

// spawner is a running spawn helper.
type spawner struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	enc   *json.Encoder
}

// startSpawner starts the spawn helper (self is a program that understands
// spawnHelperCmd); the programs it runs live in the network namespace of
// the calling thread.
func startSpawner(ctx context.Context, self string) (*spawner, error) {
	cmd, stdin, stdout, err := startChild(ctx, self, spawnHelperCmd)
	if err != nil {
		return nil, err
	}
	return &spawner{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout), enc: json.NewEncoder(stdin)}, nil
}

// startChild starts self with args, talking to it over its stdin and
// stdout; its stderr is ours.
func startChild(ctx context.Context, self string, args ...string) (*exec.Cmd, io.WriteCloser, io.Reader, error) {
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, stdin, stdout, nil
}

// run runs argv to its end.
func (sp *spawner) run(argv []string) (spawnResult, error) {
	if err := sp.enc.Encode(spawnRequest{Argv: argv}); err != nil {
		return spawnResult{}, fmt.Errorf("spawner: %w", err)
	}
	line, err := sp.out.ReadBytes('\n')
	if err != nil {
		return spawnResult{}, fmt.Errorf("spawner: %w", err)
	}
	var res spawnResult
	if err := json.Unmarshal(line, &res); err != nil {
		return spawnResult{}, fmt.Errorf("spawner: %w", err)
	}
	if res.Err != "" {
		return res, errors.New(res.Err)
	}
	return res, nil
}

// floor is the peak RSS the spawner gives a program that uses next to
// nothing: /bin/true's.
func (sp *spawner) floor() (int64, error) {
	res, err := sp.run([]string{"true"})
	return res.MaxRSS, err
}

// close ends the spawner: it goes when its stdin closes.
func (sp *spawner) close() error {
	sp.stdin.Close()
	return sp.cmd.Wait()
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// ms formats a duration in milliseconds, as the tables show them.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v < 10 {
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// mib formats bytes in MiB.
func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
