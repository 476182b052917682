// Package parsers holds the vocabulary shared by the config and host readers:
// positions, listeners, VRRP instances and their addresses, and config errors.
// The sub-packages (nginx, haproxy, keepalived, sysctl, host) turn raw input
// into these types; checks read nothing else.
package parsers

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Pos is a place in a config file, as the service itself would name it.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// Error is a config problem tied to a place. It surfaces as an LBD001 finding.
type Error struct {
	Pos Pos
	Msg string
}

func (e Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Proto is the transport a listener asks for.
type Proto string

// The transports a listener can ask for.
const (
	TCP  Proto = "tcp"
	UDP  Proto = "udp"
	Unix Proto = "unix"
)

// V6Only is the IPV6_V6ONLY setting a daemon asks for on an IPv6 socket.
type V6Only string

// The V6Only settings. V6OnlyDefault leaves it to net.ipv6.bindv6only.
const (
	V6OnlyDefault V6Only = ""
	V6OnlyOn      V6Only = "on"
	V6OnlyOff     V6Only = "off"
)

// Listener is one socket a service would open (or, with Via, serve from
// another socket). A port range in a config yields one Listener per port.
type Listener struct {
	Service string // "nginx" or "haproxy"
	Pos     Pos
	Context string // where it sits: "http", "stream", "mail", "frontend web", "listen stats"
	Raw     string // the address as written, e.g. "10.0.0.100:80" or "unix:/run/x.sock"
	Proto   Proto
	// Addr is the IP to bind (0.0.0.0 or :: for wildcards, with a zone for
	// a scoped IPv6 address). It is invalid for unix sockets and for
	// host names that were not resolved.
	Addr netip.Addr
	Host string // a host name as written, when the config names one
	Path string // unix socket path
	Port int
	// V6Only is what the daemon sets on an IPv6 socket.
	V6Only V6Only
	// Transparent is true when the daemon sets IP_TRANSPARENT or
	// IP_FREEBIND, which lets a non-local address bind.
	Transparent bool
	ReusePort   bool
	// Via is set when this listen opens no socket of its own because the
	// daemon serves it from another one, e.g. "0.0.0.0:80".
	Via string
}

// Address is the listener's address as the JSON contract spells it: the
// literal IP, or the unix socket path.
func (l Listener) Address() string {
	switch {
	case l.Proto == Unix:
		return l.Path
	case l.Addr.IsValid():
		return l.Addr.String()
	default:
		return l.Host
	}
}

// Socket is "addr:port" with IPv6 in brackets, as daemons print it.
func (l Listener) Socket() string {
	if l.Proto == Unix {
		return "unix:" + l.Path
	}
	return JoinHostPort(l.Address(), l.Port)
}

// JoinHostPort is net.JoinHostPort for an int port.
func JoinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// VIP is one keepalived virtual address of a vrrp_instance.
type VIP struct {
	Pos      Pos
	Prefix   netip.Prefix // the address with its mask (/32 or /128 when none is given)
	Dev      string       // "dev IF", else the instance's interface
	Label    string
	Scope    string
	Excluded bool // from virtual_ipaddress_excluded
}

// VRRPInstance is a keepalived vrrp_instance block.
type VRRPInstance struct {
	Pos       Pos
	Name      string
	State     string // MASTER, BACKUP or empty
	Interface string
	Priority  int
	VIPs      []VIP
}

// Config is what a parser read from one service's configuration.
type Config struct {
	Service   string   // "nginx", "haproxy" or "keepalived"
	Path      string   // the main config as given
	Files     []string // every file read, in order, as the service names them
	Listeners []Listener
	VRRP      []VRRPInstance
	Errors    []Error
}

// Root reads files as if a directory were "/": absolute names resolve below
// it, relative ones against the working directory, like the paths a user
// types. The empty Root is the real "/".
type Root string

// Path is where name lives on this machine.
func (r Root) Path(name string) string {
	if r == "" || !filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(string(r), name)
}

// ReadFile reads name below the root.
func (r Root) ReadFile(name string) ([]byte, error) { return os.ReadFile(r.Path(name)) }

// Open opens name below the root.
func (r Root) Open(name string) (*os.File, error) { return os.Open(r.Path(name)) }

// Stat stats name below the root.
func (r Root) Stat(name string) (os.FileInfo, error) { return os.Stat(r.Path(name)) }

// Glob is filepath.Glob below the root; it returns names as the service sees
// them, sorted.
func (r Root) Glob(pattern string) ([]string, error) {
	matches, err := filepath.Glob(r.Path(pattern))
	if err != nil || r == "" || !filepath.IsAbs(pattern) {
		return matches, err
	}
	for i, m := range matches {
		rel, err := filepath.Rel(string(r), m)
		if err != nil {
			return nil, fmt.Errorf("glob %s: %w", pattern, err)
		}
		matches[i] = "/" + rel
	}
	return matches, nil
}
