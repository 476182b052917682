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
)

// Facts is everything checks know about a host. Its YAML form is the
// snapshot format; its JSON form is the contract's "host" object.
type Facts struct {
	Hostname string `yaml:"hostname" json:"hostname"`
	// Source is "live" or the snapshot file it was loaded from.
	Source string `yaml:"-" json:"source"`
	// NoIPv6 is true when the kernel has no IPv6 (socket(AF_INET6) fails
	// with EAFNOSUPPORT).
	NoIPv6     bool              `yaml:"no_ipv6,omitempty" json:"-"`
	Interfaces []Interface       `yaml:"interfaces" json:"-"`
	Addresses  []Address         `yaml:"addresses" json:"addresses"`
	Routes     []Route           `yaml:"local_routes" json:"-"`
	Sysctls    map[string]string `yaml:"sysctls" json:"sysctls"`
	Sockets    []Socket          `yaml:"sockets" json:"-"`
	// Persisted are the sysctls lbdoctor reads as systemd-sysctl would set
	// them at the next boot; nil when unknown.
	Persisted []Persisted `yaml:"persisted_sysctls,omitempty" json:"-"`
	// Dirs are the directories of the configs' unix sockets, as they are
	// now; a directory not listed is unknown.
	Dirs []Dir `yaml:"dirs,omitempty" json:"-"`
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
	// UnknownOwners counts the sockets whose owner Gather could not see
	// (other users' /proc/PID/fd are private to a non-root reader).
	UnknownOwners int `yaml:"-" json:"-"`
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
}

// Address is an address configured on an interface. Flags are the kernel's
// IFA_F_* names as ip(8) prints them: "tentative", "dadfailed", "nodad",
// "optimistic", "deprecated", "secondary", "permanent".
type Address struct {
	Address   string   `yaml:"address" json:"address"`
	Prefix    int      `yaml:"prefix" json:"prefix"`
	Interface string   `yaml:"interface" json:"interface"`
	Family    string   `yaml:"family" json:"family"` // "ipv4" or "ipv6"
	Flags     []string `yaml:"flags,omitempty" json:"flags"`
}

// Route is a route of type local, from any routing table: what makes an
// IPv4 address bindable ("ip route add local 10.9.0.0/24 dev lo").
type Route struct {
	Prefix    string `yaml:"prefix"` // "10.9.0.0/24"
	Interface string `yaml:"interface,omitempty"`
	Table     int    `yaml:"table,omitempty"`
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
// gives lo ::1 again (other interfaces get back only what the network
// configuration adds, which the facts do not know). f itself is not
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
