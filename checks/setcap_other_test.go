//go:build !linux

package checks_test

import "testing"

// setFileCaps skips: file capabilities are Linux's.
func setFileCaps(t *testing.T, file, value string) {
	t.Skipf("SKIPPED: file capabilities on %s need Linux", file)
}
