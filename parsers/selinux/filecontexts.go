package selinux

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// fcSpec is one file_contexts line that applies to regular files.
type fcSpec struct {
	re    string
	stem  string // the literal prefix of re
	exact bool   // re has no regular expression characters
	ctx   string
	file  string
	line  int
}

// FileContexts is a policy's file_contexts, as libselinux's label_file
// backend matches them.
type FileContexts struct {
	specs []fcSpec
	subs  [][2]string
}

// ReadFileContexts reads /etc/selinux/NAME/contexts/files/file_contexts
// and file_contexts.local below root, with the path substitutions of
// file_contexts.subs_dist and file_contexts.subs.
func ReadFileContexts(root parsers.Root, name string) (*FileContexts, error) {
	dir := "/etc/selinux/" + name + "/contexts/files/"
	fc := &FileContexts{}
	var regexes, exacts []fcSpec
	for i, f := range []string{"file_contexts", "file_contexts.local"} {
		data, err := root.ReadFile(dir + f)
		if err != nil {
			if i > 0 && os.IsNotExist(err) {
				continue
			}
			return nil, fmt.Errorf("selinux file contexts: %w", err)
		}
		for n, line := range strings.Split(string(data), "\n") {
			fl := strings.Fields(line)
			if len(fl) == 0 || strings.HasPrefix(fl[0], "#") {
				continue
			}
			s := fcSpec{re: fl[0], file: dir + f, line: n + 1}
			switch len(fl) {
			case 2:
				s.ctx = fl[1]
			case 3:
				if fl[1] != "--" {
					continue // not for regular files
				}
				s.ctx = fl[2]
			default:
				continue
			}
			s.stem, s.exact = stem(s.re)
			if s.exact {
				exacts = append(exacts, s)
			} else {
				regexes = append(regexes, s)
			}
		}
	}
	// libselinux moves the exact paths after the regular expressions and
	// takes the last spec that matches.
	fc.specs = append(regexes, exacts...)
	for _, f := range []string{"file_contexts.subs_dist", "file_contexts.subs"} {
		data, err := root.ReadFile(dir + f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			fl := strings.Fields(line)
			if len(fl) == 2 && !strings.HasPrefix(fl[0], "#") {
				fc.subs = append(fc.subs, [2]string{fl[0], fl[1]})
			}
		}
	}
	return fc, nil
}

// stem is the literal prefix of a file_contexts regular expression, and
// whether the whole expression is literal.
func stem(re string) (string, bool) {
	for i := 0; i < len(re); i++ {
		switch re[i] {
		case '?', '*', '{':
			// The quantifier makes the character before it optional.
			return re[:max(0, i-1)], false
		case '.', '^', '$', '+', '|', '[', '(', '\\':
			return re[:i], false
		}
	}
	return re, true
}

// Lookup is the context of a regular file at path, and the line that
// gives it; ok is false when no line matches or it says <<none>>.
func (fc *FileContexts) Lookup(path string) (ctx string, at parsers.Pos, ok bool) {
	for _, s := range fc.subs {
		if strings.HasPrefix(path, s[0]) && (len(path) == len(s[0]) || path[len(s[0])] == '/') {
			path = s[1] + path[len(s[0]):]
			break
		}
	}
	for i := len(fc.specs) - 1; i >= 0; i-- {
		s := &fc.specs[i]
		if !strings.HasPrefix(path, s.stem) {
			continue
		}
		if s.exact {
			if path != s.re {
				continue
			}
		} else {
			re, err := regexp.Compile("^(?:" + s.re + ")$")
			if err != nil || !re.MatchString(path) {
				continue
			}
		}
		if s.ctx == "<<none>>" {
			return "", parsers.Pos{File: s.file, Line: s.line}, false
		}
		return s.ctx, parsers.Pos{File: s.file, Line: s.line}, true
	}
	return "", parsers.Pos{}, false
}
