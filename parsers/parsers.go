// Package parsers holds the vocabulary shared by the config and host readers:
// positions, listeners, VRRP instances and their addresses, and config errors.
// The sub-packages (nginx, haproxy, keepalived, sysctl, host) turn raw input
// into these types; checks read nothing else.
package parsers

import (
	"crypto/sha256"
	"encoding/hex"
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

// Error is a config problem tied to a place. In Config.Errors it surfaces
// as an LBD001 finding (the daemon refuses the configuration); the other
// lists of Config say which check reports theirs.
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

// SocketService is the service name of the sockets systemd binds for its
// socket units (services[].service "systemd-socket").
const SocketService = "systemd-socket"

// Listener is one socket a service would open (or, with Via, serve from
// another socket). A port range in a config yields one Listener per port.
type Listener struct {
	Service string // "nginx", "haproxy", "apache", "postgresql", "redis"
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
	// Interface is the network device the socket is tied to with
	// SO_BINDTODEVICE (HAProxy's "interface"), or empty.
	Interface string
	// Namespace is the network namespace the daemon opens the socket in
	// (HAProxy's "namespace"), or empty for its own. Host facts describe
	// one namespace only, so a listener in another cannot be judged.
	Namespace string
	// UnixMode, UnixUser and UnixGroup are the permissions and owner the
	// daemon gives a unix socket file, as the config writes them (UnixUser
	// and UnixGroup are names, or "uid N" / "gid N"); zero and empty leave
	// them to the umask and the daemon's own user.
	UnixMode  os.FileMode
	UnixUser  string
	UnixGroup string
	// Uncheckable says why no check can judge this listener, e.g. "abstract
	// unix socket" or "inherited file descriptor 3": it opens no address
	// of this host's network stack or file system. Empty for ordinary
	// listeners.
	Uncheckable string
	// Conditional names the configuration condition lbdoctor could not
	// decide and on which this listener depends, e.g. ".if
	// version_atleast(2.8) at /etc/haproxy/haproxy.cfg:12". The daemon
	// takes exactly one branch of such a block; lbdoctor reports the
	// listeners of every branch it could take, each marked. Empty when the
	// listener is certain.
	Conditional string
	// EmptyVars names the environment variables that expanded to nothing
	// in the address, in order of appearance: "bind ${VIP}:80" with VIP
	// unset listens on every IPv4 address.
	EmptyVars []string
	// Optional lists the bind() errors (errno names, or "*" for any) the
	// daemon survives on this socket: it logs the failure and starts
	// without it, as long as another socket of the same Group binds.
	// PostgreSQL survives any failure of one of its listen_addresses, Redis
	// an unavailable address written with a "-" prefix. Empty: every bind()
	// failure stops the daemon.
	Optional []string
	// Group names the sockets of which at least one must bind for the
	// daemon to start ("listen_addresses"); empty when the listener stands
	// alone.
	Group string
	// InOrder is true when the daemon binds its sockets one after the
	// other in the order of its Config.Listeners (Apache httpd, PostgreSQL,
	// Redis): of two of its own listeners that clash, only the later one
	// fails.
	InOrder bool
}

// Tolerates reports whether the daemon starts without l when its bind()
// fails with errno (and another socket of its group binds).
func (l *Listener) Tolerates(errno string) bool {
	for _, e := range l.Optional {
		if e == "*" || e == errno {
			return true
		}
	}
	return false
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
	// NoDAD is true when the line says "-nodad". Despite the word, that
	// turns Duplicate Address Detection ON: keepalived adds IPv6 addresses
	// with IFA_F_NODAD unless "-nodad" is given, so with it the address
	// stays tentative (and cannot be bound) until DAD completes. It means
	// nothing for IPv4.
	NoDAD bool
	// NoTrack is true for "no_track": the instance does not go to FAULT
	// when the address's interface goes down.
	NoTrack bool
	// Broadcast is the "brd" argument as written ("+", "-" or an address),
	// or empty.
	Broadcast string
	// Conditional names the keepalived conditional line (@id or @^id) this
	// address depends on when the config id was not given, e.g. "@lb1 at
	// /etc/keepalived/keepalived.conf:12"; empty when the address is
	// certain.
	Conditional string
}

// VRRPAddr is an address keepalived uses for VRRP traffic: a unicast or
// multicast source, or a unicast peer.
type VRRPAddr struct {
	Pos  Pos
	Addr netip.Addr
	// Raw is the word as written; keepalived ignores a "/MASK" or "-RANGE"
	// after the address.
	Raw string
	// Conditional is as for VIP.Conditional.
	Conditional string
}

// VRRPInstance is a keepalived vrrp_instance block.
type VRRPInstance struct {
	Pos       Pos
	Name      string
	State     string // MASTER, BACKUP or empty
	Interface string
	Priority  int
	VIPs      []VIP
	// VirtualRouterID is virtual_router_id (1-255), 0 when not set, which
	// keepalived refuses.
	VirtualRouterID int
	// UnicastSrcIP and McastSrcIP are the source addresses keepalived binds
	// its VRRP socket to; the zero VRRPAddr (invalid Addr) when not set.
	// keepalived keeps one source address per instance, the last of the two
	// keywords given; when it is not an address of this host the instance
	// goes to FAULT ("entering FAULT state (src address not configured)").
	UnicastSrcIP VRRPAddr
	McastSrcIP   VRRPAddr
	// UnicastPeers are the unicast_peer addresses, in order; an instance
	// with peers sends adverts by unicast instead of multicast.
	UnicastPeers []VRRPAddr
	// Conditional is as for VIP.Conditional, for the vrrp_instance line.
	Conditional string
	// Family is the instance's address family, 4 or 6, as keepalived fixes
	// it (the first address or native_ipv6); 0 when nothing decides it,
	// which keepalived takes as IPv4.
	Family int
	// AdvertInt is advert_int in milliseconds, 0 when not given (1 s).
	AdvertInt int
	// AuthType and AuthPass are the authentication block's auth_type
	// (PASS or AH, upper-cased) and auth_pass as written; empty without.
	AuthType, AuthPass string
	// Nopreempt is set by "nopreempt".
	Nopreempt bool
	// Lines are where each keyword of the block was last given, by
	// keyword: "state", "priority", "virtual_router_id", "advert_int",
	// "authentication", "nopreempt", "unicast_peer", "virtual_ipaddress".
	Lines map[string]Pos
}

// Line is where keyword was given in the instance, else the instance's
// own line.
func (v *VRRPInstance) Line(keyword string) Pos {
	if p, ok := v.Lines[keyword]; ok {
		return p
	}
	return v.Pos
}

// SyncGroup is a keepalived vrrp_sync_group: instances that change state
// together (one FAULT puts all of them in FAULT).
type SyncGroup struct {
	Pos       Pos
	Name      string
	Instances []string // as the group block lists them
	// Conditional is as for VIP.Conditional.
	Conditional string
}

// VirtualServer is a keepalived (LVS/IPVS) virtual_server, or one entry of
// a virtual_server_group. IPVS opens no socket: packets to the address and
// port are intercepted in the kernel, so a local listener on the same
// address and port never sees them.
type VirtualServer struct {
	Pos Pos
	Raw string // the address as written: "10.0.0.1", "10.0.0.1-10", "fwmark 5", "group web"
	// Addr and Last are the first and last address of the range (equal
	// for a single address); invalid for fwmark and group references.
	Addr netip.Addr
	Last netip.Addr
	Port int // 0: every port
	// Proto is the virtual_server's "protocol": tcp, udp or Proto("sctp").
	// Empty when not given: keepalived then uses udp and says "no protocol
	// set - defaulting to UDP". Always empty for virtual_server_group
	// entries, which take the protocol of the virtual_server using the
	// group.
	Proto  Proto
	FWMark uint32 // "fwmark N", else 0
	// RealServers counts the real_server blocks; keepalived ignores a
	// virtual_server without any ("has no real servers - ignoring").
	RealServers int
	// Group is the virtual_server_group a "virtual_server group NAME"
	// refers to, or the group an entry belongs to.
	Group string
	// Conditional is as for VIP.Conditional.
	Conditional string
}

// Config is what a parser read from one service's configuration.
type Config struct {
	Service   string   // "nginx", "haproxy" or "keepalived"
	Path      string   // the main config as given
	Files     []string // every file read, in order, as the service names them
	Listeners []Listener
	VRRP      []VRRPInstance
	Errors    []Error
	// Warnings are lines the daemon accepts but ignores in a way that
	// changes what it listens on (LBD004).
	Warnings []Error
	// DaemonWarnings are lines the daemon's own check complains about but
	// accepts: the daemon starts and runs, skipping or correcting the line
	// as the message says (keepalived's "Unknown keyword ...", "... -
	// ignoring"). Msg is the daemon's own words where it has them (LBD005).
	DaemonWarnings []Error
	// Unread are the places where lbdoctor stopped reading a configuration
	// the daemon may well read in full (one of lbdoctor's own limits), so
	// what follows is not judged (LBD006).
	Unread []Error
	// StaticAddresses are keepalived's static_ipaddress entries: addresses
	// it adds at start-up whatever the VRRP role. Dev is empty when the
	// entry names none (keepalived then uses the default route's
	// interface).
	StaticAddresses []VIP
	// SyncGroups are keepalived's vrrp_sync_group blocks.
	SyncGroups []SyncGroup
	// VirtualServers are keepalived's virtual_server blocks, and
	// VirtualServerGroups the entries of its virtual_server_group blocks
	// (each with Group set).
	VirtualServers      []VirtualServer
	VirtualServerGroups []VirtualServer
	// NetNamespace is keepalived's net_namespace: it runs in that network
	// namespace, so the addresses it adds and binds belong there, not to
	// the namespace lbdoctor judges. Empty when not set.
	NetNamespace    string
	NetNamespacePos Pos
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

// ErrText is the strerror part of an error from reading a file, as the C
// daemons print it: "No such file or directory", without the path (they
// name it themselves) and with a capital letter, as glibc writes it.
func ErrText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	s := err.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
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

// DigestPrefix marks a secret that a bundle replaced with its digest.
const DigestPrefix = "lbdoctor-sha256:"

// SecretDigest is what stands for a secret in a bundle: a digest that two
// nodes with the same secret share. A value that already is one is kept.
func SecretDigest(v string) string {
	if strings.HasPrefix(v, DigestPrefix) {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return DigestPrefix + hex.EncodeToString(sum[:12])
}
