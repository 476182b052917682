// Package tmpfiles reads which directories systemd-tmpfiles creates at boot
// (tmpfiles.d(5)), such as Debian's "d /run/haproxy 2775 haproxy haproxy -",
// so that a unix socket directory missing now can be told apart from one
// that is missing for good.
package tmpfiles

import (
	"bufio"
	"bytes"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// dirs are tmpfiles.d's directories, highest precedence first: a file in
// an earlier one hides a file with the same name in a later one.
var dirs = []string{"/etc/tmpfiles.d", "/run/tmpfiles.d", "/usr/local/lib/tmpfiles.d", "/usr/lib/tmpfiles.d"}

// BootDirs maps each directory a boot-time tmpfiles.d line creates ("d",
// "D", "v", "q", "Q") to that line.
func BootDirs(root parsers.Root) map[string]parsers.Pos {
	chosen := map[string]string{}
	for _, d := range dirs {
		files, _ := root.Glob(filepath.Join(d, "*.conf"))
		for _, f := range files {
			if _, ok := chosen[filepath.Base(f)]; !ok {
				chosen[filepath.Base(f)] = f
			}
		}
	}
	names := make([]string, 0, len(chosen))
	for n := range chosen {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string]parsers.Pos{}
	for _, n := range names {
		data, err := root.ReadFile(chosen[n])
		if err != nil {
			continue // /dev/null masks and unreadable files create nothing
		}
		for path, line := range Parse(data) {
			if _, ok := out[path]; !ok {
				out[path] = parsers.Pos{File: chosen[n], Line: line}
			}
		}
	}
	return out
}

// Parse returns the directories one tmpfiles.d file creates at boot, with
// their lines.
func Parse(data []byte) map[string]int {
	out := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		// The type may carry modifiers: "d!" only runs at boot, "d-" ...
		typ := strings.TrimRight(f[0], "!-=~^+")
		switch typ {
		case "d", "D", "v", "q", "Q":
			if p := filepath.Clean(f[1]); out[p] == 0 {
				out[p] = line
			}
		}
	}
	return out
}
