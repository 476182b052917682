package keepalived

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// topLevel reads the top-level blocks other than vrrp_instance that carry
// addresses: static_ipaddress, vrrp_sync_group, virtual_server,
// virtual_server_group and net_namespace.
func topLevel(nodes []*node, cfg *parsers.Config) {
	groups := map[string]string{} // sync group name -> condition of its block
	nsCond := ""                  // condition of the net_namespace line kept
	for _, n := range nodes {
		if n.words == nil {
			continue
		}
		if !rootKeywords[n.words[0]] {
			// keepalived skips the line and its block, and runs.
			addWarning(cfg, n.pos, fmt.Sprintf("Unknown keyword '%s'", n.words[0]))
			continue
		}
		switch n.words[0] {
		case "static_ipaddress":
			for _, a := range valueLines(n, cfg) {
				if vip, ok := parseVIP(a, cfg, true); ok {
					cfg.StaticAddresses = append(cfg.StaticAddresses, vip)
				}
			}
		case "vrrp_sync_group":
			if len(n.words) != 2 {
				addWarning(cfg, n.pos, "vrrp_sync_group must have a name - skipping")
				continue
			}
			name := n.words[1]
			if prev, dup := groups[name]; dup && !exclusive(prev, n.cond) {
				addWarning(cfg, n.pos, fmt.Sprintf("vrrp sync group %s already defined", name))
				continue
			}
			groups[name] = n.cond
			cfg.SyncGroups = append(cfg.SyncGroups, syncGroup(n, name, cfg))
		case "virtual_server":
			if vs, ok := virtualServer(n, cfg); ok {
				cfg.VirtualServers = append(cfg.VirtualServers, vs)
			}
		case "virtual_server_group":
			virtualServerGroup(n, cfg)
		case "net_namespace":
			switch {
			case len(n.words) < 2:
				addWarning(cfg, n.pos, "net_namespace name missing - ignoring")
			case cfg.NetNamespace != "" && exclusive(nsCond, n.cond):
				// Conditional alternatives: the first one stays.
			case cfg.NetNamespace != "":
				addWarning(cfg, n.pos, fmt.Sprintf("Duplicate net_namespace definition %s - ignoring", n.words[1]))
			default:
				cfg.NetNamespace, cfg.NetNamespacePos, nsCond = n.words[1], n.pos, n.cond
			}
		}
	}
}

// exclusive says whether two blocks of the same name may both be read
// without conflict because at least one of them depends on an undecided
// conditional line: keepalived, which knows its config id, may read only
// one of them.
func exclusive(condA, condB string) bool {
	return condA != condB && (condA != "" || condB != "")
}

// syncGroup reads a vrrp_sync_group block; the instance names are every
// word of its "group" block.
func syncGroup(n *node, name string, cfg *parsers.Config) parsers.SyncGroup {
	g := parsers.SyncGroup{Pos: n.pos, Name: name, Conditional: n.cond}
	haveGroup := false
	for _, c := range n.block {
		if c.words == nil || c.words[0] != "group" {
			continue
		}
		if haveGroup {
			addWarning(cfg, c.pos, fmt.Sprintf("Group list already specified for sync group %s", name))
			continue
		}
		haveGroup = true
		for _, l := range valueLines(c, cfg) {
			g.Instances = append(g.Instances, l.words...)
		}
		if len(g.Instances) == 0 {
			addWarning(cfg, endPos(c), fmt.Sprintf("Warning - sync group %s has empty group block", name))
		}
	}
	return g
}

// endPos is where a block ends: its '}', else (never closed) its start.
func endPos(n *node) parsers.Pos {
	if n.close.Line > 0 {
		return n.close
	}
	return n.pos
}

// ipvsFWMarkMax is the largest firewall mark keepalived takes for a
// virtual_server.
const ipvsFWMarkMax = math.MaxUint32

// rootKeywords are the keywords keepalived 2.2.7 knows outside any block
// (its install_keyword_root calls); any other word there gets "Unknown
// keyword" and keepalived skips the line with its block.
var rootKeywords = map[string]bool{
	"SSL": true, "bfd_instance": true, "child_wait_time": true, "garp_group": true, "global_defs": true,
	"instance": true, "interface_up_down_delays": true, "linkbeat_interfaces": true, "linkbeat_use_polling": true,
	"namespace_with_ipsets": true, "net_namespace": true, "net_namespace_ipvs": true, "static_ipaddress": true,
	"static_routes": true, "static_rules": true, "track_file": true, "track_group": true, "use_pid_dir": true,
	"virtual_server": true, "virtual_server_group": true, "vrrp_instance": true, "vrrp_script": true,
	"vrrp_sync_group": true, "vrrp_track_file": true, "vrrp_track_process": true,
}

// virtualServer reads "virtual_server IP [PORT]", "virtual_server fwmark N"
// or "virtual_server group NAME" and the protocol and real servers of its
// block, as keepalived's alloc_vs does.
func virtualServer(n *node, cfg *parsers.Config) (parsers.VirtualServer, bool) {
	errorf := func(format string, args ...any) {
		addWarning(cfg, n.pos, fmt.Sprintf(format, args...))
	}
	// keepalived exits on these two ("is missing a parameter after keyword
	// `virtual_server`": exit 2; with "group" and no name it crashes).
	fatalf := func(format string, args ...any) {
		addError(cfg, n.pos, fmt.Sprintf(format, args...))
	}
	vs := parsers.VirtualServer{Pos: n.pos, Conditional: n.cond}
	if len(n.words) < 2 {
		fatalf("virtual_server needs an address, 'fwmark N' or 'group NAME', keepalived stops on this line")
		return vs, false
	}
	p1, p2 := n.words[1], ""
	if len(n.words) > 2 {
		p2 = n.words[2]
	}
	vs.Raw = strings.Join(n.words[1:], " ")
	switch p1 {
	case "group":
		if p2 == "" {
			fatalf("virtual_server group needs a group name, keepalived stops on this line")
			return vs, false
		}
		vs.Group = p2
	case "fwmark":
		m, err := strconv.ParseUint(p2, 10, 32)
		if err != nil || m > ipvsFWMarkMax {
			errorf("virtual server fwmark '%s' must be in [0, %d] - ignoring", p2, uint64(ipvsFWMarkMax))
			return vs, false
		}
		vs.FWMark = uint32(m)
	default:
		a, port, ok := parseAddrPort(p1, p2)
		if !ok {
			if port := nonZeroPort(p2); port != "" {
				errorf("Invalid virtual server IP address/port %s/%s - skipping", p1, port)
			} else {
				errorf("Invalid virtual server IP address %s - skipping", p1)
			}
			return vs, false
		}
		vs.Addr, vs.Last, vs.Port = a, a, port
	}
	for _, c := range n.block {
		if c.words == nil {
			continue
		}
		switch c.words[0] {
		case "protocol":
			if len(c.words) < 2 {
				break
			}
			switch strings.ToLower(c.words[1]) {
			case "tcp":
				vs.Proto = parsers.TCP
			case "udp":
				vs.Proto = parsers.UDP
			case "sctp":
				vs.Proto = parsers.Proto("sctp")
			default:
				addWarning(cfg, c.pos, fmt.Sprintf("Unknown protocol %s - ignoring", c.words[1]))
			}
		case "real_server":
			vs.RealServers++
		}
	}
	return vs, true
}

// nonZeroPort is the port word keepalived passes on: none for a missing or
// all-zero port (a legacy way of saying "every port").
func nonZeroPort(p string) string {
	if strings.Trim(p, "0") == "" {
		return ""
	}
	return p
}

// parseAddrPort reads an address and optional port as keepalived's
// inet_stosockaddr does: the port must be 1-65535 (all zeros, or none,
// means every port), and anything after a '-' or '/' in the address is
// ignored.
func parseAddrPort(addr, port string) (netip.Addr, int, bool) {
	a, ok := parseSockAddr(addr)
	if !ok {
		return netip.Addr{}, 0, false
	}
	p := nonZeroPort(port)
	if p == "" {
		return a, 0, true
	}
	n, err := strconv.ParseUint(strings.TrimLeft(p, " \t"), 10, 32)
	if err != nil || n < 1 || n > 65535 {
		return netip.Addr{}, 0, false
	}
	return a, int(n), true
}

// virtualServerGroup reads a virtual_server_group block into
// cfg.VirtualServerGroups, one entry per line, as keepalived's
// alloc_vsg_entry does: "IP [PORT]", "IP-LASTBYTE [PORT]",
// "IP-IP [PORT]", "IP/MASK [PORT]" or "fwmark N [inet|inet6]".
func virtualServerGroup(n *node, cfg *parsers.Config) {
	if len(n.words) < 2 {
		addError(cfg, n.pos, "virtual_server_group needs a name, keepalived stops on this line")
		return
	}
	name := n.words[1]
	entries := 0
	for _, l := range valueLines(n, cfg) {
		if e, ok := vsgEntry(l, name, cfg); ok {
			cfg.VirtualServerGroups = append(cfg.VirtualServerGroups, e)
			entries++
		}
	}
	if entries == 0 {
		// keepalived finds out at the closing brace, and says so there.
		addWarning(cfg, endPos(n), fmt.Sprintf("virtual server group %s has no entries - removing", name))
	}
}

func vsgEntry(l *node, group string, cfg *parsers.Config) (parsers.VirtualServer, bool) {
	errorf := func(format string, args ...any) {
		addWarning(cfg, l.pos, fmt.Sprintf(format, args...))
	}
	raw := l.words[0]
	port := ""
	if len(l.words) > 1 {
		port = l.words[1]
	}
	e := parsers.VirtualServer{Pos: l.pos, Raw: strings.Join(l.words, " "), Group: group, Conditional: l.cond}
	if raw == "fwmark" {
		m, err := strconv.ParseUint(port, 10, 32)
		if err != nil {
			errorf("(%s): fwmark '%s' must be in [0, %d] - ignoring", group, port, uint64(math.MaxUint32))
			return e, false
		}
		if len(l.words) > 2 && l.words[2] != "inet" && l.words[2] != "inet6" {
			errorf("(%s): fwmark '%d' family %s unknown - ignoring", group, m, l.words[2])
			return e, false
		}
		e.FWMark = uint32(m)
		return e, true
	}
	first, p, ok := parseAddrPort(raw, port)
	if !ok {
		if port := nonZeroPort(port); port != "" {
			errorf("Invalid virtual server group IP address %s /port/%s - skipping", raw, port)
		} else {
			errorf("Invalid virtual server group IP address %s - skipping", raw)
		}
		return e, false
	}
	e.Addr, e.Last, e.Port = first, first, p
	if _, mask, ok := strings.Cut(raw, "/"); ok && !strings.Contains(raw, "-") {
		bits, err := strconv.Atoi(mask)
		if err != nil || bits < 1 || bits > first.BitLen() {
			errorf("Invalid netmask - %s - skipping", raw)
			return e, false
		}
		pfx := netip.PrefixFrom(first, bits)
		if pfx.Masked().Addr() != first {
			errorf("Address mask bits not empty - %s - skipping", raw)
			return e, false
		}
		e.Last = lastAddr(pfx)
		return e, true
	}
	_, end, ok := strings.Cut(raw, "-")
	if !ok {
		return e, true
	}
	if (first.Is4() && strings.Contains(end, ".")) || (first.Is6() && strings.Contains(end, ":")) {
		last, ok := parseSockAddr(end)
		switch {
		case !ok:
			errorf("Invalid range end %s - skipping", raw)
			return e, false
		case last.Is6() != first.Is6():
			errorf("Range address families do not match %s - skipping", raw)
			return e, false
		case last.Less(first):
			errorf("Address range end is less than address range start - %s - skipping", raw)
			return e, false
		}
		e.Last = last
		return e, true
	}
	// The end replaces the last byte (IPv4, decimal) or the last 16 bits
	// (IPv6, hexadecimal) of the first address.
	base, max := 10, uint64(255)
	if first.Is6() {
		base, max = 16, 0xffff
	}
	digits := len(end) - len(strings.TrimLeft(end, "0123456789abcdefABCDEF"[:base+(base-10)]))
	n, err := uint64(0), error(nil) // strtoul reads nothing as 0
	if digits > 0 {
		n, err = strconv.ParseUint(end[:digits], base, 64)
	}
	if digits < len(end) {
		errorf("Virtual server group range '%s' has extra characters at end '%s'", raw, end[digits:])
		return e, false
	}
	if err != nil || n > max {
		errorf("Virtual server group range '%s' end '%s' too large", raw, end)
		return e, false
	}
	b := first.AsSlice()
	start := uint64(b[len(b)-1])
	if first.Is6() {
		start = uint64(b[14])<<8 | start
		b[14] = byte(n >> 8)
	}
	b[len(b)-1] = byte(n)
	if start >= n {
		errorf("Address range end is not greater than address range start - %s - skipping", raw)
		return e, false
	}
	e.Last, _ = netip.AddrFromSlice(b)
	return e, true
}

// lastAddr is the highest address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
