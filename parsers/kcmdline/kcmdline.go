// Package kcmdline reads the kernel command line the next boot gets from
// the boot loader's configuration: GRUB's /etc/default/grub and
// /etc/default/grub.d/*.cfg (the shell variables GRUB_CMDLINE_LINUX and
// GRUB_CMDLINE_LINUX_DEFAULT, which grub-mkconfig sources in that order),
// and /etc/kernel/cmdline, which kernel-install gives systemd-boot and
// unified kernel images.
package kcmdline

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Cmdline is one boot loader's kernel command line and the line that last
// added to it.
type Cmdline struct {
	Value string
	Pos   parsers.Pos
}

// ReadBoot reads the boot loader configurations below root; a
// configuration that is absent is left out.
func ReadBoot(root parsers.Root) []Cmdline {
	var out []Cmdline
	if c, ok := readGrub(root); ok {
		out = append(out, c)
	}
	if b, err := root.ReadFile("/etc/kernel/cmdline"); err == nil {
		// kernel-install takes the file's lines joined by spaces.
		out = append(out, Cmdline{Value: strings.Join(strings.Fields(string(b)), " "), Pos: parsers.Pos{File: "/etc/kernel/cmdline", Line: 1}})
	}
	return out
}

// readGrub evaluates the two GRUB variables the way sh would for the
// assignments Debian's files use: VAR=value, VAR="...", VAR='...', with
// $VAR and ${VAR} of either variable expanded inside double quotes or
// bare words.
func readGrub(root parsers.Root) (Cmdline, bool) {
	files := []string{"/etc/default/grub"}
	cfgs, _ := root.Glob("/etc/default/grub.d/*.cfg")
	sort.Strings(cfgs)
	for _, c := range cfgs {
		files = append(files, filepath.Join("/etc/default/grub.d", filepath.Base(c)))
	}
	vars := map[string]string{}
	var last parsers.Pos
	found := false
	for _, f := range files {
		b, err := root.ReadFile(f)
		if err != nil {
			continue
		}
		found = true
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "export "))
			name, val, ok := strings.Cut(line, "=")
			if !ok || (name != "GRUB_CMDLINE_LINUX" && name != "GRUB_CMDLINE_LINUX_DEFAULT") {
				continue
			}
			vars[name] = shellValue(val, vars)
			last = parsers.Pos{File: f, Line: i + 1}
		}
	}
	if !found {
		return Cmdline{}, false
	}
	v := strings.Join(strings.Fields(vars["GRUB_CMDLINE_LINUX"]+" "+vars["GRUB_CMDLINE_LINUX_DEFAULT"]), " ")
	if last.File == "" {
		last = parsers.Pos{File: "/etc/default/grub"}
	}
	return Cmdline{Value: v, Pos: last}, true
}

// shellValue is the value of a shell word: quotes removed, variables
// expanded except inside single quotes, a trailing comment dropped.
func shellValue(s string, vars map[string]string) string {
	var b strings.Builder
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == 0 && (c == ' ' || c == '\t' || c == ';'):
			return b.String() // the word ends; a comment or command follows
		case c == '\'' && quote != '"':
			quote ^= '\''
		case c == '"' && quote != '\'':
			quote ^= '"'
		case c == '$' && quote != '\'':
			name := ""
			if strings.HasPrefix(s[i+1:], "{") {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					b.WriteString(s[i:])
					return b.String()
				}
				name = s[i+2 : i+end]
				i += end
			} else {
				j := i + 1
				for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
					j++
				}
				name = s[i+1 : j]
				i = j - 1
			}
			b.WriteString(vars[name])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// IPv6Disabled reports whether the command line switches IPv6 off
// (ipv6.disable=1; the last such parameter wins, as the kernel parses them
// in order).
func IPv6Disabled(cmdline string) bool {
	off := false
	for _, w := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(w, "ipv6.disable="); ok {
			off = v == "1"
		}
	}
	return off
}
