// Package netcfg reads the persistent network configuration of a host below
// a root, so that checks can tell an address that comes back at the next
// boot from one added by hand. It reads the five configuration systems a
// Linux load balancer is found with: netplan, ifupdown, systemd-networkd,
// NetworkManager keyfiles and RHEL's ifcfg files, each as its own tool reads
// it, into one list of profiles: which interfaces a profile matches, whether
// it is applied at boot, and the static addresses it adds.
//
// Which profiles apply to an interface at boot follows each tool: the first
// matching .network file (netplan's generated ones among them) for
// systemd-networkd, every iface stanza of the interface marked auto or
// allow-hotplug for ifupdown, every autoconnect profile for NetworkManager,
// every ifcfg file with ONBOOT other than "no". Files in /run are on tmpfs:
// they are read and recorded, but do not count at the next boot.
package netcfg

import (
	"net/netip"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// The tools, as Profile.Tool and File.Tool name them.
const (
	Netplan        = "netplan"
	Ifupdown       = "ifupdown"
	Networkd       = "networkd"
	NetworkManager = "networkmanager"
	Ifcfg          = "ifcfg"
)

// Config is the network configuration read below a root.
type Config struct {
	// Files are the configuration files read, by tool, in the order read.
	// An empty list says that no tool's configuration was found.
	Files []File `yaml:"files" json:"files"`
	// Profiles are what the files configure, one per netplan device
	// definition, ifupdown iface stanza, .network file, NetworkManager
	// connection or ifcfg file.
	Profiles []Profile `yaml:"profiles,omitempty" json:"profiles,omitempty"`
	// Sources are the patterns of ifupdown's source lines and the
	// directories of its source-directory lines, absolute: where a new
	// ifupdown file is read from.
	Sources []string `yaml:"ifupdown_sources,omitempty" json:"ifupdown_sources,omitempty"`
	// Disabled are the services of tools found that the next boot does not
	// start ("systemd-networkd.service"): their profiles are inactive.
	// lbdoctor judges this only when the root has /etc/systemd/system.
	Disabled []string `yaml:"disabled,omitempty" json:"disabled,omitempty"`
	// Errors are lines or files the tools would reject or skip.
	Errors []parsers.Error `yaml:"-" json:"errors,omitempty"`
}

// File is one configuration file read.
type File struct {
	Tool string `yaml:"tool" json:"tool"`
	Path string `yaml:"path" json:"path"`
}

// Profile is one unit of configuration that applies to the interfaces it
// matches.
type Profile struct {
	Tool string `yaml:"tool" json:"tool"`
	// Name is the netplan ID, the ifupdown interface, the .network file's
	// name, the NetworkManager connection id or the ifcfg DEVICE.
	Name string `yaml:"name" json:"name"`
	// Kind is netplan's device type ("ethernets", "bonds", ...) or
	// NetworkManager's connection type.
	Kind string `yaml:"kind,omitempty" json:"kind,omitempty"`
	File string `yaml:"file" json:"file"`
	Line int    `yaml:"line,omitempty" json:"line,omitempty"`
	// Order decides which .network file applies first: its file name, as
	// systemd-networkd sorts them. Set for networkd profiles and for netplan
	// definitions rendered by networkd ("10-netplan-ID.network").
	Order string `yaml:"order,omitempty" json:"order,omitempty"`
	Match Match  `yaml:"match" json:"match"`
	// Inactive says why the profile is not applied at boot ("not marked
	// auto or allow-hotplug", "autoconnect=false", "ONBOOT=no",
	// "Unmanaged=yes"); empty when it is.
	Inactive string `yaml:"inactive,omitempty" json:"inactive,omitempty"`
	// Runtime is true for a file in /run, which is gone after a reboot.
	Runtime bool `yaml:"runtime,omitempty" json:"runtime,omitempty"`
	// DHCP lists the families the profile leases addresses for: "ipv4",
	// "ipv6".
	DHCP      []string `yaml:"dhcp,omitempty" json:"dhcp,omitempty"`
	Addresses []Addr   `yaml:"addresses,omitempty" json:"addresses,omitempty"`

	hotplug bool // ifupdown: on an allow-hotplug line, which udev brings up
}

// Match says which interfaces a profile applies to. An interface matches
// when every condition given holds; a profile without any matches none.
type Match struct {
	// Names are fnmatch(3) patterns, any of which matches the interface
	// name; Invert turns the list around (networkd's "Name=!...").
	Names  []string `yaml:"names,omitempty" json:"names,omitempty"`
	Invert bool     `yaml:"invert,omitempty" json:"invert,omitempty"`
	// MACs are hardware addresses, lower case, any of which matches.
	MACs []string `yaml:"macs,omitempty" json:"macs,omitempty"`
	// Other are the conditions lbdoctor cannot judge from host facts
	// ("Driver=ixgbe", "Path=pci-*"); they are assumed to hold.
	Other []string `yaml:"other,omitempty" json:"other,omitempty"`
}

// Addr is a static address a profile adds.
type Addr struct {
	Address string `yaml:"address" json:"address"`
	Prefix  int    `yaml:"prefix" json:"prefix"`
	// File is set when the address comes from another file than the
	// profile's (a netplan definition merged from several files).
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	Line int    `yaml:"line,omitempty" json:"line,omitempty"`
	// Key is the variable that holds it, for ifcfg ("IPADDR1").
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
}

// Prefixed is the address with its prefix length.
func (a Addr) Prefixed() (netip.Prefix, bool) {
	ip, err := netip.ParseAddr(a.Address)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(ip, a.Prefix), true
}

// Iface is what matching needs to know of an interface.
type Iface struct {
	Name string
	MAC  string // lower case; empty when unknown
}

// Matches reports whether the profile applies to the interface. Conditions
// lbdoctor cannot judge, and a MAC condition on an interface whose MAC is
// unknown, are assumed to hold.
func (m Match) Matches(i Iface) bool {
	ok, _ := m.judge(i)
	return ok
}

// Sure reports whether Matches decided without assuming anything: no
// condition it cannot judge, and a MAC known where one is asked for.
func (m Match) Sure(i Iface) bool {
	_, sure := m.judge(i)
	return sure
}

func (m Match) judge(i Iface) (ok, sure bool) {
	if !m.names(i) {
		return false, true
	}
	if len(m.MACs) > 0 && i.Name == "lo" {
		return false, true // loopback has no hardware address to match
	}
	return true, len(m.Other) == 0 && (len(m.MACs) == 0 || i.MAC != "")
}

func (m Match) names(i Iface) bool {
	if len(m.Names) == 0 && len(m.MACs) == 0 && len(m.Other) == 0 {
		return false
	}
	if len(m.Names) > 0 {
		hit := false
		for _, n := range m.Names {
			if ok, _ := path.Match(n, i.Name); ok || n == i.Name {
				hit = true
				break
			}
		}
		if hit == m.Invert {
			return false
		}
	}
	if len(m.MACs) > 0 && i.MAC != "" {
		hit := false
		for _, mac := range m.MACs {
			if strings.EqualFold(mac, i.MAC) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// Applied is a profile that configures an interface at boot. Sure is false
// when the match rests on a condition lbdoctor cannot judge.
type Applied struct {
	Iface   Iface
	Profile *Profile
	Sure    bool
}

// AtBoot returns, for each interface, the profiles that configure it at the
// next boot: profiles from /run and inactive ones do not count; of the
// networkd profiles only the first matching one by Order applies, as
// systemd-networkd picks one .network file per link. A networkd profile
// whose match is not sure applies, and the search goes on after it, so that
// a vendor file matching "Type=wlan" does not hide the file that applies.
func (c *Config) AtBoot(ifaces []Iface) []Applied {
	var out []Applied
	networkd := c.networkdOrder()
	for _, i := range ifaces {
		for _, p := range networkd {
			if p.Runtime || !p.Match.Matches(i) {
				continue
			}
			sure := p.Match.Sure(i)
			if p.Inactive == "" {
				out = append(out, Applied{i, p, sure})
			}
			if sure {
				break
			}
		}
		for k := range c.Profiles {
			p := &c.Profiles[k]
			if p.Order != "" || p.Runtime || p.Inactive != "" || !p.Match.Matches(i) {
				continue
			}
			out = append(out, Applied{i, p, p.Match.Sure(i)})
		}
	}
	return out
}

// Shadowing is the networkd profile that applies to the interface instead
// of p, or nil: systemd-networkd applies the first matching .network file
// only.
func (c *Config) Shadowing(p *Profile, i Iface) *Profile {
	if p.Order == "" {
		return nil
	}
	for _, q := range c.networkdOrder() {
		if q.Runtime || !q.Match.Matches(i) {
			continue
		}
		if q == p {
			return nil
		}
		if q.Match.Sure(i) {
			return q
		}
	}
	return nil
}

// networkdOrder is the profiles that systemd-networkd picks from, in the
// order it tries them.
func (c *Config) networkdOrder() []*Profile {
	var ps []*Profile
	for k := range c.Profiles {
		if c.Profiles[k].Order != "" {
			ps = append(ps, &c.Profiles[k])
		}
	}
	sort.SliceStable(ps, func(a, b int) bool { return ps[a].Order < ps[b].Order })
	return ps
}

// HasTool reports whether any file of the tool was read.
func (c *Config) HasTool(tool string) bool {
	for _, f := range c.Files {
		if f.Tool == tool {
			return true
		}
	}
	return false
}

// IfupdownReads reports whether ifupdown reads file, through a source or
// source-directory line of /etc/network/interfaces.
func (c *Config) IfupdownReads(file string) bool {
	for _, s := range c.Sources {
		if s == path.Dir(file) && sourceDirName.MatchString(path.Base(file)) {
			return true
		}
		if ok, _ := path.Match(s, file); ok {
			return true
		}
	}
	return false
}

// Read reads every tool's configuration below root. Problems with single
// files land in Errors; nothing is fatal.
func Read(root parsers.Root) *Config {
	c := &Config{Files: []File{}}
	readNetplan(root, c)
	readIfupdown(root, c)
	readNetworkd(root, c)
	readNetworkManager(root, c)
	readIfcfg(root, c)
	c.markDisabled(root)
	return c
}

// Active reports whether any profile is applied at the next boot: one not
// in /run, not inactive (its tool's service included).
func (c *Config) Active() bool {
	for _, p := range c.Profiles {
		if p.Inactive == "" && !p.Runtime {
			return true
		}
	}
	return false
}

// ToolActive reports whether files of the tool were read and its service
// is not known to be disabled.
func (c *Config) ToolActive(tool string) bool {
	return c.HasTool(tool) && (tool == Netplan || !slices.Contains(c.Disabled, serviceOf[tool]))
}

// serviceOf is the systemd unit that applies each tool's files at boot
// (netplan's generator enables its renderer itself).
var serviceOf = map[string]string{
	Networkd:       "systemd-networkd.service",
	NetworkManager: "NetworkManager.service",
	Ifupdown:       "networking.service",
	Ifcfg:          "network.service",
}

// markDisabled makes the profiles of tools whose service is not enabled at
// boot inactive. netplan's generator enables systemd-networkd when a
// definition renders with it; RHEL's ifcfg files are read by
// NetworkManager's ifcfg-rh plugin or the old network.service; ifupdown's
// allow-hotplug interfaces come up through udev without networking.service.
func (c *Config) markDisabled(root parsers.Root) {
	if fi, err := root.Stat("/etc/systemd/system"); err != nil || !fi.IsDir() {
		return // a tree without systemd's configuration: not judged
	}
	on := map[string]bool{}
	for _, u := range []string{"systemd-networkd.service", "NetworkManager.service", "networking.service", "network.service"} {
		on[u] = unitEnabled(root, u)
	}
	for _, p := range c.Profiles {
		if p.Tool == Netplan && p.Order != "" && !p.Runtime {
			on["systemd-networkd.service"] = true
		}
	}
	if on["NetworkManager.service"] {
		on["network.service"] = true
	}
	for _, t := range []string{Networkd, NetworkManager, Ifupdown, Ifcfg} {
		if u := serviceOf[t]; !on[u] && c.HasTool(t) {
			c.Disabled = append(c.Disabled, u)
		}
	}
	for k := range c.Profiles {
		p := &c.Profiles[k]
		unit := serviceOf[p.Tool]
		switch {
		case p.Tool == Netplan && p.Order == "":
			unit = "NetworkManager.service"
		case p.Tool == Netplan, p.Tool == Ifupdown && p.hotplug:
			continue
		}
		if !on[unit] && p.Inactive == "" {
			p.Inactive = unit + " is not enabled"
		}
	}
}

// unitEnabled reports whether a systemd unit is started at boot below
// root: linked from a .wants or .requires directory, and not masked.
func unitEnabled(root parsers.Root, unit string) bool {
	if r, _ := root.Chase("/etc/systemd/system/" + unit); r == "/dev/null" {
		return false
	}
	for _, dir := range []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"} {
		for _, kind := range []string{"wants", "requires"} {
			if m, _ := root.Glob(dir + "/*." + kind + "/" + unit); len(m) > 0 {
				return true
			}
		}
	}
	return false
}

func (c *Config) addFile(tool, file string) { c.Files = append(c.Files, File{Tool: tool, Path: file}) }

func (c *Config) errorf(file string, line int, msg string) {
	c.Errors = append(c.Errors, parsers.Error{Pos: parsers.Pos{File: file, Line: line}, Msg: msg})
}

// isRuntime reports whether a file lives on /run's tmpfs.
func isRuntime(file string) bool { return strings.HasPrefix(file, "/run/") }

// parseAddr reads "A/P" (or "A" with a default prefix, -1 for none allowed).
func parseAddr(s string, defPrefix4, defPrefix6 int) (Addr, bool) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return Addr{Address: p.Addr().String(), Prefix: p.Bits()}, true
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return Addr{}, false
	}
	def := defPrefix4
	if ip.Is6() {
		def = defPrefix6
	}
	if def < 0 {
		return Addr{}, false
	}
	return Addr{Address: ip.String(), Prefix: def}, true
}

// maskBits turns a dotted netmask into a prefix length.
func maskBits(mask string) (int, bool) {
	ip, err := netip.ParseAddr(strings.TrimSpace(mask))
	if err != nil || !ip.Is4() {
		return 0, false
	}
	b := ip.As4()
	n := 0
	seenZero := false
	for _, x := range b {
		for bit := 7; bit >= 0; bit-- {
			if x&(1<<bit) != 0 {
				if seenZero {
					return 0, false
				}
				n++
			} else {
				seenZero = true
			}
		}
	}
	return n, true
}

func normMAC(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
