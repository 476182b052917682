//go:build !linux

// Command lbdbench measures lbdoctor against nginx -t, haproxy -c and
// ss -ltnp; it builds network namespaces, so it runs on Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "lbdbench: Linux only (it runs the daemons in network namespaces)")
	os.Exit(1)
}
