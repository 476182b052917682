package tmpfiles

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

func TestParse(t *testing.T) {
	got := Parse([]byte("# comment\nd /run/haproxy 2775 haproxy haproxy -\nD! /run/x/ 0755 - - -\nf /run/file 0644\nL /run/link - - - - /x\nbroken\n"))
	want := map[string]int{"/run/haproxy": 2, "/run/x": 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %v, want %v", got, want)
	}
}

// TestBootDirs: /etc overrides a same-named file in /usr/lib, as tmpfiles.d
// says; other files still count.
func TestBootDirs(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/lib/tmpfiles.d/haproxy.conf", "d /run/haproxy 2775 haproxy haproxy -\n")
	write("usr/lib/tmpfiles.d/nginx.conf", "d /run/nginx 0755 root root -\n")
	write("etc/tmpfiles.d/nginx.conf", "# disabled here\n")
	got := BootDirs(parsers.Root(root))
	want := map[string]parsers.Pos{"/run/haproxy": {File: "/usr/lib/tmpfiles.d/haproxy.conf", Line: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BootDirs = %v, want %v", got, want)
	}
}
