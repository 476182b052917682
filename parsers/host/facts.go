// Package host describes the machine lbdoctor judges: its addresses, local
// routes, sysctls and listening sockets. Facts come from the live host
// (Gather, through netlink and /proc) or from a snapshot file (Load); checks
// cannot tell which.
package host

import (
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers/netcfg"
	"github.com/lbdoctor/lbdoctor/parsers/selinux"
)

// Facts is everything checks know about a host. Its YAML form is the
// snapshot format; its JSON form is the contract's "host" object.
type Facts struct {
	Hostname string `yaml:"hostname" json:"hostname"`
	// Source is "live" or the snapshot file it was loaded from.
	Source string `yaml:"-" json:"source"`
	// NoIPv6 is true when the kernel has no IPv6 (socket(AF_INET6) fails
	// with EAFNOSUPPORT).
	NoIPv6     bool        `yaml:"no_ipv6,omitempty" json:"-"`
	Interfaces []Interface `yaml:"interfaces" json:"-"`
	Addresses  []Address   `yaml:"addresses" json:"addresses"`
	Routes     []Route     `yaml:"local_routes" json:"-"`
	// LocalTableMerged is true when the kernel keeps tables local and
	// main in one trie, as it does until an ip rule is first added or
	// deleted in the namespace: then bind()'s lookup in table local also
	// sees the routes of table main.
	LocalTableMerged bool              `yaml:"local_table_merged,omitempty" json:"-"`
	Sysctls          map[string]string `yaml:"sysctls" json:"sysctls"`
	Sockets          []Socket          `yaml:"sockets" json:"-"`
	// Persisted are the sysctls lbdoctor reads as systemd-sysctl would set
	// them at the next boot; nil when unknown.
	Persisted []Persisted `yaml:"persisted_sysctls,omitempty" json:"-"`
	// Dirs are the directories of the configs' unix sockets, as they are
	// now; a directory not listed is unknown.
	Dirs []Dir `yaml:"dirs,omitempty" json:"-"`
	// Network is the persistent network configuration (netplan, ifupdown,
	// systemd-networkd, NetworkManager, ifcfg) that creates addresses at
	// the next boot; nil when unknown.
	Network *netcfg.Config `yaml:"boot_network,omitempty" json:"-"`
	// Cmdline is the running kernel's command line (/proc/cmdline); empty
	// when unknown.
	Cmdline string `yaml:"kernel_cmdline,omitempty" json:"-"`
	// BootCmdlines are the kernel command lines the boot loader's
	// configuration gives the next boot, one per configuration found; nil
	// when none was found.
	BootCmdlines []Cmdline `yaml:"boot_cmdlines,omitempty" json:"-"`
	// UnixPaths are what is on disk at the paths of the configs' unix
	// sockets now; a path not listed is unknown.
	UnixPaths []UnixPath `yaml:"unix_paths,omitempty" json:"-"`
	// SELinux is what SELinux decides about the daemons' binds: the mode
	// now and after a reboot, port types, domains and their grants; nil
	// when unknown.
	SELinux *selinux.Facts `yaml:"selinux,omitempty" json:"-"`
	// UnknownOwners counts the sockets whose owner Gather could not see
	// (other users' /proc/PID/fd are private to a non-root reader).
	UnknownOwners int `yaml:"-" json:"-"`

	// The fields below make a snapshot a bundle (snapshot --with-configs):
	// the node's own files, so that check --host judges its configs.

	// HAProxyVersion and HAProxyFeatures are what the node's installed
	// haproxy -vv printed; empty when it has none.
	HAProxyVersion  string   `yaml:"haproxy_version,omitempty" json:"-"`
	HAProxyFeatures []string `yaml:"haproxy_features,omitempty" json:"-"`
	// Resolved are the host names the configs named, as the node's
	// resolver answered them (an empty list: no answer).
	Resolved map[string][]netip.Addr `yaml:"resolved,omitempty" json:"-"`
	// Configs are the configs the bundle was made for when options named
	// them; nil when they were found at the default paths.
	Configs *Configs `yaml:"configs,omitempty" json:"-"`
	// Files are the files judging the node reads, by the names the node
	// gives them; nil in a snapshot without configs.
	Files []File `yaml:"files,omitempty" json:"-"`
	// Omitted are the files a bundle leaves out on purpose (keys and
	// certificates), with the reason.
	Omitted []Omitted `yaml:"omitted_files,omitempty" json:"-"`
}

// IsBundle reports whether the facts carry the node's files.
func (f *Facts) IsBundle() bool { return len(f.Files) > 0 }

// Configs are the config options a bundle was made with, absolute.
type Configs struct {
	Nginx        []string `yaml:"nginx,omitempty"`
	HAProxy      []string `yaml:"haproxy,omitempty"`
	Keepalived   []string `yaml:"keepalived,omitempty"`
	Env          []string `yaml:"env,omitempty"`
	KeepalivedID string   `yaml:"keepalived_id,omitempty"`
	// Other are the configs of the other services behind the VIP, by
	// service name ("apache", "postgresql", "redis").
	Other map[string][]string `yaml:"other,omitempty"`
	// Containers are the container definitions named with --container.
	Containers []string `yaml:"containers,omitempty"`
}

// File is one file (or symlink, or directory) of a bundle.
type File struct {
	Path string `yaml:"path"`
	// Link is a symlink's target as written; the file is a link when set.
	Link string `yaml:"link,omitempty"`
	// Dir marks a directory the node has (an empty include directory).
	Dir bool `yaml:"dir,omitempty"`
	// Content is a text file's content; Base64 holds it instead when it
	// is not UTF-8.
	Content string `yaml:"content,omitempty"`
	Base64  string `yaml:"content_base64,omitempty"`
	// Redacted are the lines whose secrets were replaced by a digest.
	Redacted []int `yaml:"redacted_lines,omitempty,flow"`
}

// Omitted is a file a bundle leaves out and why.
type Omitted struct {
	Path   string `yaml:"path"`
	Reason string `yaml:"reason"`
}

// Persisted is a sysctl's value at the next boot and the line that sets
// it; File is empty when no file sets it (the kernel default then holds).
type Persisted struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
	File  string `yaml:"file,omitempty"`
	Line  int    `yaml:"line,omitempty"`
}

// PersistedValue is what the facts say name will be after a reboot.
func (f *Facts) PersistedValue(name string) (Persisted, bool) {
	for _, p := range f.Persisted {
		if p.Name == name {
			return p, true
		}
	}
	return Persisted{}, false
}

// Cmdline is a kernel command line the next boot uses: Value is the whole
// line, File and Line the assignment that last added to it.
type Cmdline struct {
	Value string `yaml:"value"`
	File  string `yaml:"file"`
	Line  int    `yaml:"line,omitempty"`
}

// UnixPath is what is at a unix socket's path: Socket when a socket file
// is there, Listening when a socket bound to that path (or, as HAProxy
// binds, to PATH.PID.tmp renamed to it) listens now.
type UnixPath struct {
	Path      string `yaml:"path"`
	Socket    bool   `yaml:"socket"`
	Listening bool   `yaml:"listening,omitempty"`
}

// UnixPath finds what the facts say is at path.
func (f *Facts) UnixPath(path string) (UnixPath, bool) {
	for _, u := range f.UnixPaths {
		if u.Path == path {
			return u, true
		}
	}
	return UnixPath{}, false
}

// Dir is the state of a directory a unix socket is created in.
type Dir struct {
	Path   string `yaml:"path"`
	Exists bool   `yaml:"exists"`
}

// Dir finds what the facts say of directory path.
func (f *Facts) Dir(path string) (Dir, bool) {
	for _, d := range f.Dirs {
		if d.Path == path {
			return d, true
		}
	}
	return Dir{}, false
}

// StatDirs records whether each directory exists on this machine now. It
// only reads.
func StatDirs(paths []string) []Dir {
	var out []Dir
	for _, p := range paths {
		st, err := os.Stat(p)
		out = append(out, Dir{Path: p, Exists: err == nil && st.IsDir()})
	}
	return out
}

// Interface is a network link.
type Interface struct {
	Name  string `yaml:"name"`
	Index int    `yaml:"index"`
	Up    bool   `yaml:"up"`
	// MAC is the hardware address, lower case; empty when the link has
	// none or it is unknown.
	MAC string `yaml:"mac,omitempty"`
}

// Address is an address configured on an interface. Flags are the kernel's
// IFA_F_* names as ip(8) prints them: "tentative", "dadfailed", "nodad",
// "optimistic", "deprecated", "secondary", "permanent", and "dynamic" for an
// address without IFA_F_PERMANENT (a DHCP lease, a SLAAC address: it has a
// lifetime), as ip(8) prints it too.
type Address struct {
	Address   string   `yaml:"address" json:"address"`
	Prefix    int      `yaml:"prefix" json:"prefix"`
	Interface string   `yaml:"interface" json:"interface"`
	Family    string   `yaml:"family" json:"family"` // "ipv4" or "ipv6"
	Flags     []string `yaml:"flags,omitempty" json:"flags"`
}

// Route is a route that decides whether bind() accepts an IPv4 address:
// a route of type local from any routing table ("ip route add local
// 10.9.0.0/24 dev lo"), and every route of table local, and of table main
// while the two are merged (Facts.LocalTableMerged), that could hide such
// a route or make an address bindable on its own (broadcast, multicast).
// IPv6 routes are of type local only.
type Route struct {
	Prefix    string `yaml:"prefix"` // "10.9.0.0/24"
	Interface string `yaml:"interface,omitempty"`
	Table     int    `yaml:"table,omitempty"`
	// Type is the route type as ip(8) names it: "local" (also when empty,
	// as snapshots that only held local routes have it), "broadcast",
	// "multicast", "unicast", "anycast", "blackhole", "unreachable",
	// "prohibit", "throw", "nat" or "xresolve".
	Type string `yaml:"type,omitempty"`
	// Metric orders routes of one table with the same prefix: the lowest
	// comes first, and among equal ones the facts' order is the kernel's.
	Metric int `yaml:"metric,omitempty"`
}

// routeType names the kernel's route type number (RTN_*) as ip(8) does,
// or returns "" for a number it has no name for.
func routeType(n int) string {
	names := [...]string{1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast",
		6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw", 10: "nat", 11: "xresolve"}
	if n < 0 || n >= len(names) {
		return ""
	}
	return names[n]
}

// knownRouteType reports whether ip(8) has the route type name t.
func knownRouteType(t string) bool {
	for n := 1; routeType(n) != ""; n++ {
		if routeType(n) == t {
			return true
		}
	}
	return false
}

// TypeName is r's type, "local" when the facts leave it empty.
func (r Route) TypeName() string {
	if r.Type == "" {
		return "local"
	}
	return r.Type
}

// Bindable reports whether bind() accepts an address whose route in table
// local is r: the kernel's inet_addr_valid_or_nonlocal takes the types
// local, broadcast and multicast.
func (r Route) Bindable() bool {
	switch r.TypeName() {
	case "local", "broadcast", "multicast":
		return true
	}
	return false
}

// Socket is a listening TCP socket or a bound UDP socket.
type Socket struct {
	Proto     string `yaml:"proto"` // "tcp" or "udp"
	Address   string `yaml:"address"`
	Port      int    `yaml:"port"`
	Interface string `yaml:"interface,omitempty"` // SO_BINDTODEVICE
	V6Only    bool   `yaml:"v6only,omitempty"`
	UID       int    `yaml:"uid"`
	Inode     uint64 `yaml:"inode,omitempty"`
	// PID and Command name the owner, when /proc lets us see it.
	PID     int    `yaml:"pid,omitempty"`
	Command string `yaml:"command,omitempty"`
	// ReuseAddr and ReusePort are the owner's SO_REUSEADDR and
	// SO_REUSEPORT, which decide whether another socket may share the
	// port; nil when they could not be read.
	ReuseAddr *bool `yaml:"reuseaddr,omitempty"`
	ReusePort *bool `yaml:"reuseport,omitempty"`
}

// Sysctl names the checks read.
const (
	NonlocalBind4       = "net.ipv4.ip_nonlocal_bind"
	NonlocalBind6       = "net.ipv6.ip_nonlocal_bind"
	BindV6Only          = "net.ipv6.bindv6only"
	UnprivilegedPortMin = "net.ipv4.ip_unprivileged_port_start"
	LocalPortRange      = "net.ipv4.ip_local_port_range"
	ReservedPorts       = "net.ipv4.ip_local_reserved_ports"
	DisableIPv6All      = "net.ipv6.conf.all.disable_ipv6"
	DisableIPv6Default  = "net.ipv6.conf.default.disable_ipv6"
)

// BindSysctls are the sysctls that decide a bind, besides the per
// interface net.ipv6.conf.IFACE.disable_ipv6 (DisableIPv6).
var BindSysctls = []string{NonlocalBind4, NonlocalBind6, BindV6Only, UnprivilegedPortMin, LocalPortRange, ReservedPorts, DisableIPv6All, DisableIPv6Default}

// DisableIPv6 is the disable_ipv6 sysctl of interface iface.
func DisableIPv6(iface string) string {
	return "net.ipv6.conf." + strings.ReplaceAll(iface, ".", "/") + ".disable_ipv6"
}

// DisableIPv6Iface is the interface whose disable_ipv6 sysctl name is, or
// "" when name is not one (all and default are not interfaces).
func DisableIPv6Iface(name string) string {
	rest, ok := strings.CutPrefix(name, "net.ipv6.conf.")
	if !ok {
		return ""
	}
	iface, ok := strings.CutSuffix(rest, ".disable_ipv6")
	if !ok || iface == "all" || iface == "default" || strings.Contains(iface, ".") {
		return ""
	}
	return strings.ReplaceAll(iface, "/", ".")
}

// WithSysctl returns a copy of f where the sysctl name has value, with
// what the kernel does when it changes: disable_ipv6 turning 1 on an
// interface removes that interface's IPv6 addresses, and turning 0 on lo
// gives lo ::1 again. On another interface, turning 0 gives back only what
// the boot network configuration (f.Network) creates there, as it does at
// the next boot (BootAddresses); none when that configuration is unknown.
// Addresses added by hand are neither given back nor taken away here:
// whether they survive a reboot is LBD410's question. f itself is not
// changed.
func (f *Facts) WithSysctl(name, value string) *Facts {
	g := f.clone()
	if g.Sysctls == nil {
		g.Sysctls = map[string]string{}
	}
	was := g.Sysctls[name]
	g.Sysctls[name] = value
	if iface := DisableIPv6Iface(name); iface == "lo" && value == "0" && was == "1" && !f.NoIPv6 {
		if ok, _ := g.IsLocal(netip.IPv6Loopback()); !ok {
			g.Addresses = append(g.Addresses, Address{Address: "::1", Prefix: 128, Interface: "lo", Family: "ipv6", Flags: []string{"permanent"}})
			g.sort()
		}
	}
	if iface := DisableIPv6Iface(name); iface != "" && iface != "lo" && value == "0" && was == "1" && !f.NoIPv6 {
		for _, a := range f.BootAddresses(iface) {
			ip, err := netip.ParseAddr(a.Address)
			if err != nil || !ip.Is6() || ip.Is4In6() {
				continue
			}
			if slices.ContainsFunc(g.Addresses, func(h Address) bool { return h.Interface == iface && h.Address == ip.String() }) {
				continue
			}
			g.Addresses = append(g.Addresses, Address{Address: ip.String(), Prefix: a.Prefix, Interface: iface, Family: "ipv6", Flags: []string{"permanent"}})
		}
		g.sort()
	}
	if iface := DisableIPv6Iface(name); iface != "" && value == "1" {
		g.Addresses = slices.DeleteFunc(g.Addresses, func(a Address) bool {
			return a.Interface == iface && a.Family == "ipv6"
		})
		g.Routes = slices.DeleteFunc(g.Routes, func(r Route) bool {
			p, err := netip.ParsePrefix(r.Prefix)
			return r.Interface == iface && err == nil && p.Addr().Is6()
		})
	}
	return g
}

// BootAddresses are the addresses the boot network configuration (Network)
// creates on interface iface at the next boot, by every profile that
// applies to it (one whose match lbdoctor cannot judge included); nil when
// the configuration is unknown. An address a profile names that the
// kernel refuses at boot (IPv6 where disable_ipv6 is 1) is listed too.
func (f *Facts) BootAddresses(iface string) []netcfg.Addr {
	if f.Network == nil {
		return nil
	}
	var ifaces []netcfg.Iface
	for _, i := range f.Interfaces {
		if i.Name == iface {
			ifaces = append(ifaces, netcfg.Iface{Name: i.Name, MAC: strings.ToLower(i.MAC)})
		}
	}
	if len(ifaces) == 0 {
		ifaces = []netcfg.Iface{{Name: iface}} // a snapshot that lists addresses only
	}
	var out []netcfg.Addr
	for _, ap := range f.Network.AtBoot(ifaces) {
		out = append(out, ap.Profile.Addresses...)
	}
	return out
}
