// Package host describes the machine lbdoctor judges: its addresses, local
// routes, sysctls and listening sockets. Facts come from the live host
// (Gather, through netlink and /proc) or from a snapshot file (Load); checks
// cannot tell which.
package host

import (
	"os"

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
	// SELinux is what SELinux decides about the daemons' binds: the mode
	// now and after a reboot, port types, domains and their grants; nil
	// when unknown.
	SELinux *selinux.Facts `yaml:"selinux,omitempty" json:"-"`
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
	// LocalPortRange is the ephemeral port range ("32768\t60999"): SELinux
	// checks name_bind only on ports outside it (and below
	// UnprivilegedPortMin).
	LocalPortRange = "net.ipv4.ip_local_port_range"
)
