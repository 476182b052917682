package host

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/netip"
	"os"
	"path/filepath"
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
	for _, name := range []string{NonlocalBind4, NonlocalBind6, BindV6Only, UnprivilegedPortMin} {
		path := filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
		b, err := os.ReadFile(path)
		if err != nil {
			continue // absent on this kernel, or no IPv6: the facts say unknown
		}
		f.Sysctls[name] = strings.TrimSpace(string(b))
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
		f.Interfaces = append(f.Interfaces, Interface{Name: a.Name, Index: a.Index, Up: a.Flags&net.FlagUp != 0})
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
	merged, err := localTableMerged(filepath.Join(procRoot, "net"))
	if err != nil {
		return fmt.Errorf("gather host facts: %w", err)
	}
	f.LocalTableMerged = merged
	looked := func(table int) bool { return table == unix.RT_TABLE_LOCAL || merged && table == unix.RT_TABLE_MAIN }
	// routes are the candidates in the kernel's order, which decides
	// among equal ones; other marks the IPv4 routes bind() sees but does
	// not accept, kept only inside a prefix of bindable.
	var routes []Route
	var other []bool
	bindable := map[netip.Prefix]bool{}
	filter := &netlink.Route{Table: unix.RT_TABLE_UNSPEC}
	_, err = retry("list routes", func() (struct{}, error) {
		routes, other = routes[:0], other[:0]
		clear(bindable)
		return struct{}{}, netlink.RouteListFilteredIter(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE, func(r netlink.Route) bool {
			if r.Dst == nil {
				return true
			}
			ip, ok := netip.AddrFromSlice(r.Dst.IP)
			if !ok {
				return true
			}
			v4 := r.Family == unix.AF_INET
			if v4 {
				ip = ip.Unmap()
			}
			bits, _ := r.Dst.Mask.Size()
			p := netip.PrefixFrom(ip, bits)
			// bind()'s lookup asks with TOS 0, so a route for another
			// TOS never answers it, and it skips dead routes.
			if !p.IsValid() || v4 && (r.Tos != 0 || r.Flags&unix.RTNH_F_DEAD != 0) {
				return true
			}
			route := Route{Prefix: p.String(), Interface: linkName(names, r.LinkIndex), Table: r.Table, Metric: r.Priority}
			if r.Type != unix.RTN_LOCAL {
				route.Type = routeType(r.Type)
			}
			if r.Type != unix.RTN_LOCAL && (!v4 || !looked(r.Table)) {
				return true
			}
			routes = append(routes, route)
			other = append(other, !route.Bindable())
			if v4 && looked(r.Table) && route.Bindable() {
				bindable[p.Masked()] = true
			}
			return true
		})
	})
	if err != nil {
		return err
	}
	for i, r := range routes {
		if !other[i] {
			f.Routes = append(f.Routes, r)
			continue
		}
		p := netip.MustParsePrefix(r.Prefix)
		for b := p.Bits(); b >= 0; b-- {
			if q, _ := p.Addr().Prefix(b); bindable[q] {
				f.Routes = append(f.Routes, r)
				break
			}
		}
	}
	return nil
}

// localTableMerged reports whether the kernel keeps tables local and main
// in one trie (fib_trie's "alias" table), which it does until the first ip
// rule is added or deleted; no interface says so directly, but the trie
// files under dir (/proc/net) then show table local and table main with
// the same content, which two separate tables of their usual content never
// have. fib_triestat is small and settles the common case; fib_trie
// confirms an equal one. Without those files (no /proc), the tables count
// as split, the answer that looks in table local only.
func localTableMerged(dir string) (bool, error) {
	same, err := sameTrieSections(filepath.Join(dir, "fib_triestat"))
	if err != nil || !same {
		return false, err
	}
	return sameTrieSections(filepath.Join(dir, "fib_trie"))
}

// sameTrieSections reports whether the "Main:" and "Local:" sections of a
// fib_trie or fib_triestat file are present and have the same lines. A
// file that does not exist says no.
func sameTrieSections(path string) (bool, error) {
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	defer file.Close()
	sums := map[string]hash.Hash{}
	var cur hash.Hash
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		// A section starts at an unindented "Name:" line: "Main:",
		// "Local:", "Id 100:".
		if len(line) > 0 && line[0] != ' ' && line[0] != '\t' && bytes.HasSuffix(line, []byte(":")) {
			cur = nil
			if name := string(line); name == "Main:" || name == "Local:" {
				cur = sha256.New()
				sums[name] = cur
			}
			continue
		}
		if cur != nil {
			cur.Write(line)
			cur.Write([]byte{'\n'})
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	m, l := sums["Main:"], sums["Local:"]
	return m != nil && l != nil && bytes.Equal(m.Sum(nil), l.Sum(nil)), nil
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
	return out
}
