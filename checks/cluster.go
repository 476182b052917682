package checks

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Node is one node of a cluster run: its name, what its own checks saw and
// their verdict.
type Node struct {
	Name   string // the node's host name
	Source string // the bundle it came from
	Input  *Input
	Result *Result
}

// Site is a place on another node that a cluster finding points to.
type Site struct {
	Node string
	Pos  parsers.Pos
}

// Cluster is a group of nodes whose keepalived VRRP instances work
// together (they share VIPs or name each other as unicast peers), with
// the findings about the group.
type Cluster struct {
	Name  string // the nodes' names joined by "+"
	Nodes []*Node
	// Findings are the cluster checks' findings, each on one node's file
	// and line (Finding.Node) and pointing to the other side (Peer).
	Findings []Finding
	Ignored  []Finding
}

// Worst is the highest severity of the cluster's findings and its nodes'.
func (c *Cluster) Worst() Severity {
	var w Severity
	for _, f := range c.Findings {
		w = max(w, f.Severity)
	}
	for _, n := range c.Nodes {
		w = max(w, n.Result.Worst())
	}
	return w
}

// Summary counts the findings of the cluster and of its nodes.
func (c *Cluster) Summary() Summary {
	r := Result{Findings: c.Findings}
	s := r.Summary()
	for _, n := range c.Nodes {
		ns := n.Result.Summary()
		s.Errors += ns.Errors
		s.Warnings += ns.Warnings
		s.Infos += ns.Infos
	}
	return s
}

// NodeInstance is a vrrp_instance of one node.
type NodeInstance struct {
	Node *Node
	Inst *parsers.VRRPInstance
}

// InstancePair is two instances on two nodes, A's node first by name.
type InstancePair struct{ A, B NodeInstance }

// ClusterPass is what a cluster check's RunCluster sees: every node of the
// run and the instances that pair up across nodes.
type ClusterPass struct {
	Check *Check
	Nodes []*Node
	// Peers are instances of different nodes in one cluster that act as
	// one VRRP router: they share a VIP, name each other as unicast peers,
	// or have the same name and virtual_router_id on one network.
	Peers []InstancePair
	// Strangers are instances of nodes in different clusters on one
	// network.
	Strangers []InstancePair
	findings  *[]Finding
}

// Report records a cluster finding; Node names the node whose file Pos is
// in.
func (p *ClusterPass) Report(f Finding) {
	if f.ID == "" {
		f.ID = p.Check.ID
	}
	if f.Severity == 0 {
		f.Severity = p.Check.Severity
	}
	*p.findings = append(*p.findings, f)
}

// instances lists a node's vrrp_instances in config order.
func instances(n *Node) []NodeInstance {
	var out []NodeInstance
	for _, s := range n.Input.Services {
		if s.Config == nil {
			continue
		}
		for i := range s.Config.VRRP {
			out = append(out, NodeInstance{Node: n, Inst: &s.Config.VRRP[i]})
		}
	}
	return out
}

// vipSet is the instance's VIPs (not the excluded ones) as "addr/bits".
func vipSet(inst *parsers.VRRPInstance) map[string]parsers.VIP {
	set := map[string]parsers.VIP{}
	for _, v := range inst.VIPs {
		if !v.Excluded {
			set[v.Prefix.String()] = v
		}
	}
	return set
}

func shareVIP(a, b *parsers.VRRPInstance) bool {
	for _, va := range a.VIPs {
		for _, vb := range b.VIPs {
			if !va.Excluded && !vb.Excluded && va.Prefix.Addr() == vb.Prefix.Addr() {
				return true
			}
		}
	}
	return false
}

// networks are the prefixes of the node's addresses on the instance's
// interface, masked: the network its adverts go out on.
func networks(ni NodeInstance) []netip.Prefix {
	var out []netip.Prefix
	if ni.Node.Input.Host == nil {
		return nil
	}
	for _, a := range ni.Node.Input.Host.Addresses {
		if a.Interface != ni.Inst.Interface {
			continue
		}
		addr, err := netip.ParseAddr(a.Address)
		if err != nil || addr.IsLinkLocalUnicast() {
			continue
		}
		if p, err := addr.Prefix(a.Prefix); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// sameNetwork reports whether two instances' interfaces share a network;
// known is false when a node's facts have no address on the interface.
func sameNetwork(a, b NodeInstance) (same, known bool) {
	na, nb := networks(a), networks(b)
	if len(na) == 0 || len(nb) == 0 {
		return false, false
	}
	for _, x := range na {
		for _, y := range nb {
			if x.Overlaps(y) {
				return true, true
			}
		}
	}
	return false, true
}

// ownAddrs are the node's addresses on the instance's interface that are
// not VIPs of its instances: where its adverts come from when
// unicast_src_ip is not set.
func ownAddrs(ni NodeInstance) []netip.Addr {
	vips := map[netip.Addr]bool{}
	for _, o := range instances(ni.Node) {
		for _, v := range o.Inst.VIPs {
			vips[v.Prefix.Addr()] = true
		}
	}
	var out []netip.Addr
	if ni.Node.Input.Host == nil {
		return nil
	}
	for _, a := range ni.Node.Input.Host.Addresses {
		addr, err := netip.ParseAddr(a.Address)
		if err != nil || a.Interface != ni.Inst.Interface || vips[addr] {
			continue
		}
		out = append(out, addr)
	}
	return out
}

// allAddrs are every address of the node.
func allAddrs(n *Node) map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	if n.Input.Host == nil {
		return out
	}
	for _, a := range n.Input.Host.Addresses {
		if addr, err := netip.ParseAddr(a.Address); err == nil {
			out[addr] = true
		}
	}
	return out
}

// namesPeer reports whether a's unicast_peer list names an address of b's
// node.
func namesPeer(a NodeInstance, b *Node) bool {
	addrs := allAddrs(b)
	for _, p := range a.Inst.UnicastPeers {
		if addrs[p.Addr] {
			return true
		}
	}
	return false
}

// peers reports whether two instances on two nodes act as one VRRP router.
func peers(a, b NodeInstance) bool {
	if shareVIP(a.Inst, b.Inst) || namesPeer(a, b.Node) || namesPeer(b, a.Node) {
		return true
	}
	if a.Inst.Name == b.Inst.Name && a.Inst.VirtualRouterID == b.Inst.VirtualRouterID {
		same, known := sameNetwork(a, b)
		return same || !known
	}
	return false
}

// Clusters groups the nodes, sorted by name, into clusters and pairs
// their instances.
func Clusters(nodes []*Node) (clusters []*Cluster, peerPairs, strangers []InstancePair) {
	sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	parent := make([]int, len(nodes))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		if parent[i] != i {
			parent[i] = find(parent[i])
		}
		return parent[i]
	}
	insts := make([][]NodeInstance, len(nodes))
	for i, n := range nodes {
		insts[i] = instances(n)
	}
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			for _, a := range insts[i] {
				for _, b := range insts[j] {
					if peers(a, b) {
						peerPairs = append(peerPairs, InstancePair{A: a, B: b})
						if ri, rj := find(i), find(j); ri != rj {
							parent[max(ri, rj)] = min(ri, rj)
						}
					}
				}
			}
		}
	}
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			if find(i) == find(j) {
				continue
			}
			for _, a := range insts[i] {
				for _, b := range insts[j] {
					if same, _ := sameNetwork(a, b); same {
						strangers = append(strangers, InstancePair{A: a, B: b})
					}
				}
			}
		}
	}
	byRoot := map[int]*Cluster{}
	for i, n := range nodes {
		r := find(i)
		c := byRoot[r]
		if c == nil {
			c = &Cluster{}
			byRoot[r] = c
			clusters = append(clusters, c)
		}
		c.Nodes = append(c.Nodes, n)
	}
	for _, c := range clusters {
		var names []string
		for _, n := range c.Nodes {
			names = append(names, n.Name)
		}
		c.Name = strings.Join(names, "+")
	}
	return clusters, peerPairs, strangers
}

// RunCluster groups the nodes into clusters and runs the cluster checks
// among cs over them. The nodes' own results must be in place; a finding
// goes to the cluster of the node it is on, after that node's ignores and
// the suppressions and severities of its input.
func RunCluster(nodes []*Node, cs []*Check) ([]*Cluster, error) {
	clusters, pairs, strangers := Clusters(nodes)
	var findings []Finding
	for _, c := range cs {
		if c.RunCluster == nil {
			continue
		}
		var got []Finding
		if err := c.RunCluster(&ClusterPass{Check: c, Nodes: nodes, Peers: pairs, Strangers: strangers, findings: &got}); err != nil {
			return nil, fmt.Errorf("check %s: %w", c.ID, err)
		}
		findings = append(findings, got...)
	}
	of := map[string]*Cluster{}
	nodeOf := map[string]*Node{}
	for _, c := range clusters {
		for _, n := range c.Nodes {
			of[n.Name], nodeOf[n.Name] = c, n
		}
	}
	byNode := map[string][]Finding{}
	for _, f := range findings {
		byNode[f.Node] = append(byNode[f.Node], f)
	}
	for _, n := range nodes {
		fs := byNode[n.Name]
		in := n.Input
		for i := range fs {
			if sev, ok := in.Severity[fs[i].ID]; ok {
				fs[i].Severity = sev
			}
		}
		kept, ignored := applyIgnores(in.Ignores, in.Suppress, fs, false)
		c := of[n.Name]
		c.Findings = append(c.Findings, kept...)
		c.Ignored = append(c.Ignored, ignored...)
	}
	for _, c := range clusters {
		sortClusterFindings(c.Findings)
		sortClusterFindings(c.Ignored)
	}
	return clusters, nil
}

func sortClusterFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.ID < b.ID
	})
}

// pairSites is a cluster finding's two sides: on A's node at pa, pointing
// to B's at pb.
func pairFinding(pr InstancePair, pa, pb parsers.Pos, msg, why string, fix ...string) Finding {
	return Finding{
		Service: "keepalived",
		Node:    pr.A.Node.Name,
		Pos:     pa,
		Peer:    &Site{Node: pr.B.Node.Name, Pos: pb},
		Message: msg,
		Why:     why,
		Fix:     fix,
	}
}
