package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteAtomic: a complete write replaces the file and keeps its mode;
// a failed one leaves the old file and no temporary file behind.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.txt")
	must(t, os.WriteFile(path, []byte("old\n"), 0o640))
	must(t, os.Chmod(path, 0o640))
	err := writeAtomic(path, func(w io.Writer) error {
		// Half written: the old file is still whole.
		if _, err := io.WriteString(w, "new"); err != nil {
			return err
		}
		if data, _ := os.ReadFile(path); string(data) != "old\n" {
			t.Errorf("during the write the file reads %q", data)
		}
		_, err := io.WriteString(w, "\n")
		return err
	})
	must(t, err)
	if data, _ := os.ReadFile(path); string(data) != "new\n" {
		t.Errorf("after the write the file reads %q", data)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the old file's 0640", st.Mode().Perm())
	}
	boom := errors.New("boom")
	if err := writeAtomic(path, func(w io.Writer) error { io.WriteString(w, "partial"); return boom }); !errors.Is(err, boom) {
		t.Errorf("a failed write returned %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "new\n" {
		t.Errorf("a failed write left %q", data)
	}
	// A new file gets 0666 less the umask, as a shell redirection would.
	fresh := filepath.Join(dir, "fresh.txt")
	must(t, writeAtomic(fresh, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }))
	probe := filepath.Join(dir, "probe")
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_WRONLY, 0o666)
	must(t, err)
	f.Close()
	want, _ := os.Stat(probe)
	os.Remove(probe)
	if st, _ := os.Stat(fresh); st.Mode().Perm() != want.Mode().Perm() {
		t.Errorf("a new file has mode %v, want %v (0666 less the umask)", st.Mode().Perm(), want.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 {
		t.Errorf("the directory holds %v, want report.txt and fresh.txt", names)
	}
	if _, err := os.Stat(filepath.Join(dir, "nodir", "x")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if err := writeAtomic(filepath.Join(dir, "nodir", "x"), func(io.Writer) error { return nil }); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("writing into a missing directory: %v", err)
	}
}
