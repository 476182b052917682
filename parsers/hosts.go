package parsers

import (
	"bufio"
	"bytes"
	"net/netip"
	"slices"
	"strings"
)

// HostsFile answers host names the way glibc's "files" source does, from
// /etc/hosts below the root: every address listed for the name, in file
// order, without repeats. The file is read once, on the first look-up.
func HostsFile(root Root) func(name string) []netip.Addr {
	var names map[string][]netip.Addr
	return func(name string) []netip.Addr {
		if names == nil {
			names = map[string][]netip.Addr{}
			if data, err := root.ReadFile("/etc/hosts"); err == nil {
				parseHosts(data, names)
			}
		}
		return names[strings.ToLower(name)]
	}
}

func parseHosts(data []byte, names map[string][]netip.Addr) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		a, err := netip.ParseAddr(fields[0])
		if err != nil {
			continue
		}
		for _, n := range fields[1:] {
			n = strings.ToLower(n)
			if !slices.Contains(names[n], a) {
				names[n] = append(names[n], a)
			}
		}
	}
}
