//go:build !linux

package host

import (
	"errors"
	"runtime"
)

// Gather reads the live host. Only Linux has the netlink and /proc
// interfaces it needs; elsewhere judge a snapshot taken on the load
// balancer itself ("lbdoctor snapshot" there, "--host FILE" here).
func Gather() (*Facts, error) {
	return nil, errors.New("gather host facts: reading the live host needs Linux, not " + runtime.GOOS + "; take a snapshot on the host with lbdoctor snapshot and pass it with --host")
}

// StatUnixPaths needs Linux's /proc/net/unix; elsewhere nothing is known.
func StatUnixPaths(paths []string) []UnixPath { return nil }
