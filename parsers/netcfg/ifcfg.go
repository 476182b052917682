package netcfg

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// ifcfgDir holds RHEL's ifcfg files.
const ifcfgDir = "/etc/sysconfig/network-scripts"

// ifcfgIgnored are the endings initscripts and NetworkManager's ifcfg-rh
// plugin skip.
var ifcfgIgnored = []string{"~", ".bak", ".old", ".orig", ".rpmnew", ".rpmorig", ".rpmsave"}

// readIfcfg reads /etc/sysconfig/network-scripts/ifcfg-*: DEVICE (else the
// name after "ifcfg-") or HWADDR says which interface, ONBOOT=no keeps it
// down at boot, BOOTPROTO=dhcp leases, and IPADDR, IPADDRn with PREFIX(n)
// or NETMASK(n), IPV6ADDR and IPV6ADDR_SECONDARIES are its static
// addresses (IPv6 ones unless IPV6INIT=no).
func readIfcfg(root parsers.Root, c *Config) {
	matches, _ := root.Glob(ifcfgDir + "/ifcfg-*")
	sort.Strings(matches)
	for _, file := range matches {
		skip := false
		for _, s := range ifcfgIgnored {
			if strings.HasSuffix(file, s) {
				skip = true
			}
		}
		if skip {
			continue
		}
		data, err := readChased(root, file)
		if err != nil {
			c.errorf(file, 0, err.Error())
			continue
		}
		c.addFile(Ifcfg, file)
		c.Profiles = append(c.Profiles, ifcfgProfile(c, file, data))
	}
}

type shellVar struct {
	value string
	line  int
}

// parseShellVars reads KEY=value lines with shell quoting ('...', "...").
func parseShellVars(data []byte) map[string]shellVar {
	vars := map[string]shellVar{}
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		l = strings.TrimPrefix(l, "export ")
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.ContainsAny(k, " \t") {
			continue
		}
		v = strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0]:
			v = v[1 : len(v)-1]
		default:
			if j := strings.Index(v, " #"); j >= 0 {
				v = strings.TrimSpace(v[:j])
			}
		}
		vars[k] = shellVar{v, i + 1}
	}
	return vars
}

func ifcfgProfile(c *Config, file string, data []byte) Profile {
	vars := parseShellVars(data)
	dev := strings.TrimPrefix(path.Base(file), "ifcfg-")
	if d, ok := vars["DEVICE"]; ok && d.value != "" {
		dev = d.value
	}
	name, _, _ := strings.Cut(dev, ":") // an alias file, ifcfg-eth0:1
	p := Profile{Tool: Ifcfg, Name: dev, File: file, Line: 1}
	if d, ok := vars["DEVICE"]; ok {
		p.Line = d.line
	}
	_, hasDevice := vars["DEVICE"]
	if hw, ok := vars["HWADDR"]; ok && hw.value != "" {
		p.Match.MACs = []string{normMAC(hw.value)}
		if !hasDevice {
			name = "" // HWADDR alone: the interface of that MAC, whatever its name
		}
	}
	if name != "" {
		p.Match.Names = []string{name}
	}
	if v, ok := vars["ONBOOT"]; ok && !ifcfgYes(v.value) {
		p.Inactive = "ONBOOT=" + v.value
	}
	if v := strings.ToLower(vars["BOOTPROTO"].value); v == "dhcp" || v == "bootp" {
		p.DHCP = append(p.DHCP, "ipv4")
	}
	// IPADDR, then IPADDR0 .. IPADDR255, each with its PREFIX or NETMASK.
	suffixes := []string{""}
	for n := range 256 {
		suffixes = append(suffixes, strconv.Itoa(n))
	}
	for _, n := range suffixes {
		v, ok := vars["IPADDR"+n]
		if !ok || v.value == "" {
			continue
		}
		prefix := 32
		if pv, ok := vars["PREFIX"+n]; ok {
			if x, err := strconv.Atoi(pv.value); err == nil {
				prefix = x
			}
		} else if mv, ok := vars["NETMASK"+n]; ok {
			if x, ok := maskBits(mv.value); ok {
				prefix = x
			}
		}
		a, ok := parseAddr(v.value, prefix, -1)
		if !ok || !strings.Contains(a.Address, ".") {
			c.errorf(file, v.line, fmt.Sprintf("ifcfg: IPADDR%s=%s is not an IPv4 address", n, v.value))
			continue
		}
		a.Line, a.Key = v.line, "IPADDR"+n
		p.Addresses = append(p.Addresses, a)
	}
	ipv6 := true
	if v, ok := vars["IPV6INIT"]; ok && !ifcfgYes(v.value) {
		ipv6 = false
	}
	if ipv6 {
		if v, ok := vars["IPV6_AUTOCONF"]; (!ok && vars["IPV6ADDR"].value == "") || (ok && ifcfgYes(v.value)) {
			if _, init := vars["IPV6INIT"]; init {
				p.DHCP = append(p.DHCP, "ipv6")
			}
		}
		for _, key := range []string{"IPV6ADDR", "IPV6ADDR_SECONDARIES"} {
			v, ok := vars[key]
			if !ok {
				continue
			}
			for _, w := range strings.Fields(v.value) {
				a, ok := parseAddr(w, -1, 64)
				if !ok || strings.Contains(a.Address, ".") {
					c.errorf(file, v.line, fmt.Sprintf("ifcfg: %s=%s is not an IPv6 address", key, w))
					continue
				}
				a.Line, a.Key = v.line, key
				p.Addresses = append(p.Addresses, a)
			}
		}
	}
	return p
}

func ifcfgYes(v string) bool {
	switch strings.ToLower(v) {
	case "yes", "y", "true", "1", "on":
		return true
	}
	return false
}
