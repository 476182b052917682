package nginx

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// hostsFile answers getaddrinfo() for a listen host name the way glibc's
// "files" source does, from /etc/hosts below the root: every address listed
// for the name, in file order, without repeats. It is read once, on the
// first name that needs it.
type hostsFile struct {
	root   parsers.Root
	loaded bool
	names  map[string][]netip.Addr // lower-case name -> addresses
}

func (h *hostsFile) lookup(name string) []netip.Addr {
	if !h.loaded {
		h.loaded = true
		h.names = map[string][]netip.Addr{}
		if data, err := h.root.ReadFile("/etc/hosts"); err == nil {
			h.parse(data)
		}
	}
	return h.names[strings.ToLower(name)]
}

func (h *hostsFile) parse(data []byte) {
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
			if !containsAddr(h.names[n], a) {
				h.names[n] = append(h.names[n], a)
			}
		}
	}
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, b := range list {
		if a == b {
			return true
		}
	}
	return false
}
