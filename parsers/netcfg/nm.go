package netcfg

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// nmDirs are NetworkManager's keyfile directories.
var nmDirs = []string{"/etc/NetworkManager/system-connections", "/run/NetworkManager/system-connections", "/usr/lib/NetworkManager/system-connections"}

// nmIgnored are the file name endings NetworkManager's keyfile plugin skips.
var nmIgnored = []string{"~", ".bak", ".orig", ".rej", ".swp", ".tmp", ".nmmeta", ".dpkg-dist", ".dpkg-old", ".dpkg-new", ".rpmnew", ".rpmsave", ".rpmorig"}

// readNetworkManager reads NetworkManager keyfiles: *.nmconnection, and in
// /etc also the older keyfiles without an extension. A profile applies to the
// interface named by [connection] interface-name (or [match]
// interface-name), else to the MAC of [ethernet] mac-address, else to any
// interface; it is applied at boot unless autoconnect=false. Its static
// addresses are [ipv4] and [ipv6] address1=..., addresses1=..., as long as
// the method is not disabled or ignore.
func readNetworkManager(root parsers.Root, c *Config) {
	for _, dir := range nmDirs {
		_, des, _, err := root.ReadConfDir(dir)
		if err != nil {
			continue
		}
		var names []string
		for _, de := range des {
			n := de.Name()
			if de.IsDir() || strings.HasPrefix(n, ".") {
				continue
			}
			skip := false
			for _, s := range nmIgnored {
				if strings.HasSuffix(n, s) {
					skip = true
				}
			}
			if skip || (!strings.HasSuffix(n, ".nmconnection") && (dir != nmDirs[0] || strings.Contains(n, "."))) {
				continue
			}
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			file := dir + "/" + n
			data, err := readChased(root, file)
			if err != nil {
				c.errorf(file, 0, err.Error())
				continue
			}
			c.addFile(NetworkManager, file)
			c.Profiles = append(c.Profiles, nmProfile(c, file, parseKeyfile(data)))
		}
	}
}

// parseKeyfile reads a GLib key file: [section] and key=value lines,
// comments starting with # or ;.
func parseKeyfile(data []byte) []iniLine {
	var out []iniLine
	section := ""
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == ';' {
			continue
		}
		if l[0] == '[' && strings.HasSuffix(l, "]") {
			section = l[1 : len(l)-1]
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if ok {
			out = append(out, iniLine{section: section, key: strings.TrimSpace(k), value: strings.TrimSpace(v), line: i + 1})
		}
	}
	return out
}

func nmProfile(c *Config, file string, lines []iniLine) Profile {
	p := Profile{Tool: NetworkManager, Name: strings.TrimSuffix(path.Base(file), ".nmconnection"), File: file, Runtime: isRuntime(file)}
	methods := map[string]string{}
	type pending struct {
		family string
		l      iniLine
	}
	var addrs []pending
	for _, l := range lines {
		switch {
		case l.section == "connection" && l.key == "id":
			p.Name = l.value
			p.Line = l.line
		case l.section == "connection" && l.key == "type":
			p.Kind = l.value
		case l.section == "connection" && l.key == "interface-name" && l.value != "":
			p.Match.Names = []string{l.value}
		case l.section == "match" && l.key == "interface-name" && l.value != "":
			for _, n := range strings.Split(l.value, ";") {
				if n = strings.TrimSpace(n); n != "" {
					p.Match.Names = append(p.Match.Names, strings.TrimLeft(n, "~|&"))
				}
			}
		case (l.section == "ethernet" || l.section == "802-3-ethernet") && l.key == "mac-address" && l.value != "":
			p.Match.MACs = []string{normMAC(l.value)}
		case l.section == "connection" && l.key == "autoconnect":
			if !yamlBool(l.value) && l.value != "1" {
				p.Inactive = "autoconnect=false"
			}
		case (l.section == "ipv4" || l.section == "ipv6") && l.key == "method":
			methods[l.section] = l.value
		case (l.section == "ipv4" || l.section == "ipv6") && isNMAddressKey(l.key):
			addrs = append(addrs, pending{l.section, l})
		}
	}
	if len(p.Match.Names) == 0 && len(p.Match.MACs) == 0 {
		// Without interface-name or MAC, NetworkManager may activate the
		// profile on any device of its type.
		p.Match.Names = []string{"*"}
		if p.Kind != "" {
			p.Match.Other = []string{"type=" + p.Kind}
		}
	}
	for _, fam := range []string{"ipv4", "ipv6"} {
		switch m := methods[fam]; {
		case fam == "ipv4" && m == "auto":
			p.DHCP = append(p.DHCP, "ipv4")
		case fam == "ipv6" && (m == "auto" || m == "dhcp"):
			p.DHCP = append(p.DHCP, "ipv6")
		}
	}
	for _, a := range addrs {
		if m := methods[a.family]; m == "disabled" || m == "ignore" || m == "link-local" {
			continue
		}
		def4, def6 := 24, 64
		items := strings.Split(a.l.value, ";")
		if !strings.Contains(a.l.value, "/") && len(items) >= 2 {
			// The old form "A;P;GW;": the prefix follows the address.
			if n, err := strconv.Atoi(strings.TrimSpace(items[1])); err == nil {
				def4, def6 = n, n
			}
			items = items[:1]
		}
		// address1=10.0.0.5/24,10.0.0.1: the gateway after a comma.
		for _, item := range items {
			item, _, _ = strings.Cut(strings.TrimSpace(item), ",")
			if item == "" {
				continue
			}
			ad, ok := parseAddr(item, def4, def6)
			if !ok {
				c.errorf(file, a.l.line, fmt.Sprintf("NetworkManager: %s=%s is not an address", a.l.key, a.l.value))
				continue
			}
			ad.Line = a.l.line
			p.Addresses = append(p.Addresses, ad)
		}
	}
	return p
}

// isNMAddressKey matches address, addresses, addressN and addressesN.
func isNMAddressKey(k string) bool {
	for _, base := range []string{"addresses", "address"} {
		if rest, ok := strings.CutPrefix(k, base); ok {
			if rest == "" {
				return true
			}
			_, err := strconv.Atoi(rest)
			return err == nil
		}
	}
	return false
}
