package haproxy

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// LoadEnvFile reads an environment file the way systemd reads
// EnvironmentFile= (the Debian /etc/default/haproxy and the Red Hat
// /etc/sysconfig/haproxy are read so): KEY=value lines, single- and
// double-quoted values that may span lines, backslash escapes and line
// continuations, '#' and ';' comment lines. No variable is expanded.
//
// Assignments systemd ignores are reported in the []parsers.Error: names
// that are not shell variable names, and invalid UTF-8. "export KEY=value"
// is one of them, since systemd takes "export KEY" as the name; a shell
// that sources the file (an init script) does set KEY, so the value is
// kept, and the error says systemd will not pass it on.
//
// The error is non-nil only when the file cannot be read.
func LoadEnvFile(root parsers.Root, path string) (map[string]string, []parsers.Error, error) {
	data, err := root.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	env := map[string]string{}
	var errs []parsers.Error
	for _, a := range parseEnvFile(string(data)) {
		pos := parsers.Pos{File: path, Line: a.line}
		switch {
		case !utf8.ValidString(a.key) || !utf8.ValidString(a.value):
			errs = append(errs, parsers.Error{Pos: pos, Msg: fmt.Sprintf("invalid UTF-8 in the assignment of %q: systemd ignores it", a.key)})
		case strings.HasPrefix(a.key, "export") && len(a.key) > 6 && cIsSpace(a.key[6]) && validEnvName(strings.TrimLeft(a.key[6:], " \t")):
			name := strings.TrimLeft(a.key[6:], " \t")
			env[name] = a.value
			errs = append(errs, parsers.Error{Pos: pos, Msg: fmt.Sprintf("systemd ignores \"export %s=...\" (EnvironmentFile= takes no \"export\"): only a shell that sources the file sets %s; write %s=... instead", name, name, name)})
		case !validEnvName(a.key):
			errs = append(errs, parsers.Error{Pos: pos, Msg: fmt.Sprintf("invalid variable name %q: systemd ignores the assignment", a.key)})
		default:
			env[a.key] = a.value
		}
	}
	return env, errs, nil
}

// EnvLookup merges environments into one look-up function for
// Options.Env: a later map overrides an earlier one, so pass the weakest
// first (lbdoctor's own environment, then the distribution's defaults
// file, then a file the user named).
func EnvLookup(layers ...map[string]string) func(string) (string, bool) {
	merged := map[string]string{}
	for _, l := range layers {
		keys := make([]string, 0, len(l))
		for k := range l {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			merged[k] = l[k]
		}
	}
	return func(name string) (string, bool) {
		v, ok := merged[name]
		return v, ok
	}
}

// validEnvName is systemd's env_name_is_valid(): letters, digits and '_',
// not starting with a digit.
func validEnvName(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

// envAssign is one KEY=value of an environment file.
type envAssign struct {
	line       int // where the key starts
	key, value string
}

// parseEnvFile is systemd's parse_env_file_internal() (src/basic/env-file.c).
func parseEnvFile(s string) []envAssign {
	const (
		preKey = iota
		key
		preValue
		value
		valueEscape
		singleQuote
		doubleQuote
		doubleQuoteEscape
		comment
		commentEscape
	)
	var out []envAssign
	var k, v []byte
	lastKeySpace, lastValueSpace := -1, -1
	line, keyLine := 1, 1
	state := preKey
	push := func() {
		if lastKeySpace >= 0 {
			k = k[:lastKeySpace]
		}
		out = append(out, envAssign{line: keyLine, key: string(k), value: string(v)})
		k, v = k[:0], v[:0]
	}
	isWS := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	isNL := func(c byte) bool { return c == '\n' || c == '\r' }
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch state {
		case preKey:
			switch {
			case c == '#' || c == ';':
				state = comment
			case !isWS(c):
				state = key
				lastKeySpace = -1
				keyLine = line
				k = append(k[:0], c)
			}
		case key:
			switch {
			case isNL(c):
				state = preKey
				k = k[:0]
			case c == '=':
				state = preValue
				lastValueSpace = -1
			default:
				if !isWS(c) {
					lastKeySpace = -1
				} else if lastKeySpace < 0 {
					lastKeySpace = len(k)
				}
				k = append(k, c)
			}
		case preValue:
			switch {
			case isNL(c):
				state = preKey
				push()
			case c == '\'':
				state = singleQuote
			case c == '"':
				state = doubleQuote
			case c == '\\':
				state = valueEscape
			case !isWS(c):
				state = value
				v = append(v, c)
			}
		case value:
			switch {
			case isNL(c):
				state = preKey
				if lastValueSpace >= 0 {
					v = v[:lastValueSpace]
				}
				push()
			case c == '\\':
				state = valueEscape
				lastValueSpace = -1
			default:
				if !isWS(c) {
					lastValueSpace = -1
				} else if lastValueSpace < 0 {
					lastValueSpace = len(v)
				}
				v = append(v, c)
			}
		case valueEscape:
			state = value
			if !isNL(c) {
				v = append(v, c)
			}
		case singleQuote:
			if c == '\'' {
				state = preValue
			} else {
				v = append(v, c)
			}
		case doubleQuote:
			switch c {
			case '"':
				state = preValue
			case '\\':
				state = doubleQuoteEscape
			default:
				v = append(v, c)
			}
		case doubleQuoteEscape:
			state = doubleQuote
			switch {
			case strings.IndexByte("\"\\`$", c) >= 0:
				v = append(v, c)
			case c != '\n':
				v = append(v, '\\', c)
			}
		case comment:
			if c == '\\' {
				state = commentEscape
			} else if isNL(c) {
				state = preKey
			}
		case commentEscape:
			if isNL(c) {
				state = preKey
			} else {
				state = comment
			}
		}
		if c == '\n' {
			line++
		}
	}
	switch state {
	case preValue, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape:
		push()
	case value:
		if lastValueSpace >= 0 {
			v = v[:lastValueSpace]
		}
		push()
	}
	return out
}

// ParseVersionOutput finds the version in what "haproxy -v" (or -vv)
// prints, e.g. "2.6.12-1+deb12u4" from "HAProxy version 2.6.12-1+deb12u4
// 2026/10/17 - https://haproxy.org/", for Options.Version. It returns ""
// when there is none.
func ParseVersionOutput(out string) string {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		for i := 0; i+2 < len(f); i++ {
			if (f[i] == "HAProxy" || f[i] == "HA-Proxy") && f[i+1] == "version" {
				return f[i+2]
			}
		}
	}
	return ""
}

// ParseFeatureList finds the build features in what "haproxy -vv" prints
// ("Feature list : +EPOLL -KQUEUE ..."), for Options.Features. It returns
// nil when there are none.
func ParseFeatureList(out string) []string {
	for _, line := range strings.Split(out, "\n") {
		name, list, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(name) == "Feature list" {
			return strings.Fields(list)
		}
	}
	return nil
}
