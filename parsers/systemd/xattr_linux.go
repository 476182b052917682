package systemd

import (
	"errors"

	"golang.org/x/sys/unix"
)

// getxattr returns the extended attribute name of the file p, nil when it
// has none.
func getxattr(p, name string) ([]byte, error) {
	buf := make([]byte, 64)
	n, err := unix.Getxattr(p, name, buf)
	switch {
	case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return buf[:n], nil
}
