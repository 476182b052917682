package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run lbdoctor in-process as a command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"lbdoctor": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
		// The daemon tests start daemons in systemd's sandbox through it.
		sandboxHelper: sandboxExecMain,
	})
}

// TestScripts runs the CLI scripts under testdata/script: flags, exit codes
// and formats, the way cmd/go is tested. $TESTDATA is the repo's testdata.
func TestScripts(t *testing.T) {
	td, err := filepath.Abs(filepath.Join("..", "..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join(td, "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("TESTDATA", td)
			env.Setenv("NO_COLOR", "")
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){"exits": exits},
	})
}

// exits runs a command and asserts its exit code, which "! exec" cannot:
// the contract tells 1 (findings) from 2 (lbdoctor could not do the job).
//
//	exits 2 lbdoctor check --bogus
func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}
