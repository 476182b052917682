// Package sysctl reads the persisted sysctl configuration the way
// systemd-sysctl(8) applies it at boot, so that checks can tell a setting that
// holds now from one that survives the next reboot.
//
// It follows sysctl.d(5) as systemd 252 (Debian 12) implements it: *.conf
// files from the sysctl.d directories, a file overriding a same-named one in
// a less important directory, all files applied in the order of their names,
// the last assignment of a key winning. /etc/sysctl.conf counts only when a
// sysctl.d entry links to it, as Debian's /etc/sysctl.d/99-sysctl.conf does;
// systemd-sysctl never reads it by itself.
package sysctl

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// dirs are the sysctl.d directories, most important first. systemd built
// with split /usr (Debian 11 and older, Ubuntu before 21.10) also reads
// /lib/sysctl.d last; on a merged-/usr tree /lib is a link to usr/lib, so
// reading it too changes nothing there.
func dirs() []string {
	return []string{"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"}
}

// Setting is one sysctl assignment that wins at boot.
type Setting struct {
	// Name is the key in sysctl(8)'s dotted form,
	// "net.ipv4.conf.eth0/100.rp_filter"; a glob key stays a glob.
	Name  string      `json:"name"`
	Value string      `json:"value"`
	Pos   parsers.Pos `json:"pos"`
	// Exclude marks a "-name" line without "=": systemd-sysctl sets
	// nothing for the key, and no glob sets it either.
	Exclude bool `json:"exclude,omitempty"`

	key string // the slash form systemd keeps, "net/ipv4/conf/eth0.100/rp_filter"
	seq int    // when systemd-sysctl would write it: later writes win
}

// Boot is the persisted sysctl configuration as systemd-sysctl applies it at
// boot.
type Boot struct {
	Settings map[string]Setting `json:"settings"` // by dotted name, "net.ipv4.ip_nonlocal_bind"
	// Files are the files read, in the order applied. An entry that is a
	// link is named by the file it leads to: /etc/sysctl.conf for Debian's
	// 99-sysctl.conf link.
	Files []string `json:"files"`
	// Masked are the sysctl.d entries that link to /dev/null.
	Masked []string        `json:"masked,omitempty"`
	Errors []parsers.Error `json:"errors,omitempty"` // lines and files systemd-sysctl would skip

	seq int
}

// ReadBoot reads the sysctl.d directories below root. Unreadable or broken
// files land in Errors, as systemd-sysctl skips them too; the error is only
// for an I/O failure on a directory other than its absence or a permission
// problem.
func ReadBoot(root parsers.Root) (*Boot, error) {
	b := &Boot{Settings: map[string]Setting{}, Files: []string{}}
	entries, err := b.list(root)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		resolved, err := root.Chase(e)
		if resolved == "/dev/null" {
			b.Masked = append(b.Masked, e)
			continue
		}
		if err != nil {
			// systemd-sysctl ignores a file that vanished, a dangling
			// link included.
			if !errors.Is(err, fs.ErrNotExist) {
				b.Errors = append(b.Errors, parsers.Error{Pos: parsers.Pos{File: e}, Msg: err.Error()})
			}
			continue
		}
		data, err := root.ReadRegular(resolved)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				b.Errors = append(b.Errors, parsers.Error{Pos: parsers.Pos{File: e}, Msg: err.Error()})
			}
			continue
		}
		shown := root.ShownName(e, resolved)
		b.Files = append(b.Files, shown)
		b.parse(shown, data)
	}
	return b, nil
}

// list returns the sysctl.d entries systemd-sysctl would read, sorted by
// file name, each from the most important directory that has it.
func (b *Boot) list(root parsers.Root) ([]string, error) {
	seen := map[string]string{}
	for _, dir := range dirs() {
		_, des, problem, err := root.ReadConfDir(dir)
		switch {
		case err != nil:
			return nil, fmt.Errorf("list %s: %w", dir, err)
		case problem != "":
			b.Errors = append(b.Errors, parsers.Error{Pos: parsers.Pos{File: dir}, Msg: problem})
			continue
		}
		for _, de := range des {
			n := de.Name()
			// Hidden files are skipped, any other node type is taken,
			// as systemd's conf_files_list() does without flags.
			if !strings.HasSuffix(n, ".conf") || strings.HasPrefix(n, ".") {
				continue
			}
			if _, ok := seen[n]; !ok {
				seen[n] = path.Join(dir, n)
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = seen[n]
	}
	return out, nil
}

// parse reads one sysctl.d file's contents into b, as if it were applied
// after every file read so far.
func (b *Boot) parse(file string, data []byte) {
	for i, line := range parsers.SplitSystemdLines(string(data)) {
		pos := parsers.Pos{File: file, Line: i + 1}
		a, err := parseLine(line)
		if err != nil {
			b.Errors = append(b.Errors, parsers.Error{Pos: pos, Msg: err.Error()})
			continue
		}
		if a == nil {
			continue
		}
		b.assign(*a, pos)
	}
}

// assign records a as the latest assignment of its key. Like systemd-sysctl,
// repeating the value a key already has keeps its place in the write order;
// the position moves to the repetition, the line a reader would edit last.
func (b *Boot) assign(a assignment, pos parsers.Pos) {
	if old, ok := b.Settings[a.name]; ok && old.Exclude == a.exclude && old.Value == a.value {
		old.Pos = pos
		b.Settings[a.name] = old
		return
	}
	b.seq++
	b.Settings[a.name] = Setting{Name: a.name, Value: a.value, Pos: pos, Exclude: a.exclude, key: a.key, seq: b.seq}
}

// Get returns the setting that decides name ("net.ipv4.ip_nonlocal_bind",
// or the slash form) at boot: its own assignment, or else the glob written
// last that matches it, whose Name is then the glob. It reports false when
// nothing sets name at boot, an exclusion included.
func (b *Boot) Get(name string) (Setting, bool) {
	if b == nil {
		return Setting{}, false
	}
	target := normalize(name)
	if s, ok := b.Settings[dotted(target)]; ok {
		if s.Exclude {
			return Setting{}, false
		}
		return s, true
	}
	var best Setting
	found := false
	for _, s := range b.Settings {
		if s.Exclude || !isGlob(s.Name) || (found && s.seq < best.seq) {
			continue
		}
		if globMatch(s.key, target) {
			best, found = s, true
		}
	}
	return best, found
}

// assignment is one parsed sysctl.d line.
type assignment struct {
	name    string // dotted
	key     string // slashed
	value   string
	exclude bool
}

// whitespace is what systemd's strstrip() removes.
const whitespace = " \t\n\r"

// parseLine parses one line of a sysctl.d file. It returns nil for blank
// lines and comments, and an error for a line systemd-sysctl ignores with a
// warning.
func parseLine(line string) (*assignment, error) {
	p := strings.Trim(line, whitespace)
	if p == "" || strings.ContainsRune("#;", rune(p[0])) {
		return nil, nil
	}
	var a assignment
	key := p
	if i := strings.IndexByte(p, '='); i >= 0 {
		// A leading "-" only asks to ignore a failed write.
		key = strings.TrimPrefix(p[:i], "-")
		a.value = strings.Trim(p[i+1:], whitespace)
	} else {
		if p[0] != '-' {
			return nil, fmt.Errorf("line is not an assignment, ignoring: %s", p)
		}
		key, a.exclude = p[1:], true
	}
	n := normalize(strings.Trim(key, whitespace))
	if n == "" {
		return nil, fmt.Errorf("missing key name, ignoring: %s", p)
	}
	a.key, a.name = n, dotted(n)
	return &a, nil
}

// normalize turns a key into the slash form systemd keeps internally. When
// the first separator is a dot, dots and slashes swap roles
// ("net.ipv4.conf.eth0/100.rp_filter" -> "net/ipv4/conf/eth0.100/rp_filter");
// when it is a slash the key is a path already. Empty and "." components go.
// Unlike systemd, a leading slash goes too: /proc/sys/ + key names the same
// file either way.
func normalize(key string) string {
	if i := strings.IndexAny(key, "./"); i >= 0 && key[i] == '.' {
		key = swap(key)
	}
	parts := strings.Split(key, "/")
	out := parts[:0]
	for _, c := range parts {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return strings.Join(out, "/")
}

// dotted turns the slash form into sysctl(8)'s dotted form.
func dotted(slashed string) string { return swap(slashed) }

// swap exchanges dots and slashes.
func swap(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, s)
}

// isGlob is systemd's string_is_glob().
func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// globMatch matches a slash-form key against a slash-form glob(7) pattern,
// component by component as glob(3) does over /proc/sys.
func globMatch(pattern, name string) bool {
	// glob(7) negates a class with "!", Go's path.Match with "^".
	pattern = strings.ReplaceAll(pattern, "[!", "[^")
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// Later is whichever of a and b systemd-sysctl writes last at boot.
func Later(a, b Setting) Setting {
	if b.seq > a.seq {
		return b
	}
	return a
}
