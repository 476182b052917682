package parsers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// MaxSymlinks is the kernel's limit (MAXSYMLINKS) on symlinks followed while
// resolving one name; a loop hits it instead of hanging.
const MaxSymlinks = 40

// ErrLoop reports a name whose symlinks never end.
var ErrLoop = errors.New("too many levels of symbolic links")

// Chase resolves every symlink in the absolute name as if root were "/": an
// absolute link target restarts at the root, and ".." never climbs above it,
// so no name can leave the tree. It returns the resolved absolute name as the
// host sees it. When a component does not exist, it returns the name resolved
// so far joined with the rest, and an error satisfying
// errors.Is(err, fs.ErrNotExist); a link to /dev/null thus still reads
// "/dev/null" in a tree that has no /dev.
func (root Root) Chase(name string) (string, error) {
	resolved, _, err := root.ChaseLinks(name)
	return resolved, err
}

// Link is a symlink a name passes through: its absolute name below the
// root and its target as written.
type Link struct {
	Name, Target string
}

// ChaseLinks is Chase that also returns the symlinks it followed, in the
// order it met them, those met before an error included: what a copy of
// the tree needs, besides the resolved name, to resolve the name the same.
func (root Root) ChaseLinks(name string) (string, []Link, error) {
	if !strings.HasPrefix(name, "/") {
		return "", nil, fmt.Errorf("chase %s: not an absolute name", name)
	}
	var followed []Link
	rest := strings.Split(name, "/")
	cur := "/"
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		fi, err := os.Lstat(root.Path(next))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return path.Join(append([]string{next}, rest...)...), followed, fmt.Errorf("chase %s: %w", name, fs.ErrNotExist)
			}
			return next, followed, fmt.Errorf("chase %s: %w", name, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		links++
		if links > MaxSymlinks {
			return next, followed, fmt.Errorf("chase %s: %w", name, ErrLoop)
		}
		target, err := os.Readlink(root.Path(next))
		if err != nil {
			return next, followed, fmt.Errorf("chase %s: %w", name, err)
		}
		followed = append(followed, Link{Name: next, Target: target})
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return cur, followed, nil
}

// ReadRegular reads the chased name when it is a regular file. Anything else is
// refused, so that a FIFO or device named like a config file cannot block the
// reader or feed it endless data.
func (root Root) ReadRegular(name string) ([]byte, error) {
	p := root.Path(name)
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return nil, fmt.Errorf("read %s: is a directory", name)
		}
		return nil, fmt.Errorf("read %s: not a regular file", name)
	}
	return os.ReadFile(p)
}

// ShownName is the name to report for a file found as listed that resolves
// to resolved: listed itself unless its last component is a link, so that a
// file keeps the directory it was found in, as systemd names it, and a link
// such as Debian's 99-sysctl.conf names the file it brings in.
func (root Root) ShownName(listed, resolved string) string {
	dir, err := root.Chase(path.Dir(listed))
	if err == nil && path.Join(dir, path.Base(listed)) == resolved {
		return listed
	}
	return resolved
}

// ReadConfDir reads the entries of a configuration directory below the
// root, its symlinks resolved by Chase, as systemd's conf_files_list()
// reads one. resolved is dir resolved, "" when that failed. No entries
// come back when the directory is skipped: it does not exist or cannot be
// read, or problem says why it is worth reporting at dir (a symlink loop,
// a file where a directory is expected). Any other failure is an error.
func (root Root) ReadConfDir(dir string) (resolved string, entries []os.DirEntry, problem string, err error) {
	resolved, err = root.Chase(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return "", nil, "", nil
		}
		if errors.Is(err, ErrLoop) || errors.Is(err, syscall.ENOTDIR) {
			return "", nil, err.Error(), nil
		}
		return "", nil, "", err
	}
	entries, err = os.ReadDir(root.Path(resolved))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return resolved, nil, "", nil
		}
		if errors.Is(err, syscall.ENOTDIR) {
			return resolved, nil, "not a directory", nil
		}
		return resolved, nil, "", err
	}
	return resolved, entries, "", nil
}
