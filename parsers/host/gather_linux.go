package host

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// procRoot is where Gather reads /proc; tests of the owner scan use their
// own tree.
const procRoot = "/proc"

// dumpRetries is how often a netlink dump interrupted by a concurrent
// change is repeated before Gather gives up.
const dumpRetries = 5

// Gather reads the live host lbdoctor runs on (its current network
// namespace), read-only: links and addresses and local routes through
// rtnetlink, sysctls from /proc/sys, listening sockets through sock_diag and
// their owners from /proc/*/fd.
func Gather() (*Facts, error) {
	f := &Facts{Source: "live", Sysctls: map[string]string{}}
	var err error
	if f.Hostname, err = os.Hostname(); err != nil {
		return nil, fmt.Errorf("gather host facts: hostname: %w", err)
	}
	if _, err := os.Stat("/proc/sys/net/ipv6"); errors.Is(err, os.ErrNotExist) {
		f.NoIPv6 = true
	}
	names, err := gatherLinks(f)
	if err != nil {
		return nil, err
	}
	if err := gatherAddresses(f, names); err != nil {
		return nil, err
	}
	if err := gatherRoutes(f, names); err != nil {
		return nil, err
	}
	names6 := slices.Clone(BindSysctls)
	for _, itf := range f.Interfaces {
		names6 = append(names6, DisableIPv6(itf.Name))
	}
	for _, name := range names6 {
		// The dotted name's slashes stand for dots in an interface name.
		path := filepath.Join("/proc/sys", strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(name, ".", "\x00"), "/", "."), "\x00", "/"))
		b, err := os.ReadFile(path)
		if err != nil {
			continue // absent on this kernel, or no IPv6: the facts say unknown
		}
		f.Sysctls[name] = strings.Join(strings.Fields(string(b)), " ")
	}
	if b, err := os.ReadFile(filepath.Join(procRoot, "cmdline")); err == nil {
		f.Cmdline = strings.TrimSpace(string(b))
	}
	socks, err := listeningSockets(!f.NoIPv6)
	if err != nil {
		return nil, fmt.Errorf("gather host facts: sockets: %w", err)
	}
	for _, s := range socks {
		s.Interface = linkName(names, s.ifindex)
		f.Sockets = append(f.Sockets, s.Socket)
	}
	f.UnknownOwners = findOwners(procRoot, f.Sockets)
	f.sort()
	return f, nil
}

// retry repeats a netlink dump that the kernel marked as interrupted (the
// tables changed while it was read), so the facts are one consistent view.
func retry[T any](what string, dump func() (T, error)) (T, error) {
	var v T
	var err error
	for range dumpRetries {
		v, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return v, fmt.Errorf("gather host facts: %s: %w", what, err)
	}
	return v, nil
}

// gatherLinks fills f.Interfaces and returns the names by index.
func gatherLinks(f *Facts) (map[int]string, error) {
	links, err := retry("list links", netlink.LinkList)
	if err != nil {
		return nil, err
	}
	names := make(map[int]string, len(links))
	for _, l := range links {
		a := l.Attrs()
		names[a.Index] = a.Name
		itf := Interface{Name: a.Name, Index: a.Index, Up: a.Flags&net.FlagUp != 0}
		if len(a.HardwareAddr) == 6 && a.HardwareAddr.String() != "00:00:00:00:00:00" {
			itf.MAC = a.HardwareAddr.String()
		}
		f.Interfaces = append(f.Interfaces, itf)
	}
	return names, nil
}

func gatherAddresses(f *Facts, names map[int]string) error {
	addrs, err := retry("list addresses", func() ([]netlink.Addr, error) {
		return netlink.AddrList(nil, netlink.FAMILY_ALL)
	})
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		family := "ipv6"
		if ip.Is4() {
			family = "ipv4"
		}
		bits, _ := a.Mask.Size()
		f.Addresses = append(f.Addresses, Address{
			Address:   ip.String(),
			Prefix:    bits,
			Interface: linkName(names, a.LinkIndex),
			Family:    family,
			Flags:     addrFlags(a.Flags, family),
		})
	}
	return nil
}

// gatherRoutes fills f.Routes with what decides IPv4 bind(): the local
// routes of every table and family, and the IPv4 routes of other types in
// table local, and in table main while the two are merged, that lie inside
// a local, broadcast or multicast route of those tables (outside one they
// change no verdict: the address is not bindable either way, and a full
// routing table in main stays out of the facts).
func gatherRoutes(f *Facts, names map[int]string) error {
	statPath := filepath.Join(procRoot, "net", "fib_triestat")
	var d routeDump
	for range dumpRetries {
		before, err := readTrieStat(statPath)
		if err != nil {
			return fmt.Errorf("gather host facts: %w", err)
		}
		if _, err := retry("list routes", func() (struct{}, error) { return struct{}{}, d.run() }); err != nil {
			return err
		}
		after, err := readTrieStat(statPath)
		if err != nil {
			return fmt.Errorf("gather host facts: %w", err)
		}
		f.LocalTableMerged = after.merged(d.count)
		if before == after {
			break
		}
		// The tables changed under the dump: once more, for one view.
	}
	looked := func(table int) bool {
		return table == unix.RT_TABLE_LOCAL || f.LocalTableMerged && table == unix.RT_TABLE_MAIN
	}
	bindable := map[netip.Prefix]bool{}
	for _, r := range d.routes {
		if r.v4 && r.bindable && looked(r.table) {
			bindable[r.prefix.Masked()] = true
		}
	}
	var kept []dumpedRoute
	for _, r := range d.routes {
		switch {
		case r.typ == unix.RTN_LOCAL:
			kept = append(kept, r)
		case !r.v4 || !looked(r.table):
		case r.bindable:
			kept = append(kept, r)
		default:
			for b := r.prefix.Bits(); b >= 0; b-- {
				if q, _ := r.prefix.Addr().Prefix(b); bindable[q] {
					kept = append(kept, r)
					break
				}
			}
		}
	}
	for _, r := range kept {
		route := Route{Prefix: r.prefix.String(), Interface: linkName(names, r.ifindex), Table: r.table, Metric: r.metric}
		if r.typ != unix.RTN_LOCAL {
			route.Type = routeType(r.typ)
		}
		f.Routes = append(f.Routes, route)
	}
	return nil
}

// routeDump is one netlink dump of every routing table, cut down to the
// routes gatherRoutes may keep, in the kernel's order (which decides among
// routes of one table, prefix and metric).
type routeDump struct {
	routes []dumpedRoute
	// count is the number of IPv4 routes in table local and in table
	// main, of every kind, as fib_triestat counts them.
	count [2]int
}

// dumpedRoute is a route in few bytes: a full table in main passes here.
type dumpedRoute struct {
	prefix                      netip.Prefix
	table, typ, metric, ifindex int
	v4, bindable                bool
}

func (d *routeDump) run() error {
	d.routes, d.count = d.routes[:0], [2]int{}
	filter := &netlink.Route{Table: unix.RT_TABLE_UNSPEC}
	return netlink.RouteListFilteredIter(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE, func(r netlink.Route) bool {
		v4 := r.Family == unix.AF_INET
		if v4 && r.Table == unix.RT_TABLE_LOCAL {
			d.count[0]++
		} else if v4 && r.Table == unix.RT_TABLE_MAIN {
			d.count[1]++
		}
		if r.Dst == nil || !v4 && r.Type != unix.RTN_LOCAL {
			return true
		}
		if v4 && r.Table != unix.RT_TABLE_LOCAL && r.Table != unix.RT_TABLE_MAIN && r.Type != unix.RTN_LOCAL {
			return true
		}
		ip, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			return true
		}
		if v4 {
			ip = ip.Unmap()
		}
		bits, _ := r.Dst.Mask.Size()
		p := netip.PrefixFrom(ip, bits)
		// bind()'s lookup asks with TOS 0, so a route for another TOS
		// never answers it, and it skips dead routes.
		if !p.IsValid() || v4 && (r.Tos != 0 || r.Flags&unix.RTNH_F_DEAD != 0) {
			return true
		}
		t := routeType(r.Type)
		if t == "" {
			return true // no such type in the kernel's uapi
		}
		d.routes = append(d.routes, dumpedRoute{
			prefix: p, table: r.Table, typ: r.Type, metric: r.Priority, ifindex: r.LinkIndex,
			v4: v4, bindable: Route{Type: t}.Bindable(),
		})
		return true
	})
}

// trieStat is what /proc/net/fib_triestat says of tables main and local.
type trieStat struct {
	present   bool     // both sections are there
	same      bool     // with the same statistics
	local     [32]byte // a digest of table local's, to see a change
	localSize int      // its "Prefixes:", the number of routes in its trie
}

// merged reports whether the kernel keeps tables local and main in one trie
// (fib_trie's alias table), which it does until the first ip rule is added
// or deleted: no interface says so directly, but then both tables show the
// statistics of that one trie, whose routes are those of both tables
// (count, from a route dump taken between two reads of the same stat). When
// table main is empty the answer makes no difference, and it is false.
func (s trieStat) merged(count [2]int) bool {
	return s.present && s.same && count[1] > 0 && s.localSize == count[0]+count[1]
}

// readTrieStat reads fib_triestat; a missing file (no /proc) reads as no
// sections, and the tables count as split, the answer that looks in table
// local only.
func readTrieStat(path string) (trieStat, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return trieStat{}, nil
	}
	if err != nil {
		return trieStat{}, fmt.Errorf("read %s: %w", path, err)
	}
	sections := map[string][]byte{}
	var cur string
	for line := range bytes.Lines(b) {
		// A section starts at an unindented "Name:" line: "Main:",
		// "Local:", "Id 100:"; "Counters:" (per-trie lookup counts, with
		// CONFIG_IP_FIB_TRIE_STATS) ends one.
		if t := bytes.TrimRight(line, "\n"); len(t) > 0 && t[0] != ' ' && t[0] != '\t' && bytes.HasSuffix(t, []byte(":")) {
			cur = string(t)
			continue
		}
		sections[cur] = append(sections[cur], line...)
	}
	m, okM := sections["Main:"]
	l, okL := sections["Local:"]
	s := trieStat{present: okM && okL, same: bytes.Equal(m, l), local: sha256.Sum256(l)}
	for line := range bytes.Lines(l) {
		if v, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("Prefixes:")); ok {
			s.localSize, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	return s, nil
}

func linkName(names map[int]string, index int) string {
	if index == 0 {
		return ""
	}
	if n, ok := names[index]; ok {
		return n
	}
	return fmt.Sprintf("if%d", index)
}

// addrFlags names IFA_F_* bits the way ip(8) prints them: bit 0 is
// "secondary" on IPv4 and "temporary" on IPv6; bits it has no name for are
// kept as hex so nothing is lost.
func addrFlags(flags int, family string) []string {
	known := []struct {
		bit  int
		name string
	}{
		{unix.IFA_F_SECONDARY, "secondary"},
		{unix.IFA_F_NODAD, "nodad"},
		{unix.IFA_F_OPTIMISTIC, "optimistic"},
		{unix.IFA_F_DADFAILED, "dadfailed"},
		{unix.IFA_F_HOMEADDRESS, "home"},
		{unix.IFA_F_DEPRECATED, "deprecated"},
		{unix.IFA_F_TENTATIVE, "tentative"},
		{unix.IFA_F_PERMANENT, "permanent"},
		{unix.IFA_F_MANAGETEMPADDR, "mngtmpaddr"},
		{unix.IFA_F_NOPREFIXROUTE, "noprefixroute"},
		{unix.IFA_F_MCAUTOJOIN, "autojoin"},
		{unix.IFA_F_STABLE_PRIVACY, "stable-privacy"},
	}
	var out []string
	for _, k := range known {
		if flags&k.bit == 0 {
			continue
		}
		flags &^= k.bit
		name := k.name
		if k.bit == unix.IFA_F_SECONDARY && family == "ipv6" {
			name = "temporary"
		}
		out = append(out, name)
	}
	if flags != 0 {
		out = append(out, fmt.Sprintf("0x%x", flags))
	}
	if !slices.Contains(out, "permanent") {
		out = append(out, "dynamic")
	}
	return out
}

// StatUnixPaths records what is at each unix socket path now: a socket
// file or not, and whether a socket bound to it listens in this network
// namespace (/proc/net/unix). It only reads.
func StatUnixPaths(paths []string) []UnixPath {
	if len(paths) == 0 {
		return nil
	}
	listening := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(procRoot, "net", "unix")); err == nil {
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// Num RefCount Protocol Flags Type St Inode Path; flag
			// 0x10000 (__SO_ACCEPTCON) marks a listening socket.
			fs := strings.Fields(line)
			if len(fs) < 8 || fs[3] != "00010000" {
				continue
			}
			listening[fs[7]] = true
		}
	}
	var out []UnixPath
	for _, p := range paths {
		u := UnixPath{Path: p}
		if st, err := os.Lstat(p); err == nil && st.Mode().Type() == os.ModeSocket {
			u.Socket = true
		}
		for name := range listening {
			// HAProxy binds PATH.PID.tmp and renames it to PATH: the
			// kernel keeps the bound name.
			if name == p || (strings.HasPrefix(name, p+".") && strings.HasSuffix(name, ".tmp")) {
				u.Listening = true
			}
		}
		out = append(out, u)
	}
	return out
}
