package selinux

import (
	"os"
	"testing"
)

// BenchmarkReadPolicy reads the installed default policy's module store:
// what lbdoctor check costs on a host where SELinux is on.
func BenchmarkReadPolicy(b *testing.B) {
	if _, err := os.ReadDir("/var/lib/selinux/default/active/modules"); err != nil {
		b.Skipf("SKIP: the default policy's module store is not readable: %v", err)
	}
	for b.Loop() {
		if _, err := ReadPolicy("", "default"); err != nil {
			b.Fatal(err)
		}
	}
}
