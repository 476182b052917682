package netcfg

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// networkdDirs are systemd-networkd's directories, most important first: a
// file overrides a same-named one in a later directory.
var networkdDirs = []string{"/etc/systemd/network", "/run/systemd/network", "/usr/local/lib/systemd/network", "/usr/lib/systemd/network", "/lib/systemd/network"}

// iniLine is one "Key=Value" assignment of a unit-style file.
type iniLine struct {
	file, section, key, value string
	line                      int
	// sect counts the section headers of the file up to this line, which
	// tells two [Address] sections in a row apart.
	sect int
}

// parseINI reads a systemd unit-style file: sections, comments starting
// with # or ;, lines continued by a trailing backslash.
func parseINI(file string, data []byte) []iniLine {
	var out []iniLine
	section := ""
	sect := 0
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		l := strings.TrimSpace(lines[i])
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, "\\") + " " + strings.TrimSpace(lines[i])
		}
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' && strings.HasSuffix(l, "]") {
			section = l[1 : len(l)-1]
			sect++
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		out = append(out, iniLine{file: file, section: section, key: strings.TrimSpace(k), value: strings.TrimSpace(v), line: start, sect: sect})
	}
	return out
}

// listConfDirs lists the entries ending in suffix of dirs as systemd's
// conf_files_list() does: one per name, from the most important directory,
// sorted by name. masked are the names whose entry links to /dev/null.
func listConfDirs(root parsers.Root, dirs []string, suffix string) (files []string, masked map[string]string) {
	seen := map[string]string{}
	masked = map[string]string{}
	for _, dir := range dirs {
		_, des, _, err := root.ReadConfDir(dir)
		if err != nil {
			continue
		}
		for _, de := range des {
			n := de.Name()
			if !strings.HasSuffix(n, suffix) || strings.HasPrefix(n, ".") {
				continue
			}
			if _, ok := seen[n]; !ok {
				seen[n] = dir + "/" + n
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := seen[n]
		if r, _ := root.Chase(e); r == "/dev/null" {
			masked[n] = e
			continue
		}
		files = append(files, e)
	}
	return files, masked
}

// readNetworkd reads the .network files with their drop-ins.
func readNetworkd(root parsers.Root, c *Config) {
	files, _ := listConfDirs(root, networkdDirs, ".network")
	for _, file := range files {
		data, err := readChased(root, file)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				c.errorf(file, 0, err.Error())
			}
			continue
		}
		c.addFile(Networkd, file)
		lines := parseINI(file, data)
		name := path.Base(file)
		var dropDirs []string
		for _, d := range networkdDirs {
			dropDirs = append(dropDirs, d+"/"+name+".d")
		}
		dropins, _ := listConfDirs(root, dropDirs, ".conf")
		for _, d := range dropins {
			dd, err := readChased(root, d)
			if err != nil {
				continue
			}
			c.addFile(Networkd, d)
			lines = append(lines, parseINI(d, dd)...)
		}
		c.Profiles = append(c.Profiles, networkdProfile(c, file, name, lines))
	}
}

func readChased(root parsers.Root, file string) ([]byte, error) {
	r, err := root.Chase(file)
	if err != nil {
		return nil, err
	}
	return root.ReadRegular(r)
}

func networkdProfile(c *Config, file, name string, lines []iniLine) Profile {
	p := Profile{Tool: Networkd, Name: name, File: file, Order: name, Runtime: isRuntime(file)}
	matchGiven := false
	var inAddress *Addr
	flush := func() {
		if inAddress != nil && inAddress.Address != "" {
			p.Addresses = append(p.Addresses, *inAddress)
		}
		inAddress = nil
	}
	prevSect, prevFile := -1, ""
	for _, l := range lines {
		if l.sect != prevSect || l.file != prevFile {
			flush()
			if l.section == "Address" {
				inAddress = &Addr{}
			}
			prevSect, prevFile = l.sect, l.file
		}
		switch l.section + "." + l.key {
		case "Match.Name":
			if l.value == "" {
				p.Match.Names, p.Match.Invert = nil, false
				continue
			}
			v := l.value
			if strings.HasPrefix(v, "!") {
				p.Match.Invert = true
				v = strings.TrimPrefix(v, "!")
			}
			p.Match.Names = append(p.Match.Names, strings.Fields(v)...)
			matchGiven = true
		case "Match.MACAddress", "Match.PermanentMACAddress":
			if l.value == "" {
				p.Match.MACs = nil
				continue
			}
			for _, m := range strings.Fields(l.value) {
				p.Match.MACs = append(p.Match.MACs, normMAC(m))
			}
			matchGiven = true
		case "Network.Address":
			if a, ok := networkdAddr(c, file, l); ok {
				p.Addresses = append(p.Addresses, a)
			}
		case "Address.Address":
			if a, ok := networkdAddr(c, file, l); ok {
				*inAddress = a
			}
		case "Network.DHCP":
			switch strings.ToLower(l.value) {
			case "yes", "true", "1", "on", "both":
				p.DHCP = []string{"ipv4", "ipv6"}
			case "ipv4":
				p.DHCP = []string{"ipv4"}
			case "ipv6":
				p.DHCP = []string{"ipv6"}
			default:
				p.DHCP = nil
			}
		case "Link.Unmanaged":
			if yamlBool(l.value) || l.value == "1" {
				p.Inactive = "Unmanaged=yes"
			} else {
				p.Inactive = ""
			}
		default:
			if l.section == "Match" && l.value != "" {
				p.Match.Other = append(p.Match.Other, l.key+"="+l.value)
				matchGiven = true
			}
		}
	}
	flush()
	if !matchGiven {
		c.errorf(file, 0, "no valid settings found in the [Match] section, ignoring file (systemd-networkd)")
		p.Inactive = "no [Match] settings: systemd-networkd ignores the file"
	}
	return p
}

func networkdAddr(c *Config, file string, l iniLine) (Addr, bool) {
	a, ok := parseAddr(l.value, 32, 128)
	if !ok {
		c.errorf(l.file, l.line, fmt.Sprintf("systemd-networkd: Address=%s is not an address", l.value))
		return Addr{}, false
	}
	if a.Address == "0.0.0.0" || a.Address == "::" {
		return Addr{}, false // a pool networkd picks from at run time
	}
	a.Line = l.line
	if l.file != file {
		a.File = l.file
	}
	return a, true
}
