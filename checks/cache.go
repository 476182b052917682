package checks

import (
	"net/netip"
	"slices"
	"sync"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// A load balancer's config can hold tens of thousands of listeners on
// thousands of VIPs, and a host snapshot thousands of addresses, routes and
// sockets. Asked listener by listener, the questions checks ask (is this a
// VIP, is this address local, who else wants this port) scan all of those
// every time, and a check run grows with the square of the config. The
// cache below answers them from indexes built once per Run. Every answer is
// the one the plain question would give: the indexes only narrow what is
// looked at to what can matter.

// runCache holds the indexes of one Run, shared by its passes, which run
// at the same time, and built on first use.
type runCache struct {
	in *Input

	vipsOnce sync.Once
	vips     map[netip.Addr]VIP // by address without zone: the first VIP by position

	// routes and addrs locate, by address without zone, the host's local
	// routes and addresses: host routes (/32, /128) and addresses by
	// their own address, wider routes in a list.
	hostOnce sync.Once
	routes   map[netip.Addr][]int
	wide     []widePrefix
	addrs    map[netip.Addr][]int

	mu        sync.RWMutex // guards the answers below, kept as they are asked
	hostFor   map[netip.Addr]*host.Facts
	withoutIt map[netip.Addr]*host.Facts

	allOnce       sync.Once
	all           []*parsers.Listener // in.Listeners(), listed once (Pass.Listeners)
	listenersOnce sync.Once
	listeners     []*parsers.Listener // in.Listeners(), the order checks report in
	listenerIndex *clashIndex         // of listeners, by position in listeners
	rebootOnce    sync.Once
	reboot        []rebootEffect // LBD420 and LBD421's verdicts
	socketsOnce   sync.Once
	socketIndex   *clashIndex // of in.Host.Sockets, by position
	netOnce       sync.Once
	net           *netView // the boot network configuration (Pass.netView)

	// running are the IDs of the checks of the Run; nil when not known,
	// as if every check ran.
	running map[string]bool
}

type widePrefix struct {
	i int
	p netip.Prefix
}

func (p *Pass) cache() *runCache {
	if p.rc == nil {
		p.rc = newRunCache(p.Input)
	}
	return p.rc
}

func newRunCache(in *Input) *runCache {
	return &runCache{in: in, hostFor: map[netip.Addr]*host.Facts{}, withoutIt: map[netip.Addr]*host.Facts{}}
}

// runs reports whether the check with this ID is one of the Run's.
func (c *runCache) runs(id string) bool { return c.running == nil || c.running[id] }

// VIPFor is Input.VIPFor through an index of the VIPs by address.
func (p *Pass) VIPFor(a netip.Addr) (VIP, bool) {
	c := p.cache()
	c.vipsOnce.Do(func() {
		vips := c.in.VIPs()
		c.vips = make(map[netip.Addr]VIP, len(vips))
		for _, v := range vips {
			k := v.Prefix.Addr().WithZone("")
			if _, seen := c.vips[k]; !seen {
				c.vips[k] = v
			}
		}
	})
	v, ok := c.vips[a.WithZone("")]
	return v, ok
}

// hostFor is the part of the host facts that decides whether a can be
// bound: the local routes that cover it and its own addresses, with every
// sysctl and flag, but no interfaces, sockets or directories. IsLocal(a),
// WithoutAddress(a) and WithAddress of a answer on it exactly as on the
// whole facts, since IsLocal looks at nothing else; questions about any
// other address, or about sockets, belong to p.Host.
func (p *Pass) hostFor(a netip.Addr) *host.Facts {
	h := p.Host
	if !a.IsValid() {
		return h
	}
	c := p.cache()
	c.hostOnce.Do(func() { c.indexHost(h) })
	a = a.WithZone("")
	if f, ok := c.answer(c.hostFor, a); ok {
		return f
	}
	// IsLocal judges an IPv4-mapped address as IPv4.
	in := a.Unmap()
	idx := slices.Clone(c.routes[in])
	for _, w := range c.wide {
		if w.p.Contains(in) {
			idx = append(idx, w.i)
		}
	}
	slices.Sort(idx) // keep the facts' order: the first matching route decides
	f := *h
	f.Interfaces, f.Sockets, f.Dirs = nil, nil, nil
	f.Routes = make([]host.Route, len(idx))
	for k, i := range idx {
		f.Routes[k] = h.Routes[i]
	}
	f.Addresses = make([]host.Address, 0, len(c.addrs[a]))
	for _, i := range c.addrs[a] {
		f.Addresses = append(f.Addresses, h.Addresses[i])
	}
	return c.keep(c.hostFor, a, &f)
}

// answer looks a up in one of the kept answers.
func (c *runCache) answer(m map[netip.Addr]*host.Facts, a netip.Addr) (*host.Facts, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	f, ok := m[a]
	return f, ok
}

// keep records f as the answer for a, unless another pass was first: then
// that answer, equal to f, is the one every pass sees.
func (c *runCache) keep(m map[netip.Addr]*host.Facts, a netip.Addr, f *host.Facts) *host.Facts {
	c.mu.Lock()
	defer c.mu.Unlock()
	if first, ok := m[a]; ok {
		return first
	}
	m[a] = f
	return f
}

// hostWithout is p.Host.WithoutAddress(a), for questions about a only (see
// hostFor): the host as keepalived leaves it when it gives the VIP a away.
func (p *Pass) hostWithout(a netip.Addr) *host.Facts {
	c := p.cache()
	k := a.WithZone("")
	if f, ok := c.answer(c.withoutIt, k); ok {
		return f
	}
	return c.keep(c.withoutIt, k, p.hostFor(a).WithoutAddress(a))
}

// indexHost locates routes and addresses by address; what does not parse
// is left out, as IsLocal skips it.
func (c *runCache) indexHost(h *host.Facts) {
	c.routes = map[netip.Addr][]int{}
	c.addrs = map[netip.Addr][]int{}
	for i, r := range h.Routes {
		p, err := netip.ParsePrefix(r.Prefix)
		if err != nil {
			continue
		}
		if p.Bits() == p.Addr().BitLen() {
			c.routes[p.Addr()] = append(c.routes[p.Addr()], i)
		} else {
			c.wide = append(c.wide, widePrefix{i, p})
		}
	}
	for i, ad := range h.Addresses {
		if b, err := netip.ParseAddr(ad.Address); err == nil {
			c.addrs[b.WithZone("")] = append(c.addrs[b.WithZone("")], i)
		}
	}
}

// Listeners is Input.Listeners, listed once per Run and shared by its
// passes: two dozen checks walk every listener, and each listing its own
// was tens of thousands of pointers apiece. Callers only read it.
func (p *Pass) Listeners() []*parsers.Listener {
	c := p.cache()
	c.allOnce.Do(func() { c.all = c.in.Listeners() })
	return c.all
}

// listenerClashes is the index of the listeners that open an IP socket,
// with p.Listeners() in the order it is indexed by.
func (p *Pass) listenerClashes() ([]*parsers.Listener, *clashIndex) {
	c := p.cache()
	c.listenersOnce.Do(func() {
		c.listeners = p.Listeners()
		ls := c.listeners
		c.listenerIndex = newClashIndex(len(ls), func(i int) (socket, bool) {
			return listenerSocket(p.Host, ls[i]), opensIPSocket(ls[i])
		}, func(i, j int) bool { return sameSocket(ls[i], ls[j]) })
	})
	return c.listeners, c.listenerIndex
}

// socketClashes is the index of the host's sockets; a run is sockets of
// one command.
func (p *Pass) socketClashes() *clashIndex {
	c := p.cache()
	c.socketsOnce.Do(func() {
		ss := p.Host.Sockets
		c.socketIndex = newClashIndex(len(ss), func(i int) (socket, bool) {
			return hostSocket(ss[i]), true
		}, func(i, j int) bool { return ss[i].Command == ss[j].Command })
	})
	return c.socketIndex
}

// clashIndex finds, among n sockets, those that may clash with a given
// one. Sockets only clash on the same protocol and port, and then on equal
// addresses, a wildcard of the same family, or a dual-stack [::] against
// IPv4 (socket.clashes): the index keeps, per protocol and port, the
// sockets by address and by family, each list in ascending order.
type clashIndex struct {
	socks []socket
	ports map[portKey]*portSockets
}

type portKey struct {
	proto string
	port  int
}

type portSockets struct {
	byAddr   map[netip.Addr]*candidates
	byFamily [2]*candidates // IPv4, IPv6
}

// candidates is an ascending list of socket numbers. runEnd[k] is the
// position after the run of entries from k on that are alike (sameRun),
// so a scan can step over a whole run when one of them is ruled out for
// a reason they share: a hundred "listen 80" of one nginx context are one
// socket, and one look settles them all.
type candidates struct {
	idx    []int
	runEnd []int
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

func newClashIndex(n int, sock func(i int) (socket, bool), sameRun func(i, j int) bool) *clashIndex {
	x := &clashIndex{socks: make([]socket, n), ports: map[portKey]*portSockets{}}
	add := func(c **candidates, i int) {
		if *c == nil {
			*c = &candidates{}
		}
		(*c).idx = append((*c).idx, i)
	}
	for i := range n {
		s, ok := sock(i)
		if !ok || !s.addr.IsValid() {
			continue // never clashes
		}
		x.socks[i] = s
		k := portKey{s.proto, s.port}
		ps := x.ports[k]
		if ps == nil {
			ps = &portSockets{byAddr: map[netip.Addr]*candidates{}}
			x.ports[k] = ps
		}
		c := ps.byAddr[s.addr]
		add(&c, i)
		ps.byAddr[s.addr] = c
		add(&ps.byFamily[family(s.addr)], i)
	}
	for _, ps := range x.ports {
		lists := append([]*candidates{ps.byFamily[0], ps.byFamily[1]}, mapValues(ps.byAddr)...)
		for _, c := range lists {
			if c == nil {
				continue
			}
			c.runEnd = make([]int, len(c.idx))
			for k := len(c.idx) - 1; k >= 0; k-- {
				c.runEnd[k] = k + 1
				if k+1 < len(c.idx) && sameRun(c.idx[k], c.idx[k+1]) {
					c.runEnd[k] = c.runEnd[k+1]
				}
			}
		}
	}
	return x
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// verdict is what a scan learns of one candidate.
type verdict int

const (
	next    verdict = iota // not this one
	skipRun                // not this one, nor the rest of its run
	found
)

// first returns the lowest-numbered socket j for which test(j) is found,
// among the sockets that may clash with s; with sameAddr, only among those
// with s's very address. Candidates that cannot clash with s are never
// tested, so test must itself require s.clashes (or equal addresses).
func (x *clashIndex) first(s socket, sameAddr bool, test func(j int) verdict) (int, bool) {
	ps := x.ports[portKey{s.proto, s.port}]
	if ps == nil || !s.addr.IsValid() {
		return 0, false
	}
	fam := family(s.addr)
	var lists [3]*candidates
	switch {
	case sameAddr:
		lists[0] = ps.byAddr[s.addr]
	case s.addr.IsUnspecified():
		lists[0] = ps.byFamily[fam] // every address of its family
		if fam == 0 {
			lists[1] = ps.byAddr[netip.IPv6Unspecified()] // a dual-stack [::]
		} else if s.dual {
			lists[1] = ps.byFamily[0] // dual-stack: every IPv4 address too
		}
	case fam == 0:
		lists[0] = ps.byAddr[s.addr]
		lists[1] = ps.byAddr[netip.IPv4Unspecified()]
		lists[2] = ps.byAddr[netip.IPv6Unspecified()] // a dual-stack [::]
	default:
		lists[0] = ps.byAddr[s.addr]
		lists[1] = ps.byAddr[netip.IPv6Unspecified()]
	}
	best := -1
	for _, c := range lists {
		if c == nil {
			continue
		}
		for k := 0; k < len(c.idx) && (best < 0 || c.idx[k] < best); {
			switch test(c.idx[k]) {
			case found:
				best = c.idx[k]
			case skipRun:
				k = c.runEnd[k]
			default:
				k++
			}
		}
	}
	return best, best >= 0
}
