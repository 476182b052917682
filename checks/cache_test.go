package checks

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// The indexes of cache.go only narrow what the checks look at; these tests
// hold them to the plain scans they replace, over random inputs.

var testAddrs = []string{"0.0.0.0", "::", "10.0.0.1", "10.0.0.2", "::1", "fd00::1", "::ffff:10.0.0.1", "fe80::1"}

// TestClashIndexFirst compares clashIndex.first with a scan of every
// socket in order.
func TestClashIndexFirst(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		n := 1 + rng.IntN(30)
		socks := make([]socket, n)
		valid := make([]bool, n)
		group := make([]int, n) // runs are sockets of one group
		for i := range socks {
			a := netip.MustParseAddr(testAddrs[rng.IntN(len(testAddrs))])
			socks[i] = socket{proto: []string{"tcp", "udp"}[rng.IntN(2)], addr: a, port: 80 + rng.IntN(2), dual: a == netip.IPv6Unspecified() && rng.IntN(2) == 0}
			valid[i] = rng.IntN(8) > 0
			group[i] = rng.IntN(3)
		}
		x := newClashIndex(n, func(i int) (socket, bool) { return socks[i], valid[i] },
			func(i, j int) bool { return group[i] == group[j] })
		for i := range n {
			s := socks[i]
			sameAddr := rng.IntN(2) == 0
			excluded := rng.IntN(4) // a group ruled out as a whole, 3: none
			veto := rng.Uint64()    // single sockets ruled out
			test := func(j int) verdict {
				switch {
				case group[j] == excluded:
					return skipRun
				case j == i || veto>>(j%64)&1 == 1:
					return next
				case sameAddr && socks[j].addr != s.addr:
					return next
				case !s.clashes(socks[j]):
					return next
				}
				return found
			}
			want := -1
			for j := range n {
				if valid[j] && test(j) == found {
					want = j
					break
				}
			}
			got, ok := x.first(s, sameAddr, test)
			if !ok {
				got = -1
			}
			if got != want {
				t.Fatalf("round %d: first(%v, sameAddr %v) = %d, a scan finds %d\nsockets %v\nvalid %v\ngroups %v, excluded %d",
					round, s, sameAddr, got, want, socks, valid, group, excluded)
			}
		}
	}
}

// TestHostFor compares the facts hostFor narrows to an address with the
// whole facts, for every question the checks ask them.
func TestHostFor(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	prefixes := []string{"10.0.0.1/32", "10.0.0.0/24", "10.0.0.2/32", "0.0.0.0/0", "fd00::1/128", "fd00::/64", "::ffff:10.0.0.1/128", "bogus", "10.0.0.1/8"}
	for round := range 1000 {
		h := &host.Facts{Sysctls: map[string]string{host.NonlocalBind4: "0"}}
		for range rng.IntN(6) {
			h.Routes = append(h.Routes, host.Route{Prefix: prefixes[rng.IntN(len(prefixes))], Table: []int{0, 255, 100}[rng.IntN(3)]})
		}
		for range rng.IntN(6) {
			a := testAddrs[2+rng.IntN(len(testAddrs)-2)]
			if rng.IntN(4) == 0 {
				a += "%eth1"
			}
			h.Addresses = append(h.Addresses, host.Address{Address: a, Interface: []string{"eth0", "eth1"}[rng.IntN(2)],
				Flags: [][]string{nil, {"tentative"}, {"dadfailed"}, {"tentative", "optimistic"}}[rng.IntN(4)]})
		}
		p := &Pass{Input: &Input{Host: h}}
		for _, s := range append(testAddrs, "fe80::1%eth1", "10.0.0.3") {
			a := netip.MustParseAddr(s)
			narrow := p.hostFor(a)
			checkSame := func(what string, whole, part *host.Facts) {
				t.Helper()
				w1, w2 := whole.IsLocal(a)
				p1, p2 := part.IsLocal(a)
				if w1 != p1 || w2 != p2 {
					t.Fatalf("round %d: %s IsLocal(%s) = %v %q on the whole facts, %v %q narrowed\nroutes %v\naddresses %v",
						round, what, a, w1, w2, p1, p2, h.Routes, h.Addresses)
				}
			}
			checkSame("host", h, narrow)
			checkSame("without it", h.WithoutAddress(a), p.hostWithout(a))
			pfx := netip.PrefixFrom(a.WithZone(""), a.BitLen())
			checkSame("with it", h.WithAddress(pfx, "eth0"), narrow.WithAddress(pfx, "eth0"))
		}
	}
}

func (s socket) String() string {
	return fmt.Sprintf("%s/%s:%d(dual %v)", s.proto, s.addr, s.port, s.dual)
}
