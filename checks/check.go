// Package checks decides, from parsed configs and host facts, which listeners
// would fail to bind and why. A check is a value (after go/analysis): data
// that list, explain and the README read, plus a Run function that reports
// findings through its Pass. Checks do no I/O, so a check runs the same on a
// live host, a snapshot or a test fixture.
package checks

import (
	"fmt"
	"net/netip"
	"path"
	"runtime"
	"sort"
	"sync"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/container"
	"github.com/lbdoctor/lbdoctor/parsers/directive"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/systemd"
)

// Severity is how bad a finding is.
type Severity int

// The severities, in increasing order.
// The zero Severity is unset: Report fills in the check's default.
const (
	Info Severity = iota + 1
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText spells the severity as the JSON contract does.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity reads "error", "warning" or "info".
func ParseSeverity(s string) (Severity, error) {
	for _, v := range []Severity{Info, Warning, Error} {
		if v.String() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want error, warning or info)", s)
}

// Check is one diagnosis with a stable ID.
type Check struct {
	ID       string // "LBD101": stable; never renumbered or reused
	Name     string // "nonlocal-address"
	Title    string // "Listen address is not on this host": no period
	Doc      string // why it breaks, how to fix, a minimal example
	Severity Severity
	// Run reports the check's findings. It is nil for LBD003, whose
	// findings the runner makes once every other check has run, and for
	// the cluster checks.
	Run func(*Pass) error
	// RunCluster, set instead of Run, judges the nodes of a cluster run
	// (lbdoctor cluster) together.
	RunCluster func(*ClusterPass) error
}

// Role says where keepalived's VIPs are assumed to be.
type Role string

// The roles of the CLI's --role flag.
const (
	RoleCurrent Role = "current" // VIPs are where they are now
	RoleBackup  Role = "backup"  // every VIP is absent from this host
	RoleMaster  Role = "master"  // every VIP is present on this host
	RoleBoth    Role = "both"    // a listener failing in either role fails
)

// ParseRole reads a --role value.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleCurrent, RoleBackup, RoleMaster, RoleBoth:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want current, backup, master or both)", s)
}

// Service is one daemon lbdoctor was asked to judge.
type Service struct {
	Name   string          // "nginx", "haproxy", "keepalived"
	Path   string          // the config path as given or autodetected
	Config *parsers.Config // nil when no config was found
	// Unit is the daemon's systemd unit, nil when it has none.
	Unit *systemd.Unit
	// Container is the container the daemon runs in, nil for none.
	Container *container.Container
	// Declared is set for a service declared in .lbdoctor.yaml: lbdoctor,
	// not the daemon, reads its listen entries.
	Declared bool
}

// Input is everything the checks see.
type Input struct {
	Services []Service
	Host     *host.Facts
	Role     Role
	// Ignores are the lbdoctor:ignore directives found in the configs.
	Ignores []directive.Ignore
	// Suppress silences findings by ID, file and address (.lbdoctor.yaml).
	Suppress []Suppression
	// Severity overrides a check's severity by ID.
	Severity map[string]Severity
	// Probes are the errnos of --probe's bind() of each listen address on
	// port 0 ("" when it bound), by ProbeKey; nil without --probe.
	Probes map[string]string
	// BootDirs are the directories systemd-tmpfiles creates at boot, with
	// the line that creates each.
	BootDirs map[string]parsers.Pos
}

// Suppression silences the findings whose ID matches ID (a pattern like
// "LBD4*") and, when set, whose file matches Path (a glob) and whose
// address is Address.
type Suppression struct {
	ID, Path, Address, Reason string
}

func (s Suppression) matches(f Finding) bool {
	if !matchesAny([]string{s.ID}, f.ID) || (s.Address != "" && s.Address != f.Address) {
		return false
	}
	if s.Path == "" {
		return true
	}
	ok, _ := path.Match(s.Path, f.Pos.File)
	return ok || s.Path == f.Pos.File
}

// Finding is one problem a check found.
type Finding struct {
	ID       string
	Severity Severity
	Service  string
	Pos      parsers.Pos
	Address  string
	Port     int
	Message  string
	// DaemonError is the line the daemon itself would print.
	DaemonError string
	Why         string
	Fix         []string
	// Persist holds the lines that, written to their files, fix the
	// finding for good: what "lbdoctor fix --write" writes.
	Persist []FileLine
	// Errno is what bind() would return; empty when the finding is not a
	// bind failure.
	Errno string
	// Listener is the listener the finding is about, if any.
	Listener *parsers.Listener
	// Node is the node whose file Pos is in, for a cluster check's
	// finding; Peer is the other side's file and line on its node.
	Node string
	Peer *Site
}

// ProbeKey names what a probe of l tried: the protocol, the address and
// whether the daemon asks for IP_TRANSPARENT.
func ProbeKey(l *parsers.Listener) string {
	return fmt.Sprintf("%s %s %t", l.Proto, l.Addr, l.Transparent)
}

// Probed is the errno of the probe of l, when there was one.
func (in *Input) Probed(l *parsers.Listener) (errno string, ok bool) {
	if len(in.Probes) == 0 {
		return "", false // without --probe: no key to format, per listener per check
	}
	errno, ok = in.Probes[ProbeKey(l)]
	return errno, ok
}

// FileLine is a line that belongs in a file.
type FileLine struct{ Path, Line string }

// Pass is what a check's Run sees: the input and a way to report.
type Pass struct {
	Check *Check
	*Input
	findings *[]Finding
	rc       *runCache // the indexes of the Run, shared by its passes
}

// Report records a finding; the check's ID and default severity fill in
// what the finding leaves empty.
func (p *Pass) Report(f Finding) {
	if f.ID == "" {
		f.ID = p.Check.ID
	}
	if f.Severity == 0 {
		f.Severity = p.Check.Severity
	}
	if l := f.Listener; l != nil {
		if f.Service == "" {
			f.Service = l.Service
		}
		if f.Pos == (parsers.Pos{}) {
			f.Pos = l.Pos
		}
		if f.Address == "" {
			f.Address = l.Address()
			f.Port = l.Port
		}
	}
	*p.findings = append(*p.findings, f)
}

// eachListener calls fn for every listener of p.Listeners(), split into one
// run of consecutive listeners per CPU, which run at the same time: a
// BACKUP node's VIP check reports on every VIP listener, tens of thousands
// on a big load balancer. fn reports through the Pass it is given, and
// the findings come out in listener order, as one loop would report them.
func (p *Pass) eachListener(fn func(p *Pass, l *parsers.Listener)) {
	ls := p.Listeners()
	// Below a few hundred listeners a goroutine costs more than it saves.
	n := max(1, min(runtime.GOMAXPROCS(0), len(ls)/500))
	parts := make([][]Finding, n)
	var wg sync.WaitGroup
	for k := range n {
		run := ls[k*len(ls)/n : (k+1)*len(ls)/n]
		wg.Go(func() {
			sub := &Pass{Check: p.Check, Input: p.Input, findings: &parts[k], rc: p.rc}
			for _, l := range run {
				fn(sub, l)
			}
		})
	}
	wg.Wait()
	for _, part := range parts {
		*p.findings = append(*p.findings, part...)
	}
}

// Listeners is every listener of every service found, in service order.
func (in *Input) Listeners() []*parsers.Listener {
	var ls []*parsers.Listener
	for _, s := range in.Services {
		if s.Config == nil {
			continue
		}
		for i := range s.Config.Listeners {
			ls = append(ls, &s.Config.Listeners[i])
		}
	}
	return ls
}

// VIP is a keepalived virtual address with the instance that owns it.
type VIP struct {
	parsers.VIP
	Instance *parsers.VRRPInstance
}

// VIPs is every keepalived virtual address, sorted by position.
func (in *Input) VIPs() []VIP {
	var vips []VIP
	for _, s := range in.Services {
		// keepalived in another namespace adds its VIPs there (LBD504).
		if s.Config == nil || s.Config.NetNamespace != "" {
			continue
		}
		for i := range s.Config.VRRP {
			inst := &s.Config.VRRP[i]
			for _, v := range inst.VIPs {
				vips = append(vips, VIP{VIP: v, Instance: inst})
			}
		}
	}
	sort.SliceStable(vips, func(i, j int) bool { return posLess(vips[i].Pos, vips[j].Pos) })
	return vips
}

// VIPFor is the keepalived VIP with exactly address a, if any.
func (in *Input) VIPFor(a netip.Addr) (VIP, bool) {
	for _, v := range in.VIPs() {
		if v.Prefix.Addr().WithZone("") == a.WithZone("") {
			return v, true
		}
	}
	return VIP{}, false
}

func posLess(a, b parsers.Pos) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	return a.Line < b.Line
}
