package host

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
)

// tableLocal is RT_TABLE_LOCAL, the only table inet_bind consults for a
// socket that is not bound to a VRF device.
const tableLocal = 255

// tableMain is RT_TABLE_MAIN, which the kernel merges into table local
// until the first ip rule changes.
const tableMain = 254

// Sysctl returns the value of the named sysctl ("net.ipv4.ip_nonlocal_bind"),
// or "" when the facts do not know it.
func (f *Facts) Sysctl(name string) string {
	return f.Sysctls[name]
}

// IsLocal reports whether bind() would accept a as a local address, the way
// the kernel's inet_bind and inet6_bind decide before they look at
// ip_nonlocal_bind, IP_FREEBIND or IP_TRANSPARENT (callers weigh those).
// When a is not local, why says so in a short phrase naming the address.
//
// IPv4 follows the routes, as inet_addr_type_table does: multicast
// addresses (224.0.0.0/4) and 255.255.255.255 are accepted by their class;
// any other address is looked up in table local, and the longest prefix
// that covers it decides by its type: local (every configured address, even
// on a down interface, the whole of 127.0.0.0/8, AnyIP ranges such as "ip
// route add local 10.9.0.0/24 dev lo"), broadcast (a subnet's broadcast
// address while its link is up) and multicast are accepted; unicast,
// anycast, blackhole, unreachable, prohibit, throw and the rest are not,
// and hide a shorter local route. At one prefix, table local's route comes
// before table main's, then the lowest metric, then the facts' order.
// While tables local and main are merged (LocalTableMerged), the lookup
// sees table main's routes too; routes in other tables never count.
//
// IPv6 follows the addresses: a is local when it is configured and has
// finished duplicate address detection (optimistic and nodad addresses
// count, tentative and dadfailed ones do not). A link-local address with a
// zone must sit on that interface; without a zone any interface will do,
// since the missing scope is a different failure (EINVAL) that callers
// report themselves. Multicast is accepted (for UDP: TCP refuses IPv6
// multicast with EINVAL, a different failure again). IPv4-mapped addresses are
// judged as IPv4. The wildcards 0.0.0.0 and :: are always local.
func (f *Facts) IsLocal(a netip.Addr) (ok bool, why string) {
	if !a.IsValid() {
		return false, "invalid address"
	}
	zone := a.Zone()
	a = a.WithZone("")
	if a.IsUnspecified() {
		return true, ""
	}
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is4() {
		return f.isLocal4(a)
	}
	return f.isLocal6(a, zone)
}

func (f *Facts) isLocal4(a netip.Addr) (bool, string) {
	if a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true, ""
	}
	best, bestBits, bestRank := -1, -1, 0
	hidden := -1 // the longest bindable route the best one hides
	otherTable := 0
	for i, r := range f.Routes {
		p, err := netip.ParsePrefix(r.Prefix)
		if err != nil || !p.Addr().Is4() || !p.Contains(a) {
			continue
		}
		rank, seen := f.lookupRank(r.Table)
		if !seen {
			if r.TypeName() == "local" {
				otherTable = r.Table
			}
			continue
		}
		b := p.Bits()
		if r.Bindable() && (hidden < 0 || b > netip.MustParsePrefix(f.Routes[hidden].Prefix).Bits()) {
			hidden = i
		}
		if best < 0 || b > bestBits || b == bestBits && (rank < bestRank || rank == bestRank && r.Metric < f.Routes[best].Metric) {
			best, bestBits, bestRank = i, b, rank
		}
	}
	if best >= 0 {
		r := f.Routes[best]
		if r.Bindable() {
			return true, ""
		}
		table := "table local"
		if bestRank > 0 {
			table = "table main, which bind() also consults until an ip rule is added"
		}
		why := fmt.Sprintf("%s's route is %s (%s in %s), not local, broadcast or multicast", a, r.TypeName(), r.Prefix, table)
		if hidden >= 0 {
			why += fmt.Sprintf(", and it hides the %s route %s", f.Routes[hidden].TypeName(), f.Routes[hidden].Prefix)
		}
		return false, why
	}
	if otherTable != 0 {
		return false, fmt.Sprintf("%s is covered only by a local route in table %d, and bind() looks in table local", a, otherTable)
	}
	return false, fmt.Sprintf("%s is not assigned to any interface and no local route covers it", a)
}

// lookupRank says whether bind()'s lookup in table local sees a route of
// table t, and in which order: table local's routes (0) before table
// main's (1), which it sees only while the tables are merged. Table 0 is
// table local, as snapshots that do not name the table have it.
func (f *Facts) lookupRank(t int) (int, bool) {
	switch {
	case t == 0 || t == tableLocal:
		return 0, true
	case t == tableMain && f.LocalTableMerged:
		return 1, true
	}
	return 0, false
}

func (f *Facts) isLocal6(a netip.Addr, zone string) (bool, string) {
	if f.NoIPv6 {
		return false, "this host has no IPv6"
	}
	if a.IsMulticast() {
		return true, ""
	}
	var seen []string // interfaces a is configured on, for the reason
	var bad string    // the reason of the last unusable match
	for _, ad := range f.Addresses {
		b, err := netip.ParseAddr(ad.Address)
		if err != nil || b.WithZone("") != a {
			continue
		}
		if zone != "" && a.IsLinkLocalUnicast() && ad.Interface != zone {
			seen = append(seen, ad.Interface)
			continue
		}
		switch {
		case slices.Contains(ad.Flags, "dadfailed"):
			bad = fmt.Sprintf("%s failed duplicate address detection on %s (dadfailed)", a, ad.Interface)
		case slices.Contains(ad.Flags, "tentative") && !slices.Contains(ad.Flags, "optimistic"):
			bad = fmt.Sprintf("%s is tentative on %s (duplicate address detection has not finished)", a, ad.Interface)
		default:
			return true, ""
		}
	}
	switch {
	case bad != "":
		return false, bad
	case len(seen) > 0:
		return false, fmt.Sprintf("%s is not on %s (it is on %s)", a, zone, strings.Join(seen, ", "))
	}
	if a == netip.IPv6Loopback() && f.Sysctls[DisableIPv6("lo")] == "1" {
		return false, fmt.Sprintf("%s is not on lo: net.ipv6.conf.lo.disable_ipv6 is 1, which takes it away", a)
	}
	return false, fmt.Sprintf("%s is not assigned to any interface", a)
}

// Listeners returns the sockets of proto ("tcp" or "udp") bound to port, in
// the order of f.Sockets.
func (f *Facts) Listeners(proto string, port int) []Socket {
	var out []Socket
	for _, s := range f.Sockets {
		if s.Proto == proto && s.Port == port {
			out = append(out, s)
		}
	}
	return out
}

// WithAddress returns a copy of f with a configured on dev, as keepalived
// does when it becomes master. The address also gets its host local route
// (/32 or /128) as the kernel adds one; an IPv6 address is marked nodad, as keepalived adds its VIPs without
// duplicate address detection. f itself is not changed.
func (f *Facts) WithAddress(a netip.Prefix, dev string) *Facts {
	g := f.WithoutAddress(a.Addr())
	addr := a.Addr().WithZone("")
	ad := Address{Address: addr.String(), Prefix: a.Bits(), Interface: dev, Family: "ipv4"}
	if addr.Is6() {
		ad.Family = "ipv6"
		ad.Flags = []string{"nodad"}
	}
	g.Addresses = append(g.Addresses, ad)
	g.Routes = append(g.Routes, Route{Prefix: netip.PrefixFrom(addr, addr.BitLen()).String(), Interface: dev, Table: tableLocal})
	g.sort()
	return g
}

// WithoutAddress returns a copy of f with a removed from every interface,
// as keepalived does when it becomes backup. Its host local route (/32 or
// /128) goes too; local routes for wider ranges (AnyIP) and routes of
// other types stay. f itself is not changed.
func (f *Facts) WithoutAddress(a netip.Addr) *Facts {
	g := f.clone()
	a = a.WithZone("")
	g.Addresses = slices.DeleteFunc(g.Addresses, func(ad Address) bool {
		b, err := netip.ParseAddr(ad.Address)
		return err == nil && b.WithZone("") == a
	})
	host := netip.PrefixFrom(a, a.BitLen())
	g.Routes = slices.DeleteFunc(g.Routes, func(r Route) bool {
		p, err := netip.ParsePrefix(r.Prefix)
		return err == nil && p == host && r.TypeName() == "local"
	})
	return g
}

// clone copies f deeply enough that changing the copy's slices and maps
// never shows through to f.
func (f *Facts) clone() *Facts {
	g := *f
	g.Interfaces = slices.Clone(f.Interfaces)
	g.Addresses = make([]Address, len(f.Addresses))
	for i, a := range f.Addresses {
		a.Flags = slices.Clone(a.Flags)
		g.Addresses[i] = a
	}
	g.Routes = slices.Clone(f.Routes)
	g.Sockets = slices.Clone(f.Sockets)
	if f.Sysctls != nil {
		g.Sysctls = make(map[string]string, len(f.Sysctls))
		for k, v := range f.Sysctls {
			g.Sysctls[k] = v
		}
	}
	return &g
}

// sort puts every list in its canonical order: interfaces by index,
// addresses by interface index then address, routes by table, prefix and
// metric, sockets by proto, port and address.
func (f *Facts) sort() {
	slices.SortFunc(f.Interfaces, func(a, b Interface) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.Name, b.Name))
	})
	index := make(map[string]int, len(f.Interfaces))
	for _, i := range f.Interfaces {
		index[i.Name] = i.Index
	}
	ifIndex := func(name string) int {
		if i, ok := index[name]; ok {
			return i
		}
		return math.MaxInt // unknown interfaces last, by name
	}
	slices.SortStableFunc(f.Addresses, func(a, b Address) int {
		return cmp.Or(
			cmp.Compare(ifIndex(a.Interface), ifIndex(b.Interface)),
			cmp.Compare(a.Interface, b.Interface),
			compareAddr(a.Address, b.Address),
			cmp.Compare(a.Prefix, b.Prefix))
	})
	// Routes of one table and prefix keep their order, which is the
	// kernel's lookup order among equal metrics.
	slices.SortStableFunc(f.Routes, func(a, b Route) int {
		return cmp.Or(
			cmp.Compare(a.Table, b.Table),
			comparePrefix(a.Prefix, b.Prefix),
			cmp.Compare(a.Metric, b.Metric))
	})
	slices.SortStableFunc(f.Sockets, func(a, b Socket) int {
		return cmp.Or(
			cmp.Compare(a.Proto, b.Proto),
			cmp.Compare(a.Port, b.Port),
			compareAddr(a.Address, b.Address),
			cmp.Compare(a.Interface, b.Interface),
			cmp.Compare(a.Inode, b.Inode))
	})
}

// compareAddr orders addresses numerically (IPv4 before IPv6) and anything
// unparsable after them, by text.
func compareAddr(a, b string) int {
	x, errX := netip.ParseAddr(a)
	y, errY := netip.ParseAddr(b)
	switch {
	case errX == nil && errY == nil:
		return x.Compare(y)
	case errX == nil:
		return -1
	case errY == nil:
		return 1
	}
	return cmp.Compare(a, b)
}

func comparePrefix(a, b string) int {
	x, errX := netip.ParsePrefix(a)
	y, errY := netip.ParsePrefix(b)
	switch {
	case errX == nil && errY == nil:
		return cmp.Or(x.Addr().Compare(y.Addr()), cmp.Compare(x.Bits(), y.Bits()))
	case errX == nil:
		return -1
	case errY == nil:
		return 1
	}
	return cmp.Compare(a, b)
}
