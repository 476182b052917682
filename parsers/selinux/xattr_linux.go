package selinux

import (
	"strings"

	"golang.org/x/sys/unix"
)

// fileLabel is the security.selinux extended attribute of file, "" when
// it has none (a file system or kernel without SELinux labels).
func fileLabel(file string) string {
	buf := make([]byte, 256)
	n, err := unix.Getxattr(file, "security.selinux", buf)
	if err != nil || n <= 0 {
		return ""
	}
	return strings.TrimRight(string(buf[:n]), "\x00")
}
