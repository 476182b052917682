//go:build !linux

package main

import (
	"fmt"
	"os"
)

const sandboxHelper = "lbd-sandbox-exec"

// sandboxExecMain needs Linux's namespaces, seccomp and cgroup BPF.
func sandboxExecMain() {
	fmt.Fprintln(os.Stderr, sandboxHelper+": Linux only")
	os.Exit(125)
}
