package host

import (
	"errors"
	"fmt"
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
	for _, name := range []string{NonlocalBind4, NonlocalBind6, BindV6Only, UnprivilegedPortMin, LocalPortRange} {
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

// gatherRoutes fills f.Routes with the local routes of every table.
func gatherRoutes(f *Facts, names map[int]string) error {
	filter := &netlink.Route{Table: unix.RT_TABLE_UNSPEC, Type: unix.RTN_LOCAL}
	routes, err := retry("list local routes", func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_TYPE)
	})
	if err != nil {
		return err
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		if r.Family == unix.AF_INET {
			ip = ip.Unmap()
		}
		bits, _ := r.Dst.Mask.Size()
		p := netip.PrefixFrom(ip, bits)
		if !p.IsValid() {
			continue
		}
		f.Routes = append(f.Routes, Route{Prefix: p.String(), Interface: linkName(names, r.LinkIndex), Table: r.Table})
	}
	return nil
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
