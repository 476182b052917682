package netcfg

import (
	"net/netip"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// ifupdownMain is ifupdown's configuration file.
const ifupdownMain = "/etc/network/interfaces"

// sourceDirName is the file name rule of "source-directory" (run-parts').
var sourceDirName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// stanzaWords start a new stanza and end an iface stanza's options.
var stanzaWords = map[string]bool{"iface": true, "mapping": true, "auto": true, "source": true, "source-directory": true, "rename": true, "no-auto-down": true, "no-scripts": true}

// ifupdown is the state of one read of /etc/network/interfaces and the
// files it sources.
type ifupdown struct {
	root   parsers.Root
	c      *Config
	auto   map[string]bool // auto and allow-auto
	hotplg map[string]bool // allow-hotplug
	seen   map[string]bool // files read, against source loops
	ifaces []Profile
	// ups are the addresses of "up ip addr add" commands, each its own
	// profile matched by the command's dev.
	ups []Profile
}

// readIfupdown reads /etc/network/interfaces as ifup does: "source" and
// "source-directory" are followed in place; every iface stanza of an
// interface named on an auto, allow-auto or allow-hotplug line is brought up
// at boot (networking.service runs ifup -a, udev ifup --allow=hotplug). A
// stanza's address (with netmask), and the addresses its up, post-up and
// pre-up commands add with "ip addr add", are its addresses; ifupdown takes
// only the first address option of a stanza, and so does this reading.
func readIfupdown(root parsers.Root, c *Config) {
	if _, err := root.Stat(ifupdownMain); err != nil {
		return
	}
	u := &ifupdown{root: root, c: c, auto: map[string]bool{}, hotplg: map[string]bool{}, seen: map[string]bool{}}
	u.read(ifupdownMain, 0)
	for _, list := range [][]Profile{u.ifaces, u.ups} {
		for _, p := range list {
			stanza := p.Kind // the stanza's logical name, kept here until now
			p.Kind = ""
			if !u.auto[stanza] && !u.hotplg[stanza] {
				p.Inactive = "not marked auto or allow-hotplug"
			}
			p.hotplug = u.hotplg[stanza] && !u.auto[stanza]
			c.Profiles = append(c.Profiles, p)
		}
	}
}

func (u *ifupdown) read(file string, depth int) {
	if depth > 20 || u.seen[file] {
		return
	}
	u.seen[file] = true
	data, err := readChased(u.root, file)
	if err != nil {
		u.c.errorf(file, 0, err.Error())
		return
	}
	u.c.addFile(Ifupdown, file)
	var cur *Profile
	var stanzaName, method, family string
	var netmask string
	var addr *Addr
	finish := func() {
		if cur == nil {
			return
		}
		if addr != nil {
			a, ok := parseAddr(addr.Address, 32, 128)
			if ok && !strings.Contains(addr.Address, "/") && netmask == "" && family == "inet" {
				// ifupdown derives a missing netmask from the address
				// class, as ifup in a namespace shows: 10.55.0.5 -> /8.
				a.Prefix = classfulPrefix(a.Address)
			}
			if ok && !strings.Contains(addr.Address, "/") && netmask != "" {
				if n, err := strconv.Atoi(netmask); err == nil {
					a.Prefix = n
				} else if n, ok := maskBits(netmask); ok {
					a.Prefix = n
				}
			}
			if ok {
				a.Line = addr.Line
				cur.Addresses = append(cur.Addresses, a)
			} else {
				u.c.errorf(file, addr.Line, "ifupdown: address "+addr.Address+" is not an address")
			}
		}
		u.ifaces = append(u.ifaces, *cur)
		cur, addr, netmask = nil, nil, ""
	}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		l := strings.TrimSpace(lines[i])
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, "\\") + " " + strings.TrimSpace(lines[i])
		}
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Fields(l)
		word := f[0]
		if stanzaWords[word] || strings.HasPrefix(word, "allow-") {
			finish()
		}
		switch {
		case word == "auto" || word == "allow-auto":
			for _, n := range f[1:] {
				u.auto[n] = true
			}
		case word == "allow-hotplug":
			for _, n := range f[1:] {
				u.hotplg[n] = true
			}
		case word == "source" && len(f) > 1:
			for _, pat := range f[1:] {
				if !strings.HasPrefix(pat, "/") {
					pat = path.Join(path.Dir(file), pat)
				}
				u.c.Sources = append(u.c.Sources, pat)
				matches, _ := u.root.Glob(pat)
				for _, m := range matches {
					u.read(m, depth+1)
				}
			}
		case word == "source-directory" && len(f) > 1:
			for _, pat := range f[1:] {
				if !strings.HasPrefix(pat, "/") {
					pat = path.Join(path.Dir(file), pat)
				}
				dirs, _ := u.root.Glob(pat)
				if !strings.ContainsAny(pat, "*?[") {
					u.c.Sources = append(u.c.Sources, pat)
				} else {
					u.c.Sources = append(u.c.Sources, dirs...)
				}
				for _, d := range dirs {
					_, des, _, _ := u.root.ReadConfDir(d)
					var names []string
					for _, de := range des {
						if sourceDirName.MatchString(de.Name()) && !de.IsDir() {
							names = append(names, de.Name())
						}
					}
					sort.Strings(names)
					for _, n := range names {
						u.read(d+"/"+n, depth+1)
					}
				}
			}
		case word == "iface" && len(f) >= 4:
			stanzaName, family, method = f[1], f[2], f[3]
			dev, _, _ := strings.Cut(stanzaName, ":")
			cur = &Profile{Tool: Ifupdown, Name: stanzaName, Kind: stanzaName, File: file, Line: lineNo, Match: Match{Names: []string{dev}}, Runtime: isRuntime(file)}
			switch {
			case method == "dhcp" && family == "inet":
				cur.DHCP = []string{"ipv4"}
			case (method == "dhcp" || method == "auto") && family == "inet6":
				cur.DHCP = []string{"ipv6"}
			}
		case cur != nil:
			switch word {
			case "address":
				if addr == nil && len(f) > 1 && method == "static" {
					addr = &Addr{Address: f[1], Line: lineNo}
				}
			case "netmask":
				if len(f) > 1 {
					netmask = f[1]
				}
			case "up", "post-up", "pre-up":
				dev, _, _ := strings.Cut(stanzaName, ":")
				for _, a := range ipAddrAdd(f[1:], stanzaName, dev) {
					a.addr.Line = lineNo
					u.ups = append(u.ups, Profile{Tool: Ifupdown, Name: stanzaName, Kind: stanzaName, File: file, Line: lineNo, Match: Match{Names: []string{a.dev}}, Runtime: isRuntime(file), Addresses: []Addr{a.addr}})
				}
			}
		}
	}
	finish()
}

type devAddr struct {
	dev  string
	addr Addr
}

// ipAddrAdd reads the addresses an "ip addr add" command line adds: "ip
// [-4|-6] addr|address|a add|replace A[/P] ... dev DEV", with $IFACE
// standing for the stanza's interface. Commands joined by ";" or "&&" are
// each read; anything else adds nothing lbdoctor can know.
func ipAddrAdd(words []string, iface, dev string) []devAddr {
	var out []devAddr
	var cmd []string
	flush := func() {
		if a, ok := oneIPAddrAdd(cmd, iface, dev); ok {
			out = append(out, a)
		}
		cmd = nil
	}
	for _, w := range words {
		switch w {
		case ";", "&&", "||":
			flush()
			continue
		}
		if strings.HasSuffix(w, ";") {
			cmd = append(cmd, strings.TrimSuffix(w, ";"))
			flush()
			continue
		}
		cmd = append(cmd, w)
	}
	flush()
	return out
}

func oneIPAddrAdd(w []string, iface, dev string) (devAddr, bool) {
	if len(w) == 0 || (w[0] != "ip" && w[0] != "/sbin/ip" && w[0] != "/bin/ip" && w[0] != "/usr/sbin/ip" && w[0] != "/usr/bin/ip") {
		return devAddr{}, false
	}
	w = w[1:]
	for len(w) > 0 && strings.HasPrefix(w[0], "-") {
		w = w[1:]
	}
	if len(w) < 3 || !strings.HasPrefix("address", w[0]) || (w[1] != "add" && w[1] != "a" && w[1] != "replace") {
		return devAddr{}, false
	}
	a, ok := parseAddr(w[2], 32, 128)
	if !ok {
		return devAddr{}, false
	}
	d := ""
	for i := 3; i+1 < len(w); i++ {
		if w[i] == "dev" {
			d = w[i+1]
		}
	}
	switch d {
	case "":
		return devAddr{}, false
	case "$IFACE", "${IFACE}":
		d = dev
	}
	if d == iface {
		d = dev
	}
	return devAddr{dev: d, addr: a}, true
}

// classfulPrefix is the prefix of an IPv4 address's class: A /8, B /16,
// C /24, anything else /32.
func classfulPrefix(addr string) int {
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is4() {
		return 32
	}
	switch b := ip.As4()[0]; {
	case b < 128:
		return 8
	case b < 192:
		return 16
	case b < 224:
		return 24
	}
	return 32
}
