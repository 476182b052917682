package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run lbdoctor in-process as a command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"lbdoctor": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
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
	})
}
