package checks_test

import (
	"encoding/hex"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// setFileCaps writes the security.capability attribute (hex) of file, as
// setcap(8) does; it skips the case without the privilege to.
func setFileCaps(t *testing.T, file, value string) {
	t.Helper()
	b, err := hex.DecodeString(value)
	if err != nil {
		t.Fatalf("setcap %s: %v", file, err)
	}
	if os.Geteuid() != 0 {
		t.Skipf("SKIPPED: setting file capabilities on %s needs root", file)
	}
	if err := unix.Setxattr(file, "security.capability", b, 0); err != nil {
		t.Skipf("SKIPPED: cannot set file capabilities on %s here: %v", file, err)
	}
}
