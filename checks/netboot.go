package checks

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/netcfg"
)

// netView is what the next boot does to this host's addresses, as the
// persistent network configuration in the facts says: built once per
// check run (Pass.netView) and shared by the checks that read it.
type netView struct {
	cfg    *netcfg.Config
	ifaces []netcfg.Iface
	// now are the host's addresses by IP.
	now map[netip.Addr][]host.Address
	// boot are the addresses some profile adds at the next boot, with the
	// profile; any are those any profile mentions, applied at boot or not.
	boot map[netip.Addr]netcfg.Applied
	any  map[netip.Addr][]*netcfg.Profile
	// applied are the profiles applied at boot, by interface name.
	applied map[string][]*netcfg.Profile
	// slotMu guards the IPADDRn indexes below, which LBD410 and LBD411
	// ask for at the same time. ifcfgSlot is the index given to an
	// address in an ifcfg file, so that every finding on one address
	// writes the same lines and no two addresses share one; ifcfgNext is
	// the next free index per file. slotsGiven says the indexes of every
	// address that takes a fix have been given (giveIfcfgSlots).
	slotMu     sync.Mutex
	slotsGiven bool
	ifcfgNext  map[string]int
	ifcfgSlot  map[ifcfgKey]int
	// static are keepalived's static_ipaddress entries.
	static map[netip.Addr]bool
}

// ifcfgKey is an address in an ifcfg file.
type ifcfgKey struct {
	file string
	ip   netip.Addr
}

// netView is the run's view of the boot network configuration, built on
// first use: every check sees the same one, so the IPADDRn indexes of an
// ifcfg file are given once, across checks.
func (p *Pass) netView() *netView {
	c := p.cache()
	c.netOnce.Do(func() { c.net = newNetView(p) })
	return c.net
}

func newNetView(p *Pass) *netView {
	h := p.Host
	v := &netView{cfg: h.Network, now: map[netip.Addr][]host.Address{}, boot: map[netip.Addr]netcfg.Applied{},
		any: map[netip.Addr][]*netcfg.Profile{}, applied: map[string][]*netcfg.Profile{},
		ifcfgNext: map[string]int{}, ifcfgSlot: map[ifcfgKey]int{}, static: map[netip.Addr]bool{}}
	for _, s := range p.Services {
		if s.Config == nil || s.Config.NetNamespace != "" {
			continue
		}
		for _, a := range s.Config.StaticAddresses {
			v.static[a.Prefix.Addr().WithZone("").Unmap()] = true
		}
	}
	seen := map[string]bool{}
	for _, i := range h.Interfaces {
		seen[i.Name] = true
		v.ifaces = append(v.ifaces, netcfg.Iface{Name: i.Name, MAC: strings.ToLower(i.MAC)})
	}
	for _, a := range h.Addresses {
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			continue
		}
		v.now[ip] = append(v.now[ip], a)
		// A snapshot written by hand may list addresses only.
		if !seen[a.Interface] {
			seen[a.Interface] = true
			v.ifaces = append(v.ifaces, netcfg.Iface{Name: a.Interface})
		}
	}
	if v.cfg == nil {
		return v
	}
	for _, ap := range v.cfg.AtBoot(v.ifaces) {
		// Only a sure match describes the interface or takes a fix; any
		// match counts for the addresses the boot adds.
		if ap.Sure {
			v.applied[ap.Iface.Name] = append(v.applied[ap.Iface.Name], ap.Profile)
		}
		for _, a := range ap.Profile.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				if _, ok := v.boot[ip]; !ok {
					v.boot[ip] = ap
				}
			}
		}
	}
	for k := range v.cfg.Profiles {
		p := &v.cfg.Profiles[k]
		for _, a := range p.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil && !slices.Contains(v.any[ip], p) {
				v.any[ip] = append(v.any[ip], p)
			}
		}
	}
	return v
}

// netNeed is an address a listener needs that the host has now.
type netNeed struct {
	ip   netip.Addr
	have host.Address
}

// needsAddress returns the address of this host that l binds and needs at
// the next boot: a specific, non-loopback address that is not a keepalived
// VIP or static_ipaddress (keepalived adds those), for a listener that does not bind non-local
// addresses, on a host whose non-local bind is off at boot.
func (v *netView) needsAddress(p *Pass, l *parsers.Listener) (netNeed, bool) {
	if !opensIPSocket(l) || l.Transparent {
		return netNeed{}, false
	}
	ip := l.Addr.WithZone("").Unmap()
	// The kernel derives an IPv6 link-local address from the link at
	// every boot; no configuration file names it.
	if ip.IsUnspecified() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return netNeed{}, false
	}
	if _, isVIP := p.VIPFor(l.Addr); isVIP {
		return netNeed{}, false
	}
	// keepalived's static_ipaddress: keepalived adds it when it starts.
	if v.static[ip] {
		return netNeed{}, false
	}
	name := nonlocalSysctl(l)
	if boot, _, known := bootValue(p.Host, name); (known && boot == "1") || (!known && p.Host.Sysctl(name) == "1") {
		return netNeed{}, false
	}
	have, ok := v.now[ip]
	if !ok {
		return netNeed{}, false // not here now: LBD101 says so
	}
	// An address on several interfaces: judge the one a boot would most
	// likely miss, the dynamic one first.
	best := have[0]
	for _, a := range have {
		if slices.Contains(a.Flags, "dynamic") {
			best = a
		}
	}
	return netNeed{ip: ip, have: best}, true
}

// toolNames are the tools in the order a fix prefers them.
var toolNames = []string{netcfg.Netplan, netcfg.Networkd, netcfg.NetworkManager, netcfg.Ifupdown, netcfg.Ifcfg}

// toolTitle is how messages name a tool.
var toolTitle = map[string]string{
	netcfg.Netplan:        "netplan",
	netcfg.Networkd:       "systemd-networkd",
	netcfg.NetworkManager: "NetworkManager",
	netcfg.Ifupdown:       "ifupdown",
	netcfg.Ifcfg:          "ifcfg",
}

// configured describes what configures the interface at boot, for a why.
func (v *netView) configured(iface string) string {
	ps := v.applied[iface]
	if len(ps) == 0 {
		var tools []string
		for _, t := range toolNames {
			if v.cfg.ToolActive(t) {
				tools = append(tools, toolTitle[t])
			}
		}
		return fmt.Sprintf("no %s configuration read matches %s", strings.Join(tools, ", "), iface)
	}
	var parts []string
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", toolTitle[p.Tool], p.Name, parsers.Pos{File: p.File, Line: p.Line}))
	}
	verb := "configures"
	if len(parts) > 1 {
		verb = "configure"
	}
	return fmt.Sprintf("%s %s %s without it", strings.Join(parts, " and "), verb, iface)
}

// fix is the persistent configuration that adds the address at boot, in
// the tool that configures its interface (else the tool in use): the
// commands to print and the lines to write.
func (v *netView) fix(p *Pass, n netNeed) (cmds []string, persist []FileLine) {
	iface := n.have.Interface
	ap := netip.PrefixFrom(n.ip, n.have.Prefix).String()
	profile, tool := v.fixTarget(iface)
	switch tool {
	case netcfg.Netplan:
		id, kind := iface, "ethernets"
		if profile != nil {
			id, kind = profile.Name, profile.Kind
		}
		file := "/etc/netplan/60-lbdoctor-" + fileSafe(id) + ".yaml"
		persist = dropIn(file, "network:", "  version: 2", "  "+kind+":", "    "+id+":", "      addresses:", "        - "+ap)
		cmds = append(cmds, printfTo(persist, file), "chmod 600 "+file, "netplan generate")
	case netcfg.Networkd:
		var file string
		if profile != nil {
			file = "/etc/systemd/network/" + profile.Name + ".d/60-lbdoctor.conf"
			persist = dropIn(file, "[Network]", "Address="+ap)
			cmds = append(cmds, "mkdir -p /etc/systemd/network/"+profile.Name+".d")
		} else {
			file = "/etc/systemd/network/60-lbdoctor-" + fileSafe(iface) + ".network"
			persist = dropIn(file, "[Match]", "Name="+iface, "[Network]", "Address="+ap)
		}
		cmds = append(cmds, printfTo(persist, file))
	case netcfg.NetworkManager:
		fam := "ipv4"
		if n.ip.Is6() {
			fam = "ipv6"
		}
		if profile != nil {
			cmds = append(cmds, fmt.Sprintf("nmcli connection modify %s +%s.addresses %s", shellQuote(profile.Name), fam, ap))
		} else {
			cmds = append(cmds, fmt.Sprintf("nmcli connection add type ethernet ifname %s con-name lbdoctor-%s %s.method manual %s.addresses %s", iface, iface, fam, fam, ap))
		}
	case netcfg.Ifupdown:
		file := "/etc/network/interfaces.d/60-lbdoctor-" + fileSafe(iface)
		persist = dropIn(file, "auto "+iface, "iface "+iface+" inet manual", "    up ip addr replace "+ap+" dev "+iface)
		cmds = append(cmds, printfTo(persist, file))
		if !v.cfg.IfupdownReads(file) {
			persist = append(persist, FileLine{Path: "/etc/network/interfaces", Line: "source " + file})
			cmds = append(cmds, "echo 'source "+file+"' >> /etc/network/interfaces")
		}
	case netcfg.Ifcfg:
		if profile != nil && n.ip.Is4() {
			k := strconv.Itoa(v.ifcfgSlotFor(p, profile, n.ip))
			persist = dropIn(profile.File, "IPADDR"+k+"="+n.ip.String(), "PREFIX"+k+"="+strconv.Itoa(n.have.Prefix))
			cmds = append(cmds, printfAppend(persist, profile.File))
		} else if profile != nil {
			var sec []string
			for _, a := range profile.Addresses {
				if a.Key == "IPV6ADDR_SECONDARIES" {
					sec = append(sec, netip.PrefixFrom(netip.MustParseAddr(a.Address), a.Prefix).String())
				}
			}
			sec = append(sec, ap)
			persist = dropIn(profile.File, `IPV6ADDR_SECONDARIES="`+strings.Join(sec, " ")+`"`)
			cmds = append(cmds, printfAppend(persist, profile.File))
		} else {
			file := "/etc/sysconfig/network-scripts/ifcfg-" + iface
			key := "IPADDR=" + n.ip.String()
			pfx := "PREFIX=" + strconv.Itoa(n.have.Prefix)
			if n.ip.Is6() {
				key, pfx = "IPV6INIT=yes", "IPV6ADDR="+ap
			}
			persist = dropIn(file, "DEVICE="+iface, "ONBOOT=yes", "BOOTPROTO=none", key, pfx)
			cmds = append(cmds, printfTo(persist, file))
		}
	}
	return cmds, persist
}

// fixTarget is the profile and tool a fix for an address on iface goes
// to: the profile of the first tool in toolNames that configures iface at
// boot, else no profile and the first tool in use.
func (v *netView) fixTarget(iface string) (*netcfg.Profile, string) {
	for _, t := range toolNames {
		for _, p := range v.applied[iface] {
			if p.Tool == t {
				return p, t
			}
		}
	}
	for _, t := range toolNames {
		if v.cfg.ToolActive(t) {
			return nil, t
		}
	}
	return nil, ""
}

// takesFix reports whether LBD410 or LBD411 gives n a persistent fix
// (v.fix): a dynamic address, or one added by hand that no profile
// mentions (LBD413 speaks of the others), when some tool is in use.
func (v *netView) takesFix(n netNeed) bool {
	if v.cfg == nil || !v.cfg.Active() {
		return false
	}
	if isDynamic(n) {
		return true
	}
	_, atBoot := v.boot[n.ip]
	return !atBoot && len(v.any[n.ip]) == 0
}

// ifcfgSlotFor is the IPADDRn index of ip in the ifcfg profile pr. The
// first call gives every IPv4 address that takes a fix in an ifcfg
// profile its index, by file and then by address, whatever the check
// and listener that asks first: LBD410 and LBD411 run at the same time,
// and the indexes, and so fix's output, are the same on every run.
func (v *netView) ifcfgSlotFor(p *Pass, pr *netcfg.Profile, ip netip.Addr) int {
	v.slotMu.Lock()
	defer v.slotMu.Unlock()
	if !v.slotsGiven {
		v.slotsGiven = true
		v.giveIfcfgSlots(p)
	}
	k := ifcfgKey{pr.File, ip}
	slot, ok := v.ifcfgSlot[k]
	if !ok { // not a fix giveIfcfgSlots foresaw: the next free index
		slot = v.nextIfcfg(pr)
		v.ifcfgSlot[k] = slot
	}
	return slot
}

// giveIfcfgSlots gives the IPADDRn indexes of the addresses that take a
// fix in an ifcfg profile, in order of file and address; v.slotMu is held.
// Only the fixes of the checks that run count, so that no index goes to
// a line no finding writes and the IPADDRn series fix writes has no gap
// (--checks all,-LBD411 numbers LBD410's addresses alone).
func (v *netView) giveIfcfgSlots(p *Pass) {
	type want struct {
		k  ifcfgKey
		pr *netcfg.Profile
	}
	c := p.cache()
	var ws []want
	for _, l := range p.Listeners() {
		n, ok := v.needsAddress(p, l)
		if !ok || !n.ip.Is4() || !v.takesFix(n) {
			continue
		}
		by := "LBD410" // added by hand
		if isDynamic(n) {
			by = "LBD411"
		}
		if !c.runs(by) {
			continue
		}
		if pr, tool := v.fixTarget(n.have.Interface); pr != nil && tool == netcfg.Ifcfg {
			ws = append(ws, want{ifcfgKey{pr.File, n.ip}, pr})
		}
	}
	slices.SortFunc(ws, func(a, b want) int {
		if c := strings.Compare(a.k.file, b.k.file); c != 0 {
			return c
		}
		return a.k.ip.Compare(b.k.ip)
	})
	for _, w := range ws {
		if _, ok := v.ifcfgSlot[w.k]; !ok {
			v.ifcfgSlot[w.k] = v.nextIfcfg(w.pr)
		}
	}
}

// nextIfcfg is the next IPADDRn index free in an ifcfg profile; v.slotMu
// is held.
func (v *netView) nextIfcfg(p *netcfg.Profile) int {
	if n, ok := v.ifcfgNext[p.File]; ok {
		v.ifcfgNext[p.File] = n + 1
		return n
	}
	next := 1
	for _, a := range p.Addresses {
		if k, ok := strings.CutPrefix(a.Key, "IPADDR"); ok && k != "" {
			if n, err := strconv.Atoi(k); err == nil && n >= next {
				next = n + 1
			}
		}
	}
	v.ifcfgNext[p.File] = next + 1
	return next
}

var unsafeFileChars = regexp.MustCompile(`[^a-zA-Z0-9_-]`)

// fileSafe turns an interface name into a file name part that ifupdown's
// source-directory also reads (no dots).
func fileSafe(s string) string { return unsafeFileChars.ReplaceAllString(s, "_") }

func printfTo(lines []FileLine, file string) string {
	return "printf '" + printfBody(lines) + "' > " + file
}

func printfAppend(lines []FileLine, file string) string {
	return "printf '" + printfBody(lines) + "' >> " + file
}

func printfBody(lines []FileLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(l.Line, `\`, `\\`), "'", `'\''`))
		b.WriteString(`\n`)
	}
	return strings.ReplaceAll(b.String(), "%", "%%")
}

// shellSafe matches the words a shell takes as they are.
var shellSafe = regexp.MustCompile(`^[a-zA-Z0-9_.@:/-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// inactiveWhy says why the profiles that mention an address do not add it at
// the next boot, each with its file and line.
func (v *netView) inactiveWhy(ip netip.Addr) (string, parsers.Pos, []string) {
	var whys []string
	var fix []string
	var at parsers.Pos
	for _, p := range v.any[ip] {
		line := p.Line
		for _, a := range p.Addresses {
			if a.Address == ip.String() && a.Line != 0 && a.File == "" {
				line = a.Line
			}
		}
		pos := parsers.Pos{File: p.File, Line: line}
		if at.File == "" {
			at = pos
		}
		var why string
		switch {
		case p.Runtime:
			why = fmt.Sprintf("%s is in /run, which is emptied at boot", pos)
			if dest, ok := strings.CutPrefix(p.File, "/run/"); ok {
				if p.Tool == netcfg.Netplan || p.Tool == netcfg.Networkd || p.Tool == netcfg.NetworkManager {
					fix = append(fix, "cp "+p.File+" /etc/"+dest)
				}
			}
		case p.Inactive != "":
			why = fmt.Sprintf("%s (%s %s) is not applied at boot: %s", pos, toolTitle[p.Tool], p.Name, p.Inactive)
			switch {
			case strings.HasSuffix(p.Inactive, " is not enabled"):
				fix = append(fix, "systemctl enable "+strings.TrimSuffix(p.Inactive, " is not enabled"))
			case p.Tool == netcfg.Ifupdown && strings.HasPrefix(p.Inactive, "not marked"):
				fix = append(fix, "echo 'auto "+p.Name+"' >> /etc/network/interfaces")
			case p.Tool == netcfg.NetworkManager && p.Inactive == "autoconnect=false":
				fix = append(fix, "nmcli connection modify "+shellQuote(p.Name)+" connection.autoconnect yes")
			case p.Tool == netcfg.Ifcfg:
				fix = append(fix, "echo 'ONBOOT=yes' >> "+p.File)
			}
		default:
			matched := false
			for _, i := range v.ifaces {
				if !p.Match.Matches(i) {
					continue
				}
				matched = true
				if q := v.cfg.Shadowing(p, i); q != nil {
					why = fmt.Sprintf("%s (%s) matches %s, but systemd-networkd applies the first matching file, %s", pos, p.Name, i.Name, q.File)
					break
				}
			}
			if !matched {
				why = fmt.Sprintf("%s (%s %s) matches no interface of this host (%s)", pos, toolTitle[p.Tool], p.Name, describeMatch(p.Match))
			}
		}
		if why != "" {
			whys = append(whys, why)
		}
	}
	sort.Strings(fix)
	return strings.Join(whys, "; "), at, slices.Compact(fix)
}

func describeMatch(m netcfg.Match) string {
	var parts []string
	if len(m.Names) > 0 {
		s := "name " + strings.Join(m.Names, " ")
		if m.Invert {
			s = "name not " + strings.Join(m.Names, " ")
		}
		parts = append(parts, s)
	}
	if len(m.MACs) > 0 {
		parts = append(parts, "MAC "+strings.Join(m.MACs, " "))
	}
	parts = append(parts, m.Other...)
	if len(parts) == 0 {
		return "no match conditions"
	}
	return strings.Join(parts, ", ")
}

// bootCreates reports whether the boot network configuration creates
// address a on some interface at the next boot, where the kernel accepts
// it: an IPv6 address not on an interface whose disable_ipv6 is 1 then.
func (v *netView) bootCreates(p *Pass, a netip.Addr) bool {
	if v.cfg == nil {
		return false
	}
	ip := a.WithZone("").Unmap()
	ap, ok := v.boot[ip]
	if !ok {
		return false
	}
	if ip.Is6() {
		if boot, _, known := bootValue(p.Host, host.DisableIPv6(ap.Iface.Name)); known && boot == "1" {
			return false
		}
	}
	return true
}
