package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel and the daemons are the judge: TestDaemonsAgree builds a host
// state in a network namespace of its own, asks lbdoctor whether nginx or
// HAProxy would bind there, then starts the real daemon in the same state
// and fails when the two disagree.
//
// Set LBDOCTOR_DAEMON_ONLY=1 to run only the daemon half (no lbdoctor build):
// it checks that each case sets up the host state it claims to, which tells a
// broken fixture from a wrong verdict. Set LBDOCTOR_BIN to judge a prebuilt
// lbdoctor (a release, say) instead of building this directory.
//
// What the kernel (6.x) taught these cases, beyond the obvious:
//   - An IPv4 address binds whatever its link's state; an IPv6 one binds
//     only once DAD is over, which on a link that is down or has no carrier
//     never happens (the address stays "tentative"), unless it was added
//     "nodad" or is "optimistic". A NOARP device (ifb) skips DAD, so there
//     even a plain address on a down link binds.
//   - A local route makes a whole IPv4 prefix bindable (AnyIP); an IPv6
//     local route does not: inet6_bind only looks at configured addresses,
//     so binding an address covered by one fails with EADDRNOTAVAIL.
//   - IPv4 bind() goes by the type of the address's route in table local
//     (longest prefix): local, broadcast and multicast routes bind, so a
//     subnet's broadcast address does (not while its link is down: no
//     broadcast route then), and a blackhole, unicast, throw ... route
//     inside an AnyIP range does not. Until an ip rule is first added the
//     kernel keeps tables local and main in one trie, and the lookup sees
//     table main's routes as well (routeTypeCases).
//   - Sockets that both set SO_REUSEPORT under the same uid never clash,
//     not even a wildcard beside a specific address, and not across two
//     different daemons (nginx "reuseport" beside HAProxy).
//   - Two UDP sockets that both set SO_REUSEADDR share a port (nothing is
//     in LISTEN state), and nginx sets it on every listening socket.
//   - nginx opens a specific `bind` listen before the wildcard of its
//     port, so it is the wildcard that fails: "bind() to 0.0.0.0:8080".

// daemonCase is one host state and one daemon config. PREFIX in listens,
// addr, socket and wantStderr stands for the case's own directory, where
// unix sockets go.
type daemonCase struct {
	name   string
	daemon string // "nginx" or "haproxy"
	// listens are the arguments of nginx `listen` lines (in http{}) or of
	// HAProxy `bind` lines (in frontend fe).
	listens []string
	// stream are nginx `listen` lines in a stream{} block (which loads
	// ngx_stream_module).
	stream []string
	// frontend2 are the `bind` lines of a second HAProxy frontend.
	frontend2 []string
	// global are extra lines in HAProxy's global section.
	global []string
	// sysctls are set in the namespace after ipArgs (so per-interface ones
	// work); both ip_nonlocal_bind sysctls are always set, to 0 unless
	// listed here.
	sysctls map[string]string
	// ipArgs are extra `ip -n NS ...` commands that shape the host.
	ipArgs [][]string
	// exec are commands run with `ip netns exec NS` after the sysctls, for
	// state that needs them first (an optimistic address) or has to be
	// waited for (DAD failing).
	exec [][]string
	// holder, when set, is a socket ("tcp4 0.0.0.0:8080") that the test
	// process itself holds open in the namespace while lbdoctor and the
	// daemon run: the other program already on the port. The network is
	// tcp4, tcp6 (IPV6_V6ONLY on), tcp (a dual-stack [::]), udp4, or
	// udp4+reuseaddr (with SO_REUSEADDR).
	holder string
	// then names a second daemon configured in the same namespace, with
	// thenListens. lbdoctor judges both configs at once; then the first
	// daemon is started and must bind, and the second one's outcome is the
	// one compared: lbdoctor must call both services failing when it fails
	// (whichever starts second fails), both ok when it binds.
	then        string
	thenListens []string
	thenAddr    string // the second daemon's listener, when not addr
	// firstSocket is the `ss` local address the first daemon of a "then"
	// case opens, when it is not socket (the second one's).
	firstSocket string
	// user, when set, runs the daemon as that user (setpriv), and lbdoctor
	// reads the config with --root from a tree whose nginx.service says
	// User=user: the package's unit as an admin might change it.
	user string
	// unit are more [Service] lines of that unit (which then exists even
	// without user), and sandbox says how systemd would run the daemon
	// under them: the test applies exactly that and nothing else.
	unit    []string
	sandbox *daemonSandbox
	// container, when set, runs the daemon as that container would run,
	// and lbdoctor judges it from the container's definition alone
	// (--container FILE, the config found through its bind mount).
	container *daemonContainer

	// addr and port name the listener whose verdict is compared (every
	// listener at that address, port and proto, in each service the case
	// configures, thenAddr for the second one); a unix socket has its path
	// in addr and port 0.
	addr  string
	port  int
	proto string // "udp"; empty means tcp, or unix for a path

	// What the daemon is expected to do, so that a fixture which does not
	// build the state it claims is caught as such, not as a disagreement.
	wantBound  bool
	wantStderr string // daemon's error text when it fails
	socket     string // `ss` local address the daemon opens when it binds
	wantVia    string // listeners[].via lbdoctor must report, if any
	// wantFinding is a finding ID lbdoctor must report for the case's
	// service(s), whatever its severity.
	wantFinding string
	// stale leaves a socket file at addr (a unix socket path) that nobody
	// listens on, as a crashed daemon does.
	stale bool
	// reboot makes the case an after-reboot scenario too (see
	// reboot_linux_test.go): persist are the files of the node's
	// /etc/sysctl.d, by name; after the case's own half, a fresh namespace
	// gets them from the real systemd-sysctl (and no sysctl set by hand),
	// bootConns outgoing connections are opened there, and the daemon's
	// outcome is compared with lbdoctor's after-reboot verdict.
	reboot          bool
	persist         map[string]string
	bootConns       int
	bootWantBound   bool
	bootWantStderr  string
	bootWantFinding string
	// interfaces, when set, is the node's etc/network/interfaces instead
	// of rebootInterfaces.
	interfaces string

	// knownBug, when set, says why lbdoctor is known to disagree here. The
	// case still runs both halves; a disagreement skips it with "KNOWN BUG"
	// (so the lead sees it), an agreement fails it (drop the marker).
	knownBug string
}

// daemonSandbox is what systemd does to a daemon for the settings of a
// case's unit, as the test reproduces it without systemd as PID 1.
type daemonSandbox struct {
	ambient      bool // AmbientCapabilities=CAP_NET_BIND_SERVICE: setpriv --ambient-caps
	dropBounding bool // CapabilityBoundingSet=~CAP_NET_BIND_SERVICE: setpriv --bounding-set
	// nnp is NoNewPrivileges=: the user's process, holding no
	// capability, sets no_new_privs and then execs the daemon (setpriv
	// --nnp after the switch of user, as systemd orders it).
	nnp bool
	// fileCaps runs a copy of the daemon's program, at the ExecStart=
	// path below --root, with cap_net_bind_service+ep (setcap).
	fileCaps bool
	// userns is PrivateUsers=: a user namespace mapping root and the
	// user to themselves (the helper's CLONE_NEWUSER).
	userns bool
	// denyFamilies fail socket() with EAFNOSUPPORT (RestrictAddressFamilies=,
	// a seccomp filter in the helper).
	denyFamilies []int
	// bindAllow, bindDeny, bindDenyAll are SocketBindAllow=/Deny=: a
	// cgroup/bind4+bind6 program in a cgroup of the test's own.
	bindAllow, bindDeny []int
	bindDenyAll         bool
	// raw is a wrapper command put before the daemon's, as is.
	raw []string
}

// daemonCases are the host states under test. Every address lives inside
// the test's own namespaces.
func daemonCases() []daemonCase {
	nonlocal4 := map[string]string{"net.ipv4.ip_nonlocal_bind": "1"}
	nonlocal6 := map[string]string{"net.ipv6.ip_nonlocal_bind": "1"}
	bindv6only := map[string]string{"net.ipv6.bindv6only": "1"}
	localRoute := [][]string{{"route", "add", "local", "10.9.0.0/24", "dev", "lo"}}
	localRoute6 := [][]string{{"-6", "route", "add", "local", "fd09::/64", "dev", "lo"}}
	// A veth end that is down (its peer too): not NOARP, so DAD applies.
	downLink := [][]string{
		{"link", "add", "eth2", "type", "veth", "peer", "name", "eth2p"},
		{"addr", "add", "10.2.0.5/24", "dev", "eth2"},
		{"addr", "add", "fd02::5/64", "dev", "eth2"},
		{"addr", "add", "fd02::6/64", "dev", "eth2", "nodad"},
	}
	// A veth end that is up but has no carrier (its peer is down): DAD
	// waits for the carrier, so a plain address stays tentative.
	noCarrier := [][]string{
		{"link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"},
		{"link", "set", "eth1", "up"},
		{"addr", "add", "fd01::5/64", "dev", "eth1"},
	}
	optimistic := map[string]string{"net.ipv6.conf.eth1.optimistic_dad": "1"}
	addOptimistic := [][]string{{"ip", "addr", "add", "fd01::7/64", "dev", "eth1", "optimistic"}}
	// DAD fails for fd01::8 on eth1 because eth1p, its peer, already has
	// it; once it has failed, eth1p drops it, so nothing else holds it.
	dadFailed := [][]string{
		{"link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"},
		{"link", "set", "eth1", "up"},
		{"link", "set", "eth1p", "up"},
		{"addr", "add", "fd01::8/64", "dev", "eth1p", "nodad"},
		{"addr", "add", "fd01::8/64", "dev", "eth1"},
	}
	waitDADFailed := [][]string{
		{"sh", "-c", "for i in $(seq 100); do ip addr show dev eth1 | grep -q 'fd01::8.*dadfailed' && exit 0; sleep 0.1; done; ip addr show dev eth1; exit 1"},
		{"ip", "addr", "del", "fd01::8/64", "dev", "eth1p"},
	}
	const (
		wildcard8080  = "tcp4 0.0.0.0:8080"
		specific8080  = "tcp4 10.0.0.5:8080"
		dualStack8080 = "tcp [::]:8080"
		inUse8080     = "bind() to 10.0.0.5:8080 failed (98: Address already in use)"
		hapInUse8080  = "cannot bind socket (Address already in use) for [10.0.0.5:8080]"
	)
	return append([]daemonCase{
		// An address nobody has, and the kernel refuses non-local binds.
		{name: "nginx/absent-v4", daemon: "nginx", listens: []string{"10.0.0.100:80"},
			addr: "10.0.0.100", port: 80,
			wantStderr: "bind() to 10.0.0.100:80 failed (99: Cannot assign requested address)"},
		{name: "haproxy/absent-v4", daemon: "haproxy", listens: []string{"10.0.0.100:80"},
			addr: "10.0.0.100", port: 80,
			wantStderr: "cannot bind socket (Cannot assign requested address) for [10.0.0.100:80]"},
		// The same address once ip_nonlocal_bind allows it (a VIP on a backup).
		{name: "nginx/absent-v4-nonlocal", daemon: "nginx", listens: []string{"10.0.0.100:80"},
			sysctls: nonlocal4, addr: "10.0.0.100", port: 80,
			wantBound: true, socket: "10.0.0.100:80"},
		{name: "haproxy/absent-v4-nonlocal", daemon: "haproxy", listens: []string{"10.0.0.100:80"},
			sysctls: nonlocal4, addr: "10.0.0.100", port: 80,
			wantBound: true, socket: "10.0.0.100:80"},
		// A local address whose port a wildcard socket already holds.
		{name: "nginx/port-held-by-wildcard", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			holder: wildcard8080, addr: "10.0.0.5", port: 8080,
			wantStderr: inUse8080, wantFinding: "LBD201"},
		{name: "haproxy/port-held-by-wildcard", daemon: "haproxy", listens: []string{"10.0.0.5:8080"},
			holder: wildcard8080, addr: "10.0.0.5", port: 8080,
			wantStderr: hapInUse8080, wantFinding: "LBD201"},
		// IPv6 has its own nonlocal sysctl.
		{name: "nginx/absent-v6", daemon: "nginx", listens: []string{"[fd00::100]:80"},
			addr: "fd00::100", port: 80,
			wantStderr: "bind() to [fd00::100]:80 failed (99: Cannot assign requested address)"},
		{name: "haproxy/absent-v6", daemon: "haproxy", listens: []string{"[fd00::100]:80"},
			addr: "fd00::100", port: 80,
			wantStderr: "cannot bind socket (Cannot assign requested address) for [fd00::100:80]"},
		{name: "nginx/absent-v6-nonlocal", daemon: "nginx", listens: []string{"[fd00::100]:80"},
			sysctls: nonlocal6, addr: "fd00::100", port: 80,
			wantBound: true, socket: "[fd00::100]:80"},
		{name: "haproxy/absent-v6-nonlocal", daemon: "haproxy", listens: []string{"[fd00::100]:80"},
			sysctls: nonlocal6, addr: "fd00::100", port: 80,
			wantBound: true, socket: "[fd00::100]:80"},
		// The IPv4 sysctl does nothing for an IPv6 address.
		{name: "nginx/absent-v6-v4-nonlocal-only", daemon: "nginx", listens: []string{"[fd00::100]:80"},
			sysctls: nonlocal4, addr: "fd00::100", port: 80,
			wantStderr: "bind() to [fd00::100]:80 failed (99: Cannot assign requested address)", wantFinding: "LBD101"},
		// A local route makes a whole prefix bindable without any address on it.
		{name: "nginx/local-route", daemon: "nginx", listens: []string{"10.9.0.7:80"},
			ipArgs: localRoute, addr: "10.9.0.7", port: 80,
			wantBound: true, socket: "10.9.0.7:80"},
		{name: "haproxy/local-route", daemon: "haproxy", listens: []string{"10.9.0.7:80"},
			ipArgs: localRoute, addr: "10.9.0.7", port: 80,
			wantBound: true, socket: "10.9.0.7:80"},
		// IPv6 has no AnyIP for bind(): a local route does not make its
		// prefix bindable, only configured addresses are.
		{name: "nginx/local-route-v6", daemon: "nginx", listens: []string{"[fd09::7]:80"},
			ipArgs: localRoute6, addr: "fd09::7", port: 80,
			wantStderr: "bind() to [fd09::7]:80 failed (99: Cannot assign requested address)", wantFinding: "LBD101"},
		{name: "haproxy/local-route-v6", daemon: "haproxy", listens: []string{"[fd09::7]:80"},
			ipArgs: localRoute6, addr: "fd09::7", port: 80,
			wantStderr: "cannot bind socket (Cannot assign requested address) for [fd09::7:80]"},
		// An IPv4 address binds while its link is down.
		{name: "nginx/v4-on-down-link", daemon: "nginx", listens: []string{"10.2.0.5:80"},
			ipArgs: downLink, addr: "10.2.0.5", port: 80,
			wantBound: true, socket: "10.2.0.5:80"},
		{name: "haproxy/v4-on-down-link", daemon: "haproxy", listens: []string{"10.2.0.5:80"},
			ipArgs: downLink, addr: "10.2.0.5", port: 80,
			wantBound: true, socket: "10.2.0.5:80"},
		// An IPv6 address on a down link stays tentative: not bindable.
		{name: "nginx/v6-on-down-link", daemon: "nginx", listens: []string{"[fd02::5]:80"},
			ipArgs: downLink, addr: "fd02::5", port: 80,
			wantStderr: "bind() to [fd02::5]:80 failed (99: Cannot assign requested address)", wantFinding: "LBD101"},
		{name: "haproxy/v6-on-down-link", daemon: "haproxy", listens: []string{"[fd02::5]:80"},
			ipArgs: downLink, addr: "fd02::5", port: 80,
			wantStderr: "cannot bind socket (Cannot assign requested address) for [fd02::5:80]"},
		// A NOARP device (ifb) does no DAD, so there even a plain IPv6
		// address binds while the link is down.
		{name: "nginx/v6-on-down-noarp-link", daemon: "nginx", listens: []string{"[fd03::5]:80"},
			ipArgs: [][]string{{"link", "add", "eth3", "type", "ifb"}, {"addr", "add", "fd03::5/64", "dev", "eth3"}},
			addr:   "fd03::5", port: 80, wantBound: true, socket: "[fd03::5]:80"},
		// ...unless it was added nodad: no DAD, never tentative.
		{name: "nginx/v6-nodad-on-down-link", daemon: "nginx", listens: []string{"[fd02::6]:80"},
			ipArgs: downLink, addr: "fd02::6", port: 80,
			wantBound: true, socket: "[fd02::6]:80"},
		// A nodad address on an up link binds at once.
		{name: "nginx/v6-nodad", daemon: "nginx", listens: []string{"[fd00::5]:80"},
			addr: "fd00::5", port: 80,
			wantBound: true, socket: "[fd00::5]:80"},
		{name: "haproxy/v6-nodad", daemon: "haproxy", listens: []string{"[fd00::5]:80"},
			addr: "fd00::5", port: 80,
			wantBound: true, socket: "[fd00::5]:80"},
		// An up link without carrier never starts DAD: tentative, fails.
		{name: "nginx/v6-tentative", daemon: "nginx", listens: []string{"[fd01::5]:80"},
			ipArgs: noCarrier, addr: "fd01::5", port: 80,
			wantStderr: "bind() to [fd01::5]:80 failed (99: Cannot assign requested address)", wantFinding: "LBD101"},
		{name: "haproxy/v6-tentative", daemon: "haproxy", listens: []string{"[fd01::5]:80"},
			ipArgs: noCarrier, addr: "fd01::5", port: 80,
			wantStderr: "cannot bind socket (Cannot assign requested address) for [fd01::5:80]"},
		// An optimistic address (RFC 4429) is usable while still tentative.
		{name: "nginx/v6-optimistic", daemon: "nginx", listens: []string{"[fd01::7]:80"},
			ipArgs: noCarrier, sysctls: optimistic, exec: addOptimistic, addr: "fd01::7", port: 80,
			wantBound: true, socket: "[fd01::7]:80"},
		{name: "haproxy/v6-optimistic", daemon: "haproxy", listens: []string{"[fd01::7]:80"},
			ipArgs: noCarrier, sysctls: optimistic, exec: addOptimistic, addr: "fd01::7", port: 80,
			wantBound: true, socket: "[fd01::7]:80"},
		// An address whose DAD failed (a duplicate on the link) never binds.
		{name: "nginx/v6-dadfailed", daemon: "nginx", listens: []string{"[fd01::8]:80"},
			ipArgs: dadFailed, exec: waitDADFailed, addr: "fd01::8", port: 80,
			wantStderr: "bind() to [fd01::8]:80 failed (99: Cannot assign requested address)", wantFinding: "LBD101"},
		// nginx serves a specific address from the wildcard socket on its port...
		{name: "nginx/grouped-under-wildcard", daemon: "nginx", listens: []string{"10.0.0.100:80", "80"},
			addr: "10.0.0.100", port: 80,
			wantBound: true, socket: "0.0.0.0:80", wantVia: "0.0.0.0:80"},
		// ...unless a parameter like `bind` gives it a socket of its own...
		{name: "nginx/grouped-but-bind", daemon: "nginx", listens: []string{"10.0.0.100:80 bind", "80"},
			addr: "10.0.0.100", port: 80,
			wantStderr: "bind() to 10.0.0.100:80 failed (99: Cannot assign requested address)"},
		// ...and then the wildcard clashes with it: nginx listens on the
		// specific socket first and fails on 0.0.0.0 (LBD202).
		{name: "nginx/grouped-bind-clash", daemon: "nginx", listens: []string{"10.0.0.5:8080 bind", "8080"},
			addr: "0.0.0.0", port: 8080,
			wantStderr: "bind() to 0.0.0.0:8080 failed (98: Address already in use)", wantFinding: "LBD202"},
		// http{} and stream{} on the same TCP port clash (LBD202)...
		{name: "nginx/http-and-stream-same-port", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			stream: []string{"10.0.0.5:8080"}, addr: "10.0.0.5", port: 8080,
			wantStderr: inUse8080, wantFinding: "LBD202"},
		// ...but not TCP beside UDP: separate port spaces.
		{name: "nginx/http-and-stream-udp-same-port", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			stream: []string{"10.0.0.5:8080 udp"}, addr: "10.0.0.5", port: 8080, proto: "udp",
			wantBound: true, socket: "10.0.0.5:8080"},
		// HAProxy's transparent sets IP_TRANSPARENT, which binds any address.
		{name: "haproxy/transparent", daemon: "haproxy", listens: []string{"10.0.0.100:80 transparent"},
			addr: "10.0.0.100", port: 80,
			wantBound: true, socket: "10.0.0.100:80"},
		// [::] next to a held 0.0.0.0: nginx sets IPV6_V6ONLY, so it binds...
		{name: "nginx/v6-wildcard-beside-v4", daemon: "nginx", listens: []string{"[::]:8080"},
			holder: wildcard8080, addr: "::", port: 8080,
			wantBound: true, socket: "[::]:8080"},
		// ...unless ipv6only=off makes it dual-stack.
		{name: "nginx/v6-dual-stack-beside-v4", daemon: "nginx", listens: []string{"[::]:8080 ipv6only=off"},
			holder: wildcard8080, addr: "::", port: 8080,
			wantStderr: "bind() to [::]:8080 failed (98: Address already in use)", wantFinding: "LBD201"},
		// HAProxy leaves it to net.ipv6.bindv6only (0), so its socket is
		// dual-stack and clashes, unless v6only is asked for...
		{name: "haproxy/v6-wildcard-beside-v4", daemon: "haproxy", listens: []string{":::8080"},
			holder: wildcard8080, addr: "::", port: 8080,
			wantStderr: "cannot bind socket (Address already in use) for [:::8080]"},
		{name: "haproxy/v6only-wildcard-beside-v4", daemon: "haproxy", listens: []string{":::8080 v6only"},
			holder: wildcard8080, addr: "::", port: 8080,
			wantBound: true, socket: "[::]:8080"},
		// ...or net.ipv6.bindv6only=1 makes v6only the default...
		{name: "haproxy/bindv6only-wildcard-beside-v4", daemon: "haproxy", listens: []string{":::8080"},
			sysctls: bindv6only, holder: wildcard8080, addr: "::", port: 8080,
			wantBound: true, socket: "[::]:8080"},
		// ...which v4v6 overrides again.
		{name: "haproxy/v4v6-bindv6only-beside-v4", daemon: "haproxy", listens: []string{":::8080 v4v6"},
			sysctls: bindv6only, holder: wildcard8080, addr: "::", port: 8080,
			wantStderr: "cannot bind socket (Address already in use) for [:::8080]", wantFinding: "LBD201"},
		// Another process on exactly the same address and port.
		{name: "nginx/port-held-same-addr", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			holder: specific8080, addr: "10.0.0.5", port: 8080,
			wantStderr: inUse8080, wantFinding: "LBD201"},
		{name: "haproxy/port-held-same-addr", daemon: "haproxy", listens: []string{"10.0.0.5:8080"},
			holder: specific8080, addr: "10.0.0.5", port: 8080,
			wantStderr: hapInUse8080, wantFinding: "LBD201"},
		// A wildcard listen where another process holds one specific address.
		{name: "nginx/wildcard-beside-held-specific", daemon: "nginx", listens: []string{"8080"},
			holder: specific8080, addr: "0.0.0.0", port: 8080,
			wantStderr: "bind() to 0.0.0.0:8080 failed (98: Address already in use)", wantFinding: "LBD201"},
		{name: "haproxy/wildcard-beside-held-specific", daemon: "haproxy", listens: []string{"0.0.0.0:8080"},
			holder: specific8080, addr: "0.0.0.0", port: 8080,
			wantStderr: "cannot bind socket (Address already in use) for [0.0.0.0:8080]", wantFinding: "LBD201"},
		// Two different specific addresses on one port do not clash.
		{name: "nginx/other-addr-same-port", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			holder: "tcp4 127.0.0.1:8080", addr: "10.0.0.5", port: 8080,
			wantBound: true, socket: "10.0.0.5:8080"},
		// A dual-stack [::] holder covers every IPv4 address too.
		{name: "nginx/v4-beside-dual-stack-holder", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			holder: dualStack8080, addr: "10.0.0.5", port: 8080,
			wantStderr: inUse8080, wantFinding: "LBD201"},
		{name: "haproxy/v4-beside-dual-stack-holder", daemon: "haproxy", listens: []string{"10.0.0.5:8080"},
			holder: dualStack8080, addr: "10.0.0.5", port: 8080,
			wantStderr: hapInUse8080, wantFinding: "LBD201"},
		// A v6only [::] holder leaves IPv4 alone, wildcard included.
		{name: "nginx/v4-wildcard-beside-v6only-holder", daemon: "nginx", listens: []string{"8080"},
			holder: "tcp6 [::]:8080", addr: "0.0.0.0", port: 8080,
			wantBound: true, socket: "0.0.0.0:8080"},
		// TCP and UDP ports are separate: a UDP holder leaves TCP alone...
		{name: "nginx/tcp-beside-udp-holder", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			holder: "udp4 10.0.0.5:8080", addr: "10.0.0.5", port: 8080,
			wantBound: true, socket: "10.0.0.5:8080"},
		{name: "haproxy/tcp-beside-udp-holder", daemon: "haproxy", listens: []string{"10.0.0.5:8080"},
			holder: "udp4 10.0.0.5:8080", addr: "10.0.0.5", port: 8080,
			wantBound: true, socket: "10.0.0.5:8080"},
		// ...and a TCP holder leaves a stream `udp` listen alone...
		{name: "nginx/udp-beside-tcp-holder", daemon: "nginx", stream: []string{"10.0.0.5:8080 udp"},
			holder: specific8080, addr: "10.0.0.5", port: 8080, proto: "udp",
			wantBound: true, socket: "10.0.0.5:8080"},
		// ...but a UDP holder on the same address blocks it.
		{name: "nginx/udp-beside-udp-holder", daemon: "nginx", stream: []string{"10.0.0.5:8080 udp"},
			holder: "udp4 10.0.0.5:8080", addr: "10.0.0.5", port: 8080, proto: "udp",
			wantStderr: inUse8080, wantFinding: "LBD201"},
		// UDP sockets that both set SO_REUSEADDR share a port (nginx sets it
		// on every listening socket); sock_diag does not say whether the
		// holder did, so lbdoctor reads it from the holder's descriptor.
		{name: "nginx/udp-beside-reuseaddr-udp-holder", daemon: "nginx", stream: []string{"10.0.0.5:8080 udp"},
			holder: "udp4+reuseaddr 10.0.0.5:8080", addr: "10.0.0.5", port: 8080, proto: "udp",
			wantBound: true, socket: "10.0.0.5:8080"},
		// Two HAProxy frontends on one address both start (SO_REUSEPORT):
		// LBD203, a warning.
		{name: "haproxy/two-frontends-same-port", daemon: "haproxy", listens: []string{"10.0.0.5:8080"},
			frontend2: []string{"10.0.0.5:8080"}, addr: "10.0.0.5", port: 8080,
			wantBound: true, socket: "10.0.0.5:8080", wantFinding: "LBD203"},
		// SO_REUSEPORT also lets a wildcard and a specific bind share.
		{name: "haproxy/two-frontends-wildcard-and-specific", daemon: "haproxy", listens: []string{"0.0.0.0:8080"},
			frontend2: []string{"10.0.0.5:8080"}, addr: "10.0.0.5", port: 8080,
			wantBound: true, socket: "10.0.0.5:8080"},
		// Without SO_REUSEPORT (global noreuseport) the second one fails.
		{name: "haproxy/noreuseport-two-frontends", daemon: "haproxy", listens: []string{"10.0.0.5:8080"},
			frontend2: []string{"10.0.0.5:8080"}, global: []string{"noreuseport"}, addr: "10.0.0.5", port: 8080,
			wantStderr: hapInUse8080, wantFinding: "LBD202"},
		// nginx and HAProxy on one port: whichever starts second fails, so
		// lbdoctor calls both failing (LBD202).
		{name: "pair/nginx-then-haproxy", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			then: "haproxy", thenListens: []string{"10.0.0.5:8080"}, addr: "10.0.0.5", port: 8080,
			socket: "10.0.0.5:8080", wantStderr: hapInUse8080, wantFinding: "LBD202"},
		{name: "pair/haproxy-then-nginx", daemon: "haproxy", listens: []string{"10.0.0.5:8080"},
			then: "nginx", thenListens: []string{"10.0.0.5:8080"}, addr: "10.0.0.5", port: 8080,
			socket: "10.0.0.5:8080", wantStderr: inUse8080, wantFinding: "LBD202"},
		// A wildcard in one daemon against a specific address in the other.
		{name: "pair/nginx-wildcard-then-haproxy", daemon: "nginx", listens: []string{"8080"},
			then: "haproxy", thenListens: []string{"10.0.0.5:8080"}, addr: "0.0.0.0", thenAddr: "10.0.0.5", port: 8080,
			socket: "0.0.0.0:8080", wantStderr: hapInUse8080, wantFinding: "LBD202"},
		// nginx's reuseport meets HAProxy's default SO_REUSEPORT (both run
		// as root): the kernel lets both bind.
		{name: "pair/nginx-reuseport-then-haproxy", daemon: "nginx", listens: []string{"10.0.0.5:8080 reuseport"},
			then: "haproxy", thenListens: []string{"10.0.0.5:8080"}, addr: "10.0.0.5", port: 8080,
			wantBound: true, socket: "10.0.0.5:8080", wantFinding: "LBD203"},
		// A unit that runs nginx as another user without
		// CAP_NET_BIND_SERVICE: ports below 1024 fail with EACCES (LBD302)...
		{name: "nginx/privileged-port-as-user", daemon: "nginx", listens: []string{"10.0.0.5:80"},
			user: "nobody", addr: "10.0.0.5", port: 80,
			wantStderr: "bind() to 10.0.0.5:80 failed (13: Permission denied)", wantFinding: "LBD302"},
		// ...ports above it bind...
		{name: "nginx/unprivileged-port-as-user", daemon: "nginx", listens: []string{"10.0.0.5:8080"},
			user: "nobody", addr: "10.0.0.5", port: 8080,
			wantBound: true, socket: "10.0.0.5:8080"},
		// ...and so does port 80 once ip_unprivileged_port_start allows it.
		{name: "nginx/privileged-port-start-lowered", daemon: "nginx", listens: []string{"10.0.0.5:80"},
			user: "nobody", sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "80"},
			addr: "10.0.0.5", port: 80, wantBound: true, socket: "10.0.0.5:80"},
		// A unix socket needs its directory; bind() says ENOENT without it.
		{name: "nginx/unix-dir-missing", daemon: "nginx", listens: []string{"unix:PREFIX/missing/x.sock"},
			addr:       "PREFIX/missing/x.sock",
			wantStderr: "bind() to unix:PREFIX/missing/x.sock failed (2: No such file or directory)", wantFinding: "LBD301"},
		{name: "haproxy/unix-dir-missing", daemon: "haproxy", listens: []string{"PREFIX/missing/h.sock"},
			addr:       "PREFIX/missing/h.sock",
			wantStderr: "cannot bind UNIX socket (No such file or directory) [PREFIX/missing/h.sock]", wantFinding: "LBD301"},
		{name: "nginx/unix", daemon: "nginx", listens: []string{"unix:PREFIX/x.sock"},
			addr: "PREFIX/x.sock", wantBound: true, socket: "PREFIX/x.sock"},
		{name: "haproxy/unix", daemon: "haproxy", listens: []string{"PREFIX/h.sock"},
			addr: "PREFIX/h.sock", wantBound: true, socket: "PREFIX/h.sock"},
		// A socket file left by a crash, nobody listening on it: nginx
		// fails with 98 (five tries, then "still could not bind()")...
		{name: "nginx/unix-stale-socket", daemon: "nginx", listens: []string{"unix:PREFIX/s.sock"}, stale: true,
			addr:       "PREFIX/s.sock",
			wantStderr: "bind() to unix:PREFIX/s.sock failed (98: Address already in use)", wantFinding: "LBD425"},
		// ...HAProxy binds PATH.PID.tmp and renames it over the file.
		{name: "haproxy/unix-stale-socket", daemon: "haproxy", listens: []string{"PREFIX/h.sock"}, stale: true,
			addr: "PREFIX/h.sock", wantBound: true, socket: "PREFIX/h.sock"},
		// A link-local address means nothing without an interface: EINVAL,
		// whatever ip_nonlocal_bind says.
		{name: "nginx/link-local-no-scope", daemon: "nginx", listens: []string{"[fe80::1]:80"},
			sysctls: nonlocal6, addr: "fe80::1", port: 80,
			wantStderr: "bind() to [fe80::1]:80 failed (22: Invalid argument)", wantFinding: "LBD103"},
		{name: "haproxy/link-local-no-scope", daemon: "haproxy", listens: []string{"[fe80::1]:80"},
			sysctls: nonlocal6, addr: "fe80::1", port: 80,
			wantStderr: "cannot bind socket (Invalid argument) for [fe80::1:80]", wantFinding: "LBD103"},
	}, append(append(routeTypeCases(), sandboxCases()...), containerCases()...)...)
}

// routeTypeCases are the states of IPv4 bind acceptance: the kernel looks
// the address up in table local (inet_addr_type_table) and accepts the
// types local, broadcast and multicast, whatever makes the route so; the
// longest prefix decides, so a more specific route of another type hides
// a local one. While no ip rule was ever added or deleted, the kernel
// keeps tables local and main in one trie, and that lookup sees table
// main's routes too. Each state runs with nginx (TCP, and UDP through a
// stream `udp` listen) and with HAProxy.
func routeTypeCases() []daemonCase {
	anyIP := []string{"route", "add", "local", "10.9.0.0/24", "dev", "lo", "table", "local"}
	customRule := []string{"rule", "add", "from", "192.0.2.1", "table", "100"}
	downLink := [][]string{
		{"link", "add", "eth2", "type", "veth", "peer", "name", "eth2p"},
		{"addr", "add", "10.2.0.5/24", "dev", "eth2"},
	}
	states := []struct {
		name   string
		ipArgs [][]string
		addr   string
		bound  bool
	}{
		// A configured subnet's broadcast address has a broadcast route.
		{"subnet-broadcast", nil, "10.0.0.255", true},
		// Its network address has none (kernels since 5.18 add no
		// broadcast route for it).
		{"subnet-network-address", nil, "10.0.0.0", false},
		// A down link has no broadcast route, only its local one.
		{"subnet-broadcast-link-down", downLink, "10.2.0.255", false},
		{"broadcast-route", [][]string{{"route", "add", "broadcast", "10.9.0.7", "dev", "lo", "table", "local"}}, "10.9.0.7", true},
		{"multicast-route", [][]string{{"route", "add", "multicast", "10.9.0.7", "dev", "lo", "table", "local"}}, "10.9.0.7", true},
		// Multicast by address class: no route needed.
		{"multicast-class", nil, "239.1.2.3", true},
		{"limited-broadcast", nil, "255.255.255.255", true},
		{"class-e", nil, "240.0.0.1", false},
		{"zero-network", nil, "0.1.2.3", false},
		{"loopback-8", nil, "127.1.2.3", true},
		{"loopback-8-lo-down", [][]string{{"link", "set", "lo", "down"}}, "127.1.2.3", true},
		{"loopback-8-route-deleted", [][]string{{"route", "del", "local", "127.0.0.0/8", "dev", "lo", "table", "local"}}, "127.1.2.3", false},
		{"anycast-route", [][]string{{"route", "add", "anycast", "10.9.0.7", "dev", "lo", "table", "local"}}, "10.9.0.7", false},
		{"unicast-route-in-local", [][]string{{"route", "add", "unicast", "10.9.0.7", "dev", "eth0", "table", "local"}}, "10.9.0.7", false},
		// A more specific route of another type hides an AnyIP range.
		{"anyip-unicast-hole", [][]string{anyIP, {"route", "add", "unicast", "10.9.0.7/32", "dev", "eth0", "table", "local"}}, "10.9.0.7", false},
		{"anyip-blackhole-hole", [][]string{anyIP, {"route", "add", "blackhole", "10.9.0.7/32", "table", "local"}}, "10.9.0.7", false},
		{"anyip-unreachable-hole", [][]string{anyIP, {"route", "add", "unreachable", "10.9.0.7/32", "table", "local"}}, "10.9.0.7", false},
		{"anyip-prohibit-hole", [][]string{anyIP, {"route", "add", "prohibit", "10.9.0.7/32", "table", "local"}}, "10.9.0.7", false},
		{"anyip-throw-hole", [][]string{anyIP, {"route", "add", "throw", "10.9.0.7/32", "table", "local"}}, "10.9.0.7", false},
		// nat and xresolve routes need scope nowhere (255) to be added.
		{"anyip-nat-hole", [][]string{anyIP, {"route", "add", "nat", "10.9.0.7/32", "table", "local", "scope", "255"}}, "10.9.0.7", false},
		{"anyip-xresolve-hole", [][]string{anyIP, {"route", "add", "xresolve", "10.9.0.7/32", "table", "local", "scope", "255"}}, "10.9.0.7", false},
		{"anyip-beside-hole", [][]string{anyIP, {"route", "add", "blackhole", "10.9.0.7/32", "table", "local"}}, "10.9.0.8", true},
		// Table main's routes count while the tables are merged...
		{"anyip-main-route-hole", [][]string{anyIP, {"route", "add", "10.9.0.7/32", "dev", "eth0"}}, "10.9.0.7", false},
		{"local-route-in-main", [][]string{{"route", "add", "local", "10.9.0.0/24", "dev", "lo", "table", "main"}}, "10.9.0.7", true},
		// ...and not once an ip rule has split them.
		{"anyip-main-route-hole-split", [][]string{customRule, anyIP, {"route", "add", "10.9.0.7/32", "dev", "eth0"}}, "10.9.0.7", true},
		{"local-route-in-main-split", [][]string{customRule, {"route", "add", "local", "10.9.0.0/24", "dev", "lo", "table", "main"}}, "10.9.0.7", false},
		{"local-route-in-table-100", [][]string{{"route", "add", "local", "10.9.0.0/24", "dev", "lo", "table", "100"}}, "10.9.0.7", false},
		// A configured address whose local route was replaced, or has a
		// route of another type before it, does not bind...
		{"configured-route-replaced", [][]string{{"route", "replace", "blackhole", "10.0.0.5/32", "table", "local"}}, "10.0.0.5", false},
		{"configured-blackhole-prepended", [][]string{{"route", "prepend", "blackhole", "10.0.0.5/32", "table", "local"}}, "10.0.0.5", false},
		// ...but one after it changes nothing.
		{"configured-blackhole-appended", [][]string{{"route", "append", "blackhole", "10.0.0.5/32", "table", "local"}}, "10.0.0.5", true},
		// Table local's route comes before table main's at one prefix.
		{"configured-main-blackhole", [][]string{{"route", "add", "blackhole", "10.0.0.5/32", "table", "main"}}, "10.0.0.5", true},
	}
	var cases []daemonCase
	for _, st := range states {
		sock := st.addr + ":80"
		for _, d := range []string{"nginx", "nginx-udp", "haproxy"} {
			tc := daemonCase{name: d + "/route-" + st.name, daemon: d, listens: []string{sock},
				ipArgs: st.ipArgs, addr: st.addr, port: 80, wantBound: st.bound}
			switch d {
			case "nginx":
				tc.wantStderr = "bind() to " + sock + " failed (99: Cannot assign requested address)"
			case "nginx-udp":
				tc.daemon, tc.listens, tc.stream, tc.proto = "nginx", nil, []string{sock + " udp"}, "udp"
				tc.wantStderr = "bind() to " + sock + " failed (99: Cannot assign requested address)"
			case "haproxy":
				tc.wantStderr = "cannot bind socket (Cannot assign requested address) for [" + sock + "]"
			}
			if st.bound {
				tc.socket, tc.wantStderr = sock, ""
			} else {
				tc.wantFinding = "LBD101"
			}
			cases = append(cases, tc)
		}
	}
	return cases
}

// inDir returns the case with PREFIX replaced by dir.
func (tc daemonCase) inDir(dir string) daemonCase {
	r := strings.NewReplacer("PREFIX", dir)
	tc.listens = slices.Clone(tc.listens)
	for i, l := range tc.listens {
		tc.listens[i] = r.Replace(l)
	}
	tc.global = slices.Clone(tc.global)
	for i, l := range tc.global {
		tc.global[i] = r.Replace(l)
	}
	tc.addr, tc.socket, tc.wantStderr = r.Replace(tc.addr), r.Replace(tc.socket), r.Replace(tc.wantStderr)
	return tc
}

// listenProto is the listeners[].proto lbdoctor gives the case's listener.
func (tc daemonCase) listenProto() string {
	switch {
	case tc.proto != "":
		return tc.proto
	case strings.HasPrefix(tc.addr, "/"):
		return "unix"
	}
	return "tcp"
}

// addrOf is the address of the compared listener of service s.
func (tc daemonCase) addrOf(s string) string {
	if s == tc.then && tc.thenAddr != "" {
		return tc.thenAddr
	}
	return tc.addr
}

// services are the daemons the case configures, in lbdoctor's order.
func (tc daemonCase) services() []string {
	var s []string
	for _, d := range []string{"nginx", "haproxy", "apache", "postgresql", "redis", "systemd-socket"} {
		if d == tc.daemon || d == tc.then {
			s = append(s, d)
		}
	}
	return s
}

// daemonReport is the part of the lbdoctor/v1 JSON (CONTRACT.md) the
// agreement test reads.
type daemonReport struct {
	Schema   string `json:"schema"`
	Services []struct {
		Service   string `json:"service"`
		Config    string `json:"config"`
		Status    string `json:"status"`
		Listeners []struct {
			Address string `json:"address"`
			Port    int    `json:"port"`
			Proto   string `json:"proto"`
			File    string `json:"file"`
			Line    int    `json:"line"`
			Status  string `json:"status"`
			Errno   string `json:"errno"`
			Finding string `json:"finding"`
			Via     string `json:"via"`
		} `json:"listeners"`
	} `json:"services"`
	Findings []struct {
		ID          string   `json:"id"`
		Severity    string   `json:"severity"`
		Service     string   `json:"service"`
		Address     string   `json:"address"`
		Port        int      `json:"port"`
		Message     string   `json:"message"`
		DaemonError string   `json:"daemon_error"`
		Fix         []string `json:"fix"`
	} `json:"findings"`
}

// verdictListener is lbdoctor's verdict on one listener of the case.
type verdictListener struct {
	status, errno, finding, via string
}

func (l verdictListener) String() string {
	return strings.Join(slices.DeleteFunc([]string{l.status, l.errno, l.finding}, func(s string) bool { return s == "" }), " ")
}

// daemonVerdict is what lbdoctor said about one case.
type daemonVerdict struct {
	exit int
	// service is each configured service's status; listeners are its
	// listeners at the case's address, port and proto.
	service   map[string]string
	listeners map[string][]verdictListener
	// findings are "ID severity service: message", ids the IDs by
	// service, lines the message and daemon_error texts by service.
	findings []string
	ids      map[string][]string
	lines    map[string][]string
	// args and stdout are the check run and its JSON, for the bundle's
	// verdict to equal.
	args   []string
	stdout []byte
	// all are the findings as reported, for the after-reboot verdict.
	all []daemonFinding
}

// daemonFinding is one finding of lbdoctor's report.
type daemonFinding struct {
	id, severity, service, address, message string
	port                                    int
}

func (v daemonVerdict) String() string {
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(v.service)) {
		var ls []string
		for _, l := range v.listeners[s] {
			if !slices.Contains(ls, l.String()) {
				ls = append(ls, l.String())
			}
		}
		p := s + " " + v.service[s] + ", listener " + strings.Join(ls, " / ")
		if n := len(v.listeners[s]); n > 1 {
			p += fmt.Sprintf(" (x%d)", n)
		}
		if len(v.listeners[s]) > 0 && v.listeners[s][0].via != "" {
			p += " via " + v.listeners[s][0].via
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("exit %d, %s", v.exit, strings.Join(parts, "; "))
}

// daemonOutcome is what the daemon did in the namespace.
type daemonOutcome struct {
	bound  bool
	exit   int
	errno  string // read back from its error text
	stderr string
}

func (o daemonOutcome) String() string {
	if o.bound {
		return "bound"
	}
	return fmt.Sprintf("failed (exit %d) %s", o.exit, o.errno)
}

// daemonRow is one line of the agreement table.
type daemonRow struct {
	name, daemon, lbdoctor string
	agree                  string // yes, NO, KNOWN BUG, ERROR, or - when lbdoctor did not run
}

func TestDaemonsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("TestDaemonsAgree starts real nginx and HAProxy in network namespaces: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("TestDaemonsAgree SKIPPED: needs root to create network namespaces (ip netns add)")
	}
	for _, tool := range []string{"ip", "ss", "sysctl", "nginx", "haproxy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("TestDaemonsAgree SKIPPED: %s is not installed (%v)", tool, err)
		}
	}
	defer daemonPostgresTemplate.cleanup()
	templates, err := template.ParseGlob(filepath.Join("..", "..", "testdata", "daemon", "*.tmpl"))
	if err != nil {
		t.Fatalf("read config templates: %v", err)
	}

	daemonOnly := os.Getenv("LBDOCTOR_DAEMON_ONLY") == "1"
	bin := os.Getenv("LBDOCTOR_BIN")
	switch {
	case daemonOnly:
		t.Log("LBDOCTOR_DAEMON_ONLY=1: checking the daemons against the fixtures only, lbdoctor is not run")
	case bin != "":
		t.Logf("LBDOCTOR_BIN: judging %s", bin)
	default:
		bin = daemonBuildLbdoctor(t)
	}

	var (
		seq  atomic.Int32
		mu   sync.Mutex
		rows []daemonRow
	)
	// Cases mostly wait (a bound daemon is watched for a second, nginx
	// retries a busy port for 2.5 s), so more of them run at once than
	// -parallel (GOMAXPROCS) would let parallel subtests: t.Run may be
	// called from several goroutines, and sem bounds how many.
	sem := make(chan struct{}, 16)
	t.Run("case", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, tc := range slices.Concat(daemonCases(), serviceDaemonCases(), socketDaemonCases(), rebootCases()) {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				t.Run(tc.name, func(t *testing.T) {
					row := daemonRunCase(t, templates, bin, daemonOnly, fmt.Sprintf("lbd-d-%d-%d", os.Getpid(), seq.Add(1)), tc)
					mu.Lock()
					rows = append(rows, row)
					mu.Unlock()
					if row.agree == "KNOWN BUG" {
						t.Skipf("KNOWN BUG: %s", tc.knownBug)
					}
				})
			})
		}
		wg.Wait()
	})

	slices.SortFunc(rows, func(a, b daemonRow) int { return strings.Compare(a.name, b.name) })
	header := daemonRow{name: "CASE", daemon: "DAEMON", lbdoctor: "LBDOCTOR", agree: "AGREE"}
	var wName, wDaemon, wLbdoctor, agree int
	for _, r := range append(rows, header) {
		wName, wDaemon, wLbdoctor = max(wName, len(r.name)), max(wDaemon, len(r.daemon)), max(wLbdoctor, len(r.lbdoctor))
		if r.agree == "yes" {
			agree++
		}
	}
	var b strings.Builder
	for _, r := range append([]daemonRow{header}, rows...) {
		fmt.Fprintf(&b, "%-*s  %-*s  %-*s  %s\n", wName, r.name, wDaemon, r.daemon, wLbdoctor, r.lbdoctor, r.agree)
	}
	t.Logf("agreement table (%d cases, %d agree):\n%s", len(rows), agree, b.String())
}

// daemonRunCase builds the case's host in namespace ns, asks lbdoctor, runs
// the daemon(s) and returns the table row; it reports through t.
func daemonRunCase(t *testing.T, templates *template.Template, bin string, daemonOnly bool, ns string, tc daemonCase) (row daemonRow) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	// The row is returned even when a step below stops the test.
	row = daemonRow{name: tc.name, daemon: "(not run)", lbdoctor: "(not run)", agree: "-"}
	defer func() {
		if t.Failed() && row.agree != "NO" {
			row.agree = "ERROR"
		}
	}()

	daemonNetns(ctx, t, ns, tc)
	if tc.holder != "" {
		network, addr, _ := strings.Cut(tc.holder, " ")
		c, err := daemonHoldPort(ns, network, addr)
		if err != nil {
			t.Fatalf("hold %s in %s: %v", tc.holder, ns, err)
		}
		t.Cleanup(func() { c.Close() })
	}
	for _, d := range []string{tc.daemon, tc.then} {
		if bin := daemonBinary(d); bin != "" {
			if _, err := exec.LookPath(bin); err != nil {
				t.Skipf("SKIPPED: %s is not installed (%v)", bin, err)
			}
		}
	}
	runNS := ns
	runUser := tc.user
	if runUser == "" && (tc.daemon == "postgresql" || tc.then == "postgresql") {
		runUser = "postgres"
	}
	if tc.container != nil {
		runNS, runUser = containerNetns(ctx, t, ns, tc.container), tc.container.user
		tc.sandbox = tc.container.sandbox(t)
	}
	prefix := daemonPrefix(t, runUser)
	tc = tc.inDir(prefix)
	confs, root := writeDaemonConfigs(t, templates, tc, prefix)
	if tc.daemon == "postgresql" || tc.then == "postgresql" {
		daemonPostgresData(ctx, t, prefix)
	}
	if tc.stale {
		daemonStaleSocket(t, tc.addr)
	}

	// lbdoctor first: once the daemon runs, its own socket would be part
	// of the host state.
	var v daemonVerdict
	if !daemonOnly {
		row.lbdoctor = "(error, see log)"
		if tc.container != nil {
			writeContainerDef(t, tc, prefix, confs[tc.daemon].real)
		}
		v = daemonRunLbdoctor(ctx, t, bin, ns, tc, confs, root)
		row.lbdoctor = v.String()
		// A bundle carries no programs, so not the file capabilities of
		// a unit's ExecStart= (README: Bundles).
		if tc.sandbox == nil || !tc.sandbox.fileCaps {
			daemonBundleAgrees(ctx, t, bin, ns, v)
		}
	}
	row.daemon = "(error, see log)"
	var out daemonOutcome
	if tc.then == "" {
		var stop func()
		out, stop = daemonStart(ctx, t, runNS, tc.daemon, tc.user, tc.sandbox, root, confs[tc.daemon].real, prefix, tc.listenProto(), tc.socket)
		stop()
		row.daemon = out.String()
	} else {
		firstSocket := tc.socket
		if tc.firstSocket != "" {
			firstSocket = tc.firstSocket
		}
		first, stop := daemonStart(ctx, t, ns, tc.daemon, tc.user, tc.sandbox, root, confs[tc.daemon].real, prefix, tc.listenProto(), firstSocket)
		defer stop()
		if !first.bound {
			row.daemon = tc.daemon + " " + first.String() + " (fixture expects bound!)"
			t.Fatalf("fixture: %s, started first, must bind; it %s; stderr:\n%s", tc.daemon, first, first.stderr)
		}
		var stop2 func()
		out, stop2 = daemonStart(ctx, t, ns, tc.then, tc.user, nil, "", confs[tc.then].real, prefix, tc.listenProto(), tc.socket)
		stop2()
		stop()
		row.daemon = fmt.Sprintf("%s bound, %s %s", tc.daemon, tc.then, out)
	}

	// The fixture must build the state it claims.
	if out.bound != tc.wantBound {
		row.daemon += " (fixture expects otherwise!)"
		t.Errorf("fixture: daemon %s, the case expects bound=%v; stderr:\n%s", out, tc.wantBound, out.stderr)
	} else if !out.bound && !strings.Contains(out.stderr, tc.wantStderr) {
		row.daemon += " (unexpected text!)"
		t.Errorf("fixture: daemon stderr lacks %q:\n%s", tc.wantStderr, out.stderr)
	}
	var bootProblems []string
	if tc.reboot && !t.Failed() {
		bootProblems = rebootHalf(ctx, t, &row, daemonOnly, ns+"b", tc, confs, prefix, root, v)
	}
	if daemonOnly || t.Failed() {
		return row
	}
	problems := append(daemonDisagreements(tc, out, v), bootProblems...)
	row.agree = "yes"
	switch {
	case tc.knownBug != "" && len(problems) > 0:
		row.agree = "KNOWN BUG"
		t.Logf("known disagreement (%s):\n  %s\nlbdoctor findings: %q", tc.knownBug, strings.Join(problems, "\n  "), v.findings)
	case tc.knownBug != "":
		t.Errorf("lbdoctor now agrees with the daemon here: drop the case's knownBug %q", tc.knownBug)
	case len(problems) > 0:
		row.agree = "NO"
		for _, p := range problems {
			t.Errorf("disagreement: %s", p)
		}
		t.Logf("lbdoctor findings: %q", v.findings)
	}
	return row
}

// daemonDisagreements lists where lbdoctor's verdict differs from what the
// daemon did; the daemon is right by definition.
func daemonDisagreements(tc daemonCase, out daemonOutcome, v daemonVerdict) []string {
	var p []string
	for _, s := range tc.services() {
		ls := v.listeners[s]
		if len(ls) == 0 {
			p = append(p, fmt.Sprintf("lbdoctor reports no %s listener %s port %d/%s (daemon %s)", s, tc.addrOf(s), tc.port, tc.listenProto(), out))
			continue
		}
		// systemd binds a socket unit at boot, before the daemon: started
		// first, it bound (the fixture checks), and lbdoctor must call it ok.
		if out.bound || (s == tc.daemon && tc.then != "" && s == "systemd-socket") {
			if v.service[s] != "ok" {
				p = append(p, fmt.Sprintf("daemon bound, lbdoctor says %s %q", s, v.service[s]))
			}
			for _, l := range ls {
				// warn is still "binds now" (e.g. a runtime-only sysctl).
				if l.status != "ok" && l.status != "warn" {
					p = append(p, fmt.Sprintf("daemon bound, lbdoctor says %s listener %q %s", s, l.status, l.errno))
				}
				if l.status == "ok" && l.errno != "" {
					p = append(p, fmt.Sprintf("%s listener ok but errno %q", s, l.errno))
				}
				if tc.wantVia != "" && l.via != tc.wantVia {
					p = append(p, fmt.Sprintf("daemon served %s:%d from %s, lbdoctor says via %q", tc.addr, tc.port, tc.socket, l.via))
				}
			}
			continue
		}
		if v.service[s] != "fail" {
			p = append(p, fmt.Sprintf("daemon failed with %s, lbdoctor says %s %q", out.errno, s, v.service[s]))
		}
		for _, l := range ls {
			if l.status != "fail" {
				p = append(p, fmt.Sprintf("daemon failed with %s, lbdoctor says %s listener %q", out.errno, s, l.status))
			}
			if l.errno != out.errno {
				p = append(p, fmt.Sprintf("daemon failed with %s, lbdoctor says %s errno %q", out.errno, s, l.errno))
			}
		}
	}
	switch {
	case out.bound && v.exit != 0:
		p = append(p, fmt.Sprintf("daemon bound, lbdoctor exit code %d, want 0", v.exit))
	case !out.bound && v.exit != 1:
		p = append(p, fmt.Sprintf("daemon failed, lbdoctor exit code %d, want 1", v.exit))
	}
	// lbdoctor promises the line the daemon prints.
	failed := tc.daemon
	if tc.then != "" {
		failed = tc.then
	}
	if !out.bound && !slices.ContainsFunc(v.lines[failed], func(l string) bool { return strings.Contains(l, tc.wantStderr) }) {
		p = append(p, fmt.Sprintf("no %s finding quotes the daemon's error %q", failed, tc.wantStderr))
	}
	// A socket unit binds first: the finding is the daemon's after it.
	judged := tc.daemon
	if tc.daemon == "systemd-socket" && tc.then != "" {
		judged = tc.then
	}
	if tc.wantFinding != "" && !slices.Contains(v.ids[judged], tc.wantFinding) {
		p = append(p, fmt.Sprintf("lbdoctor reports no %s for %s (findings %q)", tc.wantFinding, judged, v.ids[judged]))
	}
	return p
}

// lbdoctorBin is the lbdoctor binary a test runs: $LBDOCTOR_BIN when set,
// else one built from this tree.
func lbdoctorBin(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("LBDOCTOR_BIN"); bin != "" {
		return bin
	}
	return daemonBuildLbdoctor(t)
}

// daemonBuildLbdoctor compiles the command under test once, from this directory.
func daemonBuildLbdoctor(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("SKIPPED: the go tool is not in PATH to build lbdoctor (%v)", err)
	}
	bin := filepath.Join(t.TempDir(), "lbdoctor")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build lbdoctor: %v\n%s", err, out)
	}
	return bin
}

// daemonCmd runs a helper (ip, ss, sysctl) that must succeed.
func daemonCmd(ctx context.Context, t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// daemonNetns creates the namespace ns with lo up and eth0 holding
// 10.0.0.5/24 and fd00::5/64, applies the case's ip commands, sysctls and
// exec commands, and removes the namespace when the test ends. The host's
// own namespace is never touched: every command names ns.
func daemonNetns(ctx context.Context, t *testing.T, ns string, tc daemonCase) {
	t.Helper()
	daemonCmd(ctx, t, "ip", "netns", "add", ns)
	t.Cleanup(func() {
		// t.Context is already done when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	})
	steps := [][]string{
		{"link", "set", "lo", "up"},
		// The kernel has no dummy driver; ifb is a plain, always-up device.
		{"link", "add", "eth0", "type", "ifb"},
		{"link", "set", "eth0", "up"},
		{"addr", "add", "10.0.0.5/24", "dev", "eth0"},
		{"addr", "add", "fd00::5/64", "dev", "eth0", "nodad"},
	}
	for _, s := range append(steps, tc.ipArgs...) {
		daemonCmd(ctx, t, "ip", append([]string{"-n", ns}, s...)...)
	}
	sysctls := map[string]string{"net.ipv4.ip_nonlocal_bind": "0", "net.ipv6.ip_nonlocal_bind": "0"}
	maps.Copy(sysctls, tc.sysctls)
	for _, k := range slices.Sorted(maps.Keys(sysctls)) {
		daemonCmd(ctx, t, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", k+"="+sysctls[k])
	}
	for _, c := range tc.exec {
		daemonCmd(ctx, t, "ip", append([]string{"netns", "exec", ns}, c...)...)
	}
}

// daemonHoldPort opens a socket inside ns from this process: the "other
// process already on the port".
func daemonHoldPort(ns, network, addr string) (io.Closer, error) {
	network, reuseAddr := strings.CutSuffix(network, "+reuseaddr")
	lc := net.ListenConfig{}
	if reuseAddr {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			})
			return errors.Join(err, serr)
		}
	}
	var c io.Closer
	err := daemonInNetns(ns, func() (err error) {
		if strings.HasPrefix(network, "udp") {
			c, err = lc.ListenPacket(context.Background(), network, addr)
			return err
		}
		// Go sets SO_REUSEADDR on TCP listeners, as daemons do; a "tcp"
		// wildcard is dual-stack (IPV6_V6ONLY off), "tcp6" is not.
		c, err = lc.Listen(context.Background(), network, addr)
		return err
	})
	return c, err
}

// daemonInNetns runs f on a thread that has entered the namespace ns, so
// the sockets f opens live in ns; they stay there after the thread
// switches back.
func daemonInNetns(ns string, f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		err = f()
		// Only a thread back in its own namespace may run other goroutines;
		// otherwise it stays locked and dies with this goroutine.
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- err
	}()
	return <-ch
}

// daemonPrefix is the case's directory. A daemon that runs as another user
// needs one it can enter and write, which t.TempDir (0700) is not.
func daemonPrefix(t *testing.T, user string) string {
	t.Helper()
	if user == "" {
		return t.TempDir()
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skipf("SKIPPED: setpriv (util-linux) is not installed to run the daemon as %s (%v)", user, err)
	}
	u, err := daemonUserIDs(user)
	if err != nil {
		t.Skipf("SKIPPED: user %s: %v", user, err)
	}
	dir, err := os.MkdirTemp("", "lbd-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, u[0], u[1]); err != nil {
		t.Fatal(err)
	}
	return dir
}

// daemonUserIDs returns the uid and gid of a user from /etc/passwd (no cgo).
func daemonUserIDs(name string) ([2]int, error) {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return [2]int{}, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 4 || f[0] != name {
			continue
		}
		var ids [2]int
		if _, err := fmt.Sscan(f[2]+" "+f[3], &ids[0], &ids[1]); err != nil {
			return ids, fmt.Errorf("/etc/passwd: %q: %w", line, err)
		}
		return ids, nil
	}
	return [2]int{}, fmt.Errorf("not in /etc/passwd")
}

// daemonConf is where a config is: the path lbdoctor is given (below
// --root when the case has one) and the real one the daemon reads.
type daemonConf struct{ arg, real string }

// writeDaemonConfigs renders the configs of the case's daemons from
// testdata/daemon into prefix, the daemons' prefix too. A case with a user
// gets them in a tree below prefix/root, with the nginx.service that runs
// nginx as that user; root is that tree, or "" for none.
func writeDaemonConfigs(t *testing.T, templates *template.Template, tc daemonCase, prefix string) (confs map[string]daemonConf, root string) {
	t.Helper()
	confs = make(map[string]daemonConf)
	dirs := map[string]string{"nginx": "/etc/nginx", "haproxy": "/etc/haproxy", "apache": "/etc/apache2", "postgresql": "/etc/postgresql/15/main", "redis": "/etc/redis", "systemd-socket": "/etc/systemd/system"}
	names := map[string]string{"nginx": "nginx.conf", "haproxy": "haproxy.cfg", "apache": "apache2.conf", "postgresql": "postgresql.conf", "redis": "redis.conf", "systemd-socket": "web.socket"}
	if tc.reboot {
		root = filepath.Join(prefix, "root")
		if err := os.MkdirAll(filepath.Join(root, "etc", "sysctl.d"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range tc.persist {
			daemonWriteFile(t, filepath.Join(root, "etc", "sysctl.d", name), content)
		}
		// The node's network configuration, which the reboot brings up
		// with the real ifup (rebootNetns), and networking.service
		// enabled, as Debian installs it.
		ifaces := rebootInterfaces
		if tc.interfaces != "" {
			ifaces = tc.interfaces
		}
		daemonWriteFile(t, filepath.Join(root, "etc", "network", "interfaces"), ifaces)
		for _, d := range []string{"if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"} {
			if err := os.MkdirAll(filepath.Join(root, "etc", "network", d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		wants := filepath.Join(root, "etc", "systemd", "system", "multi-user.target.wants")
		if err := os.MkdirAll(wants, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/lib/systemd/system/networking.service", filepath.Join(wants, "networking.service")); err != nil {
			t.Fatal(err)
		}
	}
	if tc.user != "" || tc.unit != nil {
		root = filepath.Join(prefix, "root")
		// The unit lbdoctor reads for the daemon the case runs as user or
		// in a sandbox.
		unitName, exe := tc.daemon+".service", "/usr/sbin/"+tc.daemon
		if tc.daemon == "redis" {
			unitName, exe = "redis-server.service", "/usr/bin/redis-server /etc/redis/redis.conf"
		}
		unit := fmt.Sprintf("[Unit]\nDescription=%s as TestDaemonsAgree runs it\n\n[Service]\nType=forking\nExecStart=%s\n", tc.daemon, exe)
		if tc.user != "" {
			unit += "User=" + tc.user + "\n"
		}
		for _, l := range tc.unit {
			unit += l + "\n"
		}
		if tc.daemon == "postgresql" {
			// Debian's template: no User=, pg_ctlcluster starts the server
			// as the cluster's owner.
			unitName = "postgresql@.service"
			unit = "[Unit]\nDescription=PostgreSQL Cluster %i\n\n[Service]\nType=forking\nExecStart=-/usr/bin/pg_ctlcluster --skip-systemctl-redirect %i start\n"
		}
		daemonWriteFile(t, filepath.Join(root, "etc/systemd/system", unitName), unit)
		if tc.sandbox != nil && tc.sandbox.fileCaps {
			daemonCopyWithCaps(t, "/usr/sbin/"+tc.daemon, filepath.Join(root, "usr/sbin", tc.daemon))
		}
	}
	for _, d := range []string{tc.daemon, tc.then} {
		if d == "" {
			continue
		}
		listens := tc.listens
		if d == tc.then {
			listens = tc.thenListens
		}
		data := struct {
			Prefix                             string
			Listens, Stream, Frontend2, Global []string
		}{prefix, listens, nil, nil, nil}
		if d == tc.daemon {
			data.Stream, data.Frontend2, data.Global = tc.stream, tc.frontend2, tc.global
		}
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, names[d]+".tmpl", data); err != nil {
			t.Fatalf("render %s: %v", names[d], err)
		}
		c := daemonConf{arg: filepath.Join(prefix, names[d])}
		c.real = c.arg
		if root != "" {
			c.arg = filepath.Join(dirs[d], names[d])
			c.real = filepath.Join(root, c.arg)
		}
		daemonWriteFile(t, c.real, b.String())
		confs[d] = c
	}
	return confs, root
}

// daemonWriteFile writes a file readable by every user, making its directories.
func daemonWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// daemonRunLbdoctor runs `lbdoctor check --json` inside ns on the case's
// configs and picks out the verdict on the case's listeners.
func daemonRunLbdoctor(ctx context.Context, t *testing.T, bin, ns string, tc daemonCase, confs map[string]daemonConf, root string) daemonVerdict {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	args := []string{"netns", "exec", ns, bin, "check", "--json"}
	if root != "" {
		args = append(args, "--root", root)
	}
	if tc.container != nil {
		args = append(args, "--container", tc.container.file)
	} else {
		for _, s := range tc.services() {
			args = append(args, "--"+s, confs[s].arg)
		}
	}
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	v := daemonVerdict{service: map[string]string{}, listeners: map[string][]verdictListener{}, ids: map[string][]string{}, lines: map[string][]string{}}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		v.exit = exitErr.ExitCode()
	default:
		t.Fatalf("run lbdoctor: %v\nstderr:\n%s", err, stderr.String())
	}
	v.args, v.stdout = args[3:], stdout.Bytes()
	var r daemonReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("lbdoctor check --json (exit %d): stdout is not JSON: %v\nstdout:\n%s\nstderr:\n%s", v.exit, err, stdout.String(), stderr.String())
	}
	if r.Schema != "lbdoctor/v1" {
		t.Errorf("lbdoctor schema = %q, want lbdoctor/v1", r.Schema)
	}
	var got []string
	for _, s := range r.Services {
		got = append(got, s.Service)
	}
	if !slices.Equal(got, tc.services()) {
		t.Fatalf("lbdoctor %q reported services %q, want %q", args[3:], got, tc.services())
	}
	for _, s := range r.Services {
		v.service[s.Service] = s.Status
		for _, l := range s.Listeners {
			if l.Address == tc.addrOf(s.Service) && l.Port == tc.port && l.Proto == tc.listenProto() {
				v.listeners[s.Service] = append(v.listeners[s.Service], verdictListener{l.Status, l.Errno, l.Finding, l.Via})
			}
		}
	}
	for _, f := range r.Findings {
		v.findings = append(v.findings, fmt.Sprintf("%s %s %s: %s", f.ID, f.Severity, f.Service, f.Message))
		v.ids[f.Service] = append(v.ids[f.Service], f.ID)
		v.all = append(v.all, daemonFinding{f.ID, f.Severity, f.Service, f.Address, f.Message, f.Port})
		v.lines[f.Service] = append(v.lines[f.Service], f.Message, f.DaemonError)
	}
	return v
}

// daemonBundleAgrees makes the node's bundle inside ns (snapshot
// --with-configs with the config flags check had) and judges it outside
// the namespace, on this machine's host state, with check --host BUNDLE
// and no config flag: the verdict must be check's on the node, byte for
// byte but for the host's source. The host can change between two runs
// (an IPv6 address leaving "tentative"): when the two reports differ in
// their host facts, both are made again, up to three times.
func daemonBundleAgrees(ctx context.Context, t *testing.T, bin, ns string, v daemonVerdict) {
	t.Helper()
	run := func(name string, args ...string) (string, int) {
		cmd := exec.CommandContext(ctx, name, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exitErr *exec.ExitError
		switch {
		case err == nil:
			return stdout.String(), 0
		case errors.As(err, &exitErr) && exitErr.ExitCode() == 1:
			return stdout.String(), 1
		}
		t.Fatalf("%s %q: %v\n%s", name, args, err, stderr.String())
		return "", 0
	}
	source := regexp.MustCompile(`"source": "[^"]*"`)
	bundle := filepath.Join(t.TempDir(), "node.bundle.yaml")
	for attempt := 1; ; attempt++ {
		run("ip", append([]string{"netns", "exec", ns, bin, "snapshot", "--with-configs", "-o", bundle}, v.args[3:]...)...)
		onNode, nodeExit := run("ip", append([]string{"netns", "exec", ns}, v.args...)...)
		fromBundle, bundleExit := run(bin, "check", "--json", "--host", bundle)
		onNode = source.ReplaceAllString(onNode, `"source": ""`)
		fromBundle = source.ReplaceAllString(fromBundle, `"source": ""`)
		if nodeExit == bundleExit && onNode == fromBundle {
			return
		}
		// The live host can change between the snapshot and check: an
		// address leaving "tentative", or a child forked by a parallel case
		// holding a socket for the moment before its exec (a lower PID then
		// names the owner).
		if attempt < 3 {
			t.Logf("the node's and the bundle's reports differ (attempt %d): the host may have changed in between; again", attempt)
			time.Sleep(time.Second)
			continue
		}
		t.Errorf("check --host BUNDLE (exit %d) differs from %q on the node (exit %d)\nnode:\n%s\nbundle:\n%s", bundleExit, v.args, nodeExit, onNode, fromBundle)
		return
	}
}

// daemonStart starts a real daemon in ns in the foreground (as user, when
// set) and waits until it either exits (failed) or has run for a second
// with its socket listening (bound). A bound daemon keeps running until
// stop is called; stop may be called more than once.
func daemonStart(ctx context.Context, t *testing.T, ns, daemon, user string, sb *daemonSandbox, root, conf, prefix, proto, socket string) (daemonOutcome, func()) {
	t.Helper()
	var args []string
	switch daemon {
	case "nginx":
		// daemon off, pid and error_log stderr are in the config itself,
		// so lbdoctor reads exactly what nginx runs; -e keeps nginx off
		// the machine's /var/log/nginx/error.log before it reads them.
		args = []string{"nginx", "-e", "stderr", "-c", conf, "-p", prefix}
	case "haproxy":
		args = []string{"haproxy", "-db", "-f", conf}
	case "apache":
		args = []string{"apache2", "-DFOREGROUND", "-f", conf}
	case "postgresql":
		// The server refuses to run as root; the data directory is its.
		args = []string{daemonBinary(daemon), "-D", filepath.Join(prefix, "data"), "-c", "config_file=" + conf}
		if user == "" {
			user = "postgres"
		}
	case "systemd-socket":
		// systemd is not PID 1 here: the helper binds as it does.
		helper, err := filepath.Abs(filepath.Join("..", "..", "testdata", "daemon", "systemd-socket-bind.py"))
		if err != nil {
			t.Fatal(err)
		}
		args = []string{"python3", helper, conf}
	case "redis":
		args = []string{"redis-server", conf}
		// A config that monitors a master is Sentinel's.
		if b, err := os.ReadFile(conf); err == nil && bytes.Contains(b, []byte("\nsentinel monitor ")) {
			args = append(args, "--sentinel")
		}
	default:
		t.Fatalf("unknown daemon %q", daemon)
	}
	var env []string
	cgroupFD := -1
	if sb != nil {
		args, env, cgroupFD = sandboxArgs(t, sb, daemon, user, root, args)
	} else if user != "" {
		ids, err := daemonUserIDs(user)
		if err != nil {
			t.Fatal(err)
		}
		args = append([]string{"setpriv", fmt.Sprintf("--reuid=%d", ids[0]), fmt.Sprintf("--regid=%d", ids[1]), "--clear-groups"}, args...)
	}
	// ip netns exec (and setpriv) exec the daemon, so the PID is the
	// daemon's; its own process group also holds nginx's workers, so a stop
	// reaches them. ctx outlives this call: it bounds the daemon's life.
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cgroupFD >= 0 {
		// Started right in the cgroup that holds the bind programs.
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cgroupFD
	}
	cmd.Env = append(os.Environ(), env...)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", daemon, err)
	}
	pid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			// SIGTERM lets nginx's master take its workers down with it.
			syscall.Kill(-pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				syscall.Kill(-pid, syscall.SIGKILL)
				<-done
			}
		})
	}
	exited := func(waitErr error) (daemonOutcome, func()) {
		once.Do(func() {})
		out := daemonOutcome{exit: -1, stderr: stderr.String()}
		var exitErr *exec.ExitError
		if errors.As(waitErr, &exitErr) {
			out.exit = exitErr.ExitCode()
		} else if waitErr == nil {
			out.exit = 0
			t.Errorf("%s exited 0 in the foreground; stderr:\n%s", daemon, out.stderr)
		}
		out.errno = daemonErrno(out.stderr)
		return out, stop
	}

	wait, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return exited(err)
		case <-tick.C:
			// nginx retries a busy port for 2.5 s before it gives up, so
			// "still running" alone does not mean bound.
			if time.Since(start) < time.Second || !daemonListening(wait, t, ns, pid, proto, socket) {
				continue
			}
			return daemonOutcome{bound: true, stderr: stderr.String()}, stop
		case <-wait.Done():
			stop()
			t.Fatalf("%s neither exited nor listened on %s in time; stderr:\n%s", daemon, socket, stderr.String())
		}
	}
}

// syncBuffer is a bytes.Buffer that a running daemon writes while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemonListening reports whether process pid listens on the TCP, UDP or
// unix socket local (as `ss` prints it) in ns.
func daemonListening(ctx context.Context, t *testing.T, ns string, pid int, proto, local string) bool {
	kind, match := "-t", func(field string) bool { return field == local }
	switch {
	case strings.HasPrefix(local, "/"):
		// HAProxy binds PATH.PID.tmp and renames it to PATH; ss keeps the
		// bound name, so the file itself is the proof of the final name.
		fi, err := os.Lstat(local)
		if err != nil || fi.Mode().Type() != os.ModeSocket {
			return false
		}
		kind = "-x"
		match = func(field string) bool { return field == local || strings.HasPrefix(field, local+".") }
	case proto == "udp":
		kind = "-u"
	}
	out := daemonCmd(ctx, t, "ip", "netns", "exec", ns, "ss", "-H", "-l", "-n", "-p", kind)
	for _, line := range strings.Split(out, "\n") {
		// The peer column ("0.0.0.0:*", "*") never equals a local socket.
		if slices.ContainsFunc(strings.Fields(line), match) && ownedBy(line, pid) {
			return true
		}
	}
	return false
}

// ssPID finds the processes `ss -p` names as a socket's users.
var ssPID = regexp.MustCompile(`pid=(\d+),`)

// ownedBy reports whether a process of the process group pid (the daemon,
// or the one a sandbox helper started in a user namespace) holds the
// socket of an `ss -p` line.
func ownedBy(line string, pid int) bool {
	for _, m := range ssPID.FindAllStringSubmatch(line, -1) {
		n, _ := strconv.Atoi(m[1])
		if n == pid {
			return true
		}
		if g, err := unix.Getpgid(n); err == nil && g == pid {
			return true
		}
	}
	return false
}

// daemonErrno names the errno behind a daemon's bind error text; both
// nginx and HAProxy print strerror(). The lines about binding and
// listening come first: an earlier alert (a log file nginx may not open as
// another user) must not name the errno.
func daemonErrno(s string) string {
	var bindLines []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, "bind") || strings.Contains(line, "listen") {
			bindLines = append(bindLines, line)
		}
	}
	for _, text := range []string{strings.Join(bindLines, "\n"), s} {
		for _, e := range []struct{ text, name string }{
			{"Cannot assign requested address", "EADDRNOTAVAIL"},
			{"Address already in use", "EADDRINUSE"},
			{"Permission denied", "EACCES"},
			{"Invalid argument", "EINVAL"},
			{"No such file or directory", "ENOENT"},
			{"Address family not supported", "EAFNOSUPPORT"},
			{"Operation not permitted", "EPERM"},
		} {
			if strings.Contains(text, e.text) {
				return e.name
			}
		}
	}
	return ""
}

// daemonBinary is the program a case's daemon runs, for the daemons that
// the suite's own tool check does not cover ("" for nginx and HAProxy).
func daemonBinary(daemon string) string {
	switch daemon {
	case "apache":
		return "apache2"
	case "postgresql":
		return "/usr/lib/postgresql/15/bin/postgres"
	case "redis":
		return "redis-server"
	case "systemd-socket":
		return "python3"
	}
	return ""
}

// daemonPostgresTemplate is one initdb data directory per test run; each
// PostgreSQL case runs on a copy of it.
var daemonPostgresTemplate pgTemplate

type pgTemplate struct {
	once sync.Once
	dir  string
	err  error
}

// cleanup removes the template, and forgets it: a later test of the run
// makes its own.
func (d *pgTemplate) cleanup() {
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
	*d = pgTemplate{}
}

// daemonPostgresData puts a fresh data directory, owned by postgres, at
// prefix/data.
func daemonPostgresData(ctx context.Context, t *testing.T, prefix string) {
	t.Helper()
	tpl := &daemonPostgresTemplate
	tpl.once.Do(func() {
		ids, err := daemonUserIDs("postgres")
		if err != nil {
			tpl.err = err
			return
		}
		dir, err := os.MkdirTemp("", "lbd-pgtpl-")
		if err != nil {
			tpl.err = err
			return
		}
		tpl.dir = dir
		if err := os.Chown(dir, ids[0], ids[1]); err != nil {
			tpl.err = err
			return
		}
		initdb := filepath.Join(filepath.Dir(daemonBinary("postgresql")), "initdb")
		cmd := exec.CommandContext(ctx, "setpriv", fmt.Sprintf("--reuid=%d", ids[0]), fmt.Sprintf("--regid=%d", ids[1]), "--clear-groups",
			initdb, "-D", filepath.Join(dir, "data"), "-A", "trust", "--no-sync")
		if out, err := cmd.CombinedOutput(); err != nil {
			tpl.err = fmt.Errorf("initdb: %v\n%s", err, out)
		}
	})
	if tpl.err != nil {
		t.Fatalf("postgresql data directory: %v", tpl.err)
	}
	daemonCmd(ctx, t, "cp", "-a", filepath.Join(tpl.dir, "data"), filepath.Join(prefix, "data"))
}

// daemonStaleSocket leaves a socket file at path with nothing behind it:
// a socket bound there and closed without unlinking, as after a crash.
func daemonStaleSocket(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatalf("bind %s: %v", path, err)
	}
}
