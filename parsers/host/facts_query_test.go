package host

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// sample is a load balancer: eth0 up with an address and a VIP, eth1 down
// with an IPv4 address and a tentative IPv6 one, an AnyIP range in table
// local and another in table 100.
func sample() *Facts {
	return &Facts{
		Hostname:   "lb1",
		Interfaces: []Interface{{Name: "lo", Index: 1, Up: true}, {Name: "eth0", Index: 2, Up: true}, {Name: "eth1", Index: 3, Up: false}},
		Addresses: []Address{
			{Address: "127.0.0.1", Prefix: 8, Interface: "lo", Family: "ipv4"},
			{Address: "::1", Prefix: 128, Interface: "lo", Family: "ipv6", Flags: []string{"permanent"}},
			{Address: "10.0.0.5", Prefix: 24, Interface: "eth0", Family: "ipv4"},
			{Address: "10.0.0.100", Prefix: 32, Interface: "eth0", Family: "ipv4"},
			{Address: "2001:db8::5", Prefix: 64, Interface: "eth0", Family: "ipv6", Flags: []string{"nodad", "permanent"}},
			{Address: "2001:db8::6", Prefix: 64, Interface: "eth0", Family: "ipv6", Flags: []string{"optimistic", "tentative"}},
			{Address: "2001:db8::7", Prefix: 64, Interface: "eth0", Family: "ipv6", Flags: []string{"dadfailed", "tentative"}},
			{Address: "fe80::1", Prefix: 64, Interface: "eth0", Family: "ipv6", Flags: []string{"permanent"}},
			{Address: "192.168.50.2", Prefix: 24, Interface: "eth1", Family: "ipv4"},
			{Address: "fd00::5", Prefix: 64, Interface: "eth1", Family: "ipv6", Flags: []string{"tentative", "permanent"}},
		},
		Routes: []Route{
			{Prefix: "10.0.0.5/32", Interface: "eth0", Table: 255},
			{Prefix: "10.0.0.100/32", Interface: "eth0", Table: 255},
			{Prefix: "10.9.0.0/24", Interface: "lo", Table: 255},
			{Prefix: "10.10.0.0/24", Interface: "lo", Table: 100},
			{Prefix: "127.0.0.0/8", Interface: "lo"}, // no table: a hand-written snapshot
			{Prefix: "192.168.50.2/32", Interface: "eth1", Table: 255},
			{Prefix: "::1/128", Interface: "lo", Table: 255},
		},
		Sysctls: map[string]string{NonlocalBind4: "0", BindV6Only: "0"},
		Sockets: []Socket{
			{Proto: "tcp", Address: "0.0.0.0", Port: 22, PID: 612, Command: "sshd"},
			{Proto: "tcp", Address: "::", Port: 22, V6Only: true, PID: 612, Command: "sshd"},
			{Proto: "tcp", Address: "10.0.0.100", Port: 443},
			{Proto: "udp", Address: "0.0.0.0", Port: 443},
		},
	}
}

func TestIsLocal(t *testing.T) {
	f := sample()
	noV6 := sample()
	noV6.NoIPv6 = true
	for _, tc := range []struct {
		facts *Facts
		addr  string
		ok    bool
		why   string // a part of the reason, for the negative answers
	}{
		{f, "0.0.0.0", true, ""},
		{f, "::", true, ""},
		{f, "10.0.0.5", true, ""},
		{f, "10.0.0.100", true, ""},
		{f, "192.168.50.2", true, ""}, // on a down interface: its local route exists
		{f, "10.9.0.200", true, ""},   // AnyIP
		{f, "127.4.5.6", true, ""},    // the whole of 127/8, from a route without a table
		{f, "224.0.0.18", true, ""},
		{f, "255.255.255.255", true, ""},
		{f, "::ffff:10.0.0.5", true, ""}, // mapped: judged as IPv4
		{f, "10.0.0.6", false, "10.0.0.6 is not assigned to any interface and no local route covers it"},
		{f, "10.10.0.1", false, "only by a local route in table 100"},
		{f, "::ffff:10.0.0.6", false, "10.0.0.6 is not assigned"},
		{f, "::1", true, ""},
		{f, "2001:db8::5", true, ""}, // nodad
		{f, "2001:db8::6", true, ""}, // optimistic
		{f, "2001:db8::7", false, "2001:db8::7 failed duplicate address detection on eth0 (dadfailed)"},
		{f, "fd00::5", false, "fd00::5 is tentative on eth1 (duplicate address detection has not finished)"},
		{f, "2001:db8::8", false, "2001:db8::8 is not assigned to any interface"},
		{f, "fe80::1", true, ""},
		{f, "fe80::1%eth0", true, ""},
		{f, "fe80::1%eth1", false, "fe80::1 is not on eth1 (it is on eth0)"},
		{f, "ff05::12", true, ""},
		{noV6, "::1", false, "no IPv6"},
		{noV6, "::", true, ""},
		{noV6, "10.0.0.5", true, ""},
	} {
		ok, why := tc.facts.IsLocal(netip.MustParseAddr(tc.addr))
		if ok != tc.ok || !strings.Contains(why, tc.why) || (ok && why != "") {
			t.Errorf("IsLocal(%s) (NoIPv6 %v) = %v, %q; want %v, %q", tc.addr, tc.facts.NoIPv6, ok, why, tc.ok, tc.why)
		}
	}
	if ok, why := f.IsLocal(netip.Addr{}); ok || why == "" {
		t.Errorf("IsLocal(invalid) = %v, %q", ok, why)
	}
}

// TestIsLocalRouteTypes follows the kernel's lookup in table local: the
// longest prefix decides by its type, table local before table main at one
// prefix, then the metric, then the order of the facts; table main only
// while merged. Each case has a twin in TestDaemonsAgree's route states.
func TestIsLocalRouteTypes(t *testing.T) {
	routes := []Route{
		{Prefix: "10.0.0.5/32", Interface: "eth0", Table: 255},
		{Prefix: "10.0.0.255/32", Interface: "eth0", Table: 255, Type: "broadcast"},
		{Prefix: "10.9.0.0/24", Interface: "lo", Table: 255},
		{Prefix: "10.9.0.7/32", Table: 255, Type: "blackhole"},
		{Prefix: "10.9.0.8/32", Interface: "eth0", Table: 255, Type: "unicast"},
		{Prefix: "10.9.0.9/32", Table: 255, Type: "throw"},
		{Prefix: "10.9.0.10/32", Interface: "eth0", Table: 254, Type: "unicast"}, // main
		{Prefix: "10.8.0.0/24", Interface: "lo", Table: 254},                     // local, in main
		{Prefix: "10.7.0.1/32", Interface: "lo", Table: 255, Type: "multicast"},
		{Prefix: "10.7.0.2/32", Interface: "lo", Table: 255, Type: "anycast"},
		{Prefix: "10.7.0.3/32", Interface: "lo", Table: 255, Type: "broadcast"},
		// One prefix, three routes: the blackhole came first (ip route
		// prepend); table main's unicast comes after table local's.
		{Prefix: "10.6.0.5/32", Table: 255, Type: "blackhole"},
		{Prefix: "10.6.0.5/32", Interface: "eth0", Table: 255},
		{Prefix: "10.6.0.6/32", Interface: "eth0", Table: 255},
		{Prefix: "10.6.0.6/32", Table: 255, Type: "blackhole"}, // appended
		{Prefix: "10.6.0.7/32", Interface: "eth0", Table: 254, Type: "unicast"},
		{Prefix: "10.6.0.7/32", Interface: "eth0", Table: 255},
		{Prefix: "10.6.0.8/32", Table: 255, Type: "blackhole", Metric: 1},
		{Prefix: "10.6.0.8/32", Interface: "eth0", Table: 255},
	}
	merged := &Facts{Routes: routes, LocalTableMerged: true}
	split := &Facts{Routes: routes}
	for _, tc := range []struct {
		facts *Facts
		addr  string
		ok    bool
		why   string
	}{
		{merged, "10.0.0.255", true, ""},
		{merged, "10.0.0.0", false, "not assigned"},
		{merged, "10.9.0.6", true, ""},
		{merged, "10.9.0.7", false, "10.9.0.7's route is blackhole (10.9.0.7/32 in table local), not local, broadcast or multicast, and it hides the local route 10.9.0.0/24"},
		{merged, "10.9.0.8", false, "route is unicast (10.9.0.8/32 in table local)"},
		{merged, "10.9.0.9", false, "route is throw"},
		{merged, "10.9.0.10", false, "route is unicast (10.9.0.10/32 in table main, which bind() also consults until an ip rule is added)"},
		{split, "10.9.0.10", true, ""},
		{merged, "10.8.0.1", true, ""},
		{split, "10.8.0.1", false, "only by a local route in table 254"},
		{merged, "10.7.0.1", true, ""},
		{merged, "10.7.0.2", false, "route is anycast"},
		{merged, "10.7.0.3", true, ""},
		{merged, "10.6.0.5", false, "route is blackhole (10.6.0.5/32 in table local), not local, broadcast or multicast, and it hides the local route 10.6.0.5/32"},
		{merged, "10.6.0.6", true, ""},
		{merged, "10.6.0.7", true, ""},
		{merged, "10.6.0.8", true, ""},
		{merged, "239.1.2.3", true, ""},
		{merged, "255.255.255.255", true, ""},
		{merged, "0.1.2.3", false, "not assigned"},
		{merged, "240.0.0.1", false, "not assigned"},
	} {
		ok, why := tc.facts.IsLocal(netip.MustParseAddr(tc.addr))
		if ok != tc.ok || !strings.Contains(why, tc.why) || (ok && why != "") {
			t.Errorf("IsLocal(%s) (merged %v) = %v, %q; want %v, %q", tc.addr, tc.facts.LocalTableMerged, ok, why, tc.ok, tc.why)
		}
	}
	// A VIP leaving takes its local route, never a route of another type.
	g := merged.WithoutAddress(netip.MustParseAddr("10.6.0.5"))
	if !slices.Contains(g.Routes, Route{Prefix: "10.6.0.5/32", Table: 255, Type: "blackhole"}) || slices.Contains(g.Routes, Route{Prefix: "10.6.0.5/32", Interface: "eth0", Table: 255}) {
		t.Errorf("WithoutAddress(10.6.0.5) routes: %+v", g.Routes)
	}
}

func TestSysctlAndListeners(t *testing.T) {
	f := sample()
	if got := f.Sysctl(NonlocalBind4); got != "0" {
		t.Errorf("Sysctl(%s) = %q", NonlocalBind4, got)
	}
	if got := f.Sysctl(NonlocalBind6); got != "" {
		t.Errorf("Sysctl(%s) = %q, want unknown", NonlocalBind6, got)
	}
	if got := (&Facts{}).Sysctl(NonlocalBind4); got != "" {
		t.Errorf("Sysctl on empty facts = %q", got)
	}
	got := f.Listeners("tcp", 22)
	if len(got) != 2 || got[0].Address != "0.0.0.0" || got[1].Address != "::" {
		t.Errorf("Listeners(tcp, 22) = %+v", got)
	}
	if got := f.Listeners("udp", 22); len(got) != 0 {
		t.Errorf("Listeners(udp, 22) = %+v", got)
	}
	if got := f.Listeners("udp", 443); len(got) != 1 || got[0].Proto != "udp" {
		t.Errorf("Listeners(udp, 443) = %+v", got)
	}
}

func TestWithAddress(t *testing.T) {
	f := sample()
	before := sample()
	vip := netip.MustParseAddr("10.0.0.200")
	if ok, _ := f.IsLocal(vip); ok {
		t.Fatal("10.0.0.200 local before WithAddress")
	}
	g := f.WithAddress(netip.MustParsePrefix("10.0.0.200/24"), "eth0")
	if ok, why := g.IsLocal(vip); !ok {
		t.Errorf("after WithAddress: IsLocal(%s) = false, %s", vip, why)
	}
	if !slices.Contains(g.Routes, Route{Prefix: "10.0.0.200/32", Interface: "eth0", Table: 255}) {
		t.Errorf("WithAddress added no local route: %+v", g.Routes)
	}
	i := slices.IndexFunc(g.Addresses, func(a Address) bool { return a.Address == "10.0.0.200" })
	if i < 0 || g.Addresses[i].Prefix != 24 || g.Addresses[i].Family != "ipv4" {
		t.Fatalf("WithAddress added %+v", g.Addresses)
	}
	// Canonical order: eth0's addresses stay together, before eth1's.
	if g.Addresses[i-1].Address != "10.0.0.100" || g.Addresses[i+1].Address != "2001:db8::5" {
		t.Errorf("added address out of order: %+v", g.Addresses)
	}
	if !reflect.DeepEqual(f, before) {
		t.Errorf("WithAddress changed its receiver")
	}

	v6 := netip.MustParseAddr("2001:db8::99")
	h := f.WithAddress(netip.PrefixFrom(v6, 64), "eth1")
	if ok, why := h.IsLocal(v6); !ok {
		t.Errorf("IPv6 VIP not local after WithAddress: %s", why)
	}
	// Adding an address already there replaces it instead of doubling it.
	k := f.WithAddress(netip.MustParsePrefix("fd00::5/64"), "eth1")
	n := 0
	for _, a := range k.Addresses {
		if a.Address == "fd00::5" {
			n++
			if !slices.Equal(a.Flags, []string{"nodad"}) {
				t.Errorf("re-added fd00::5 has flags %v", a.Flags)
			}
		}
	}
	if n != 1 {
		t.Errorf("fd00::5 listed %d times", n)
	}
	if ok, why := k.IsLocal(netip.MustParseAddr("fd00::5")); !ok {
		t.Errorf("re-added fd00::5 not local: %s", why)
	}
}

func TestWithoutAddress(t *testing.T) {
	f := sample()
	before := sample()
	g := f.WithoutAddress(netip.MustParseAddr("10.0.0.100"))
	if ok, _ := g.IsLocal(netip.MustParseAddr("10.0.0.100")); ok {
		t.Errorf("10.0.0.100 still local after WithoutAddress")
	}
	if len(g.Addresses) != len(f.Addresses)-1 || len(g.Routes) != len(f.Routes)-1 {
		t.Errorf("WithoutAddress removed %d addresses and %d routes, want 1 and 1",
			len(f.Addresses)-len(g.Addresses), len(f.Routes)-len(g.Routes))
	}
	if ok, _ := g.IsLocal(netip.MustParseAddr("10.0.0.5")); !ok {
		t.Errorf("WithoutAddress removed another address")
	}
	if !reflect.DeepEqual(f, before) {
		t.Errorf("WithoutAddress changed its receiver")
	}

	// An address inside an AnyIP range stays local: the range is not its
	// own route.
	h := f.WithoutAddress(netip.MustParseAddr("10.9.0.7"))
	if ok, _ := h.IsLocal(netip.MustParseAddr("10.9.0.7")); !ok || len(h.Routes) != len(f.Routes) {
		t.Errorf("WithoutAddress(10.9.0.7) dropped the AnyIP route")
	}

	k := f.WithoutAddress(netip.MustParseAddr("2001:db8::5"))
	if ok, _ := k.IsLocal(netip.MustParseAddr("2001:db8::5")); ok {
		t.Errorf("2001:db8::5 still local after WithoutAddress")
	}

	// Changing the copy's nested slices must not reach the original.
	g.Addresses[1].Flags[0] = "changed"
	g.Sysctls[NonlocalBind4] = "1"
	if !reflect.DeepEqual(f, before) {
		t.Errorf("the copy shares memory with the original")
	}
}
