package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// writeAtomic writes what write produces to path through a temporary file
// in the same directory, renamed over path once complete: whoever reads
// path (node_exporter's textfile collector, a CI step, the next run) sees
// the old file or the new one, never half of one. Its mode is what a shell
// redirection would leave: an existing file's, or 0666 less the umask. On
// an error path is left as it was.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := createTemp(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		if err := tmp.Chmod(st.Mode().Perm()); err != nil {
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// createTemp creates a new file beside path, hidden and named after it,
// with mode 0666 for the kernel to mask with the umask (os.CreateTemp's
// files are 0600 whatever the umask).
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		name := filepath.Join(dir, "."+base+".tmp"+strconv.FormatUint(uint64(rand.Uint32()), 10))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("create a temporary file beside %s: too many tries", path)
}

// outputError is a failure to write the output itself: there is nowhere
// left to say anything else.
type outputError struct{ err error }

func (e outputError) Error() string { return fmt.Sprintf("write report: %v", e.err) }
func (e outputError) Unwrap() error { return e.err }
