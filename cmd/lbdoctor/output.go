package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic writes what write produces to path through a temporary file
// in the same directory, renamed over path once complete: whoever reads
// path (node_exporter's textfile collector, a CI step, the next run) sees
// the old file or the new one, never half of one. The file is mode 0644,
// as prometheus.WriteToTextfile leaves its own. On an error path is left
// as it was.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
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
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// outputError is a failure to write the output itself: there is nowhere
// left to say anything else.
type outputError struct{ err error }

func (e outputError) Error() string { return fmt.Sprintf("write report: %v", e.err) }
func (e outputError) Unwrap() error { return e.err }
