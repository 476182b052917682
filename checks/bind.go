package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// errnos maps the error names bind() returns to the numbers and texts glibc
// prints, since the daemons print "(99: Cannot assign requested address)".
var errnos = map[string]struct {
	num  int
	text string
}{
	"EPERM":         {1, "Operation not permitted"},
	"ENOENT":        {2, "No such file or directory"},
	"EACCES":        {13, "Permission denied"},
	"EINVAL":        {22, "Invalid argument"},
	"EAFNOSUPPORT":  {97, "Address family not supported by protocol"},
	"EADDRINUSE":    {98, "Address already in use"},
	"EADDRNOTAVAIL": {99, "Cannot assign requested address"},
}

// DaemonError is the line the daemon prints when bind() fails with errno for
// l, and the shorter form the contract's message uses.
func DaemonError(l *parsers.Listener, errno string) (short, full string) {
	e := errnos[errno]
	switch l.Service {
	case "nginx":
		short = fmt.Sprintf("bind() to %s failed (%d: %s)", l.Socket(), e.num, e.text)
		return short, "nginx: [emerg] " + short
	case "haproxy":
		// HAProxy 2.6 names a listen section a "proxy" and prints IPv6
		// without brackets.
		kind, name, _ := strings.Cut(l.Context, " ")
		if kind == "listen" {
			kind = "proxy"
		}
		sock := l.Address()
		if l.Proto != parsers.Unix {
			sock = fmt.Sprintf("%s:%d", sock, l.Port)
		}
		short = fmt.Sprintf("cannot bind socket (%s) for [%s]", e.text, sock)
		if l.Proto == parsers.Unix {
			short = fmt.Sprintf("cannot bind UNIX socket (%s) [%s]", e.text, sock)
		}
		return short, fmt.Sprintf("[ALERT] : Binding [%s] for %s %s: %s", l.Pos, kind, name, short)
	case "apache":
		// httpd prints APR's "(errno)text" before its message, on stderr,
		// then "no listening sockets available, shutting down".
		short = fmt.Sprintf("(%d)%s: AH00072: make_sock: could not bind to address %s", e.num, e.text, l.Socket())
		return short, short
	case "postgresql":
		// PostgreSQL logs each failure and goes on with the next address
		// (StreamServerPort); it exits only when none bound. A unix socket
		// directory it cannot write fails at the socket's lock file first.
		family := "IPv4"
		switch {
		case l.Proto == parsers.Unix && (errno == "ENOENT" || errno == "EACCES"):
			short = fmt.Sprintf("could not create lock file %q: %s", l.Path+".lock", e.text)
			return short, "FATAL:  " + short
		case l.Proto == parsers.Unix:
			family = "Unix"
		case l.Addr.Is6() && !l.Addr.Is4In6():
			family = "IPv6"
		}
		short = fmt.Sprintf("could not bind %s address %q: %s", family, l.Address(), e.text)
		return short, "LOG:  " + short
	case "redis":
		// Redis prints the bind address as written (without its "-"
		// prefix, IPv6 without brackets) and anet's "bind: " prefix.
		if l.Proto == parsers.Unix {
			short = "Failed opening Unix socket: bind: " + e.text
			return short, "# " + short
		}
		short = fmt.Sprintf("Could not create server TCP listening socket %s:%d: bind: %s", strings.TrimPrefix(l.Raw, "-"), l.Port, e.text)
		return short, "# Warning: " + short
	case "envoy":
		// Envoy's ListenSocketImpl::bind() throws "cannot bind 'ADDR':
		// TEXT" (IPv6 in brackets, a pipe by its path), and the listener
		// manager logs it with the listener's name.
		sock := l.Socket()
		if l.Proto == parsers.Unix {
			sock = l.Path
		}
		short = fmt.Sprintf("cannot bind '%s': %s", sock, e.text)
		if name, ok := strings.CutPrefix(l.Context, "listener "); ok {
			return short, fmt.Sprintf("listener '%s' failed to bind or apply socket options: %s", name, short)
		}
		return short, short
	case parsers.SocketService:
		// systemd logs the unit's name, the address as sockaddr_pretty()
		// prints it (IPv6 in brackets, a unix socket by its path) and
		// strerror; the unit then fails ("Failed to listen on ...").
		sock := l.Socket()
		if l.Proto == parsers.Unix {
			sock = l.Path
		}
		unit, _, _ := strings.Cut(l.Context, " ")
		short = fmt.Sprintf("Failed to create listening socket (%s): %s", sock, e.text)
		return short, unit + ": " + short
	}
	short = fmt.Sprintf("bind() to %s failed (%d: %s)", l.Socket(), e.num, e.text)
	return short, l.Service + ": " + short
}

// socketError is the line the daemon prints when socket() for l fails
// with EAFNOSUPPORT (the family is not there, or a seccomp filter refuses
// it), and the shorter form the contract's message uses.
func socketError(l *parsers.Listener) (short, full string) {
	e := errnos["EAFNOSUPPORT"]
	short = fmt.Sprintf("socket() %s failed (%d: %s)", l.Socket(), e.num, e.text)
	switch l.Service {
	case "nginx":
		return short, "nginx: [emerg] " + short
	case "haproxy":
		short = fmt.Sprintf("cannot create listening socket (%s) for [%s:%d]", e.text, l.Address(), l.Port)
		return short, fmt.Sprintf("[ALERT] : Binding [%s] for %s: %s", l.Pos, l.Context, short)
	}
	return short, l.Service + ": " + short
}

// noIPv6Error is what the daemon prints when socket(AF_INET6) fails on a
// kernel without IPv6, as LBD102 and LBD422 word it: nginx's and HAProxy's
// own lines, the bind() failure for the others.
func noIPv6Error(l *parsers.Listener) (short, full string) {
	if l.Service == "nginx" || l.Service == "haproxy" {
		return socketError(l)
	}
	return DaemonError(l, "EAFNOSUPPORT")
}

// bindsAtBoot reports whether systemd binds l from a socket unit, at boot
// (sockets.target) before the services start: a daemon asking for the same
// socket later fails, not systemd.
func bindsAtBoot(l *parsers.Listener) bool { return l.Service == parsers.SocketService }

// nonlocalSysctl is the sysctl that lets l's family bind a non-local
// address; net.ipv4.ip_nonlocal_bind does nothing for IPv6.
func nonlocalSysctl(l *parsers.Listener) string {
	if l.Addr.Is4() || l.Addr.Is4In6() {
		return host.NonlocalBind4
	}
	return host.NonlocalBind6
}

// opensIPSocket reports whether l binds an IP address of its own in the
// judged namespace, the only kind whose address the kernel checks here.
func opensIPSocket(l *parsers.Listener) bool {
	return l.Proto != parsers.Unix && l.Addr.IsValid() && l.Via == "" && Unjudged(l) == ""
}

// Unjudged says why no check judges l, or "" when they do: it opens no
// address (an inherited descriptor, an abstract socket) or opens it in
// another network namespace than the one judged.
func Unjudged(l *parsers.Listener) string {
	switch {
	case l.Uncheckable != "":
		return l.Uncheckable
	case l.Namespace != "":
		return "bound in network namespace " + l.Namespace + ", not the one judged (run lbdoctor there: ip netns exec " + l.Namespace + " lbdoctor check)"
	}
	return ""
}

// exclusive reports whether a and b come from different branches of
// conditions lbdoctor could not decide, so the daemon opens at most one.
func exclusive(a, b *parsers.Listener) bool {
	return a.Conditional != "" && b.Conditional != "" && a.Conditional != b.Conditional
}

// addressUnavailable says why bind() of l's address would fail with
// EADDRNOTAVAIL on h, or "" when it would not.
func addressUnavailable(h *host.Facts, l *parsers.Listener) string {
	if !opensIPSocket(l) || l.Addr.IsUnspecified() || l.Transparent {
		return ""
	}
	// Those fail earlier, with another errno: LBD102 and LBD103.
	if l.Addr.Is6() && !l.Addr.Is4In6() && (h.NoIPv6 || (l.Addr.IsLinkLocalUnicast() && l.Addr.Zone() == "")) {
		return ""
	}
	local, why := h.IsLocal(l.Addr)
	if local {
		return ""
	}
	name := nonlocalSysctl(l)
	v := h.Sysctl(name)
	if v == "1" {
		return ""
	}
	if v == "" {
		v = "unknown"
	}
	return fmt.Sprintf("%s and %s is %s", why, name, v)
}

// nonlocalFix is the fix for EADDRNOTAVAIL: allow non-local binds now and at
// every boot. The lists are made once per family and shared by every
// finding (tens of thousands on a big load balancer's VIPs): no one writes
// into a finding's Fix or Persist, and their capacity ends at their length,
// so an append copies.
func nonlocalFix(l *parsers.Listener) ([]string, []FileLine) {
	if nonlocalSysctl(l) == host.NonlocalBind6 {
		return nonlocalFix6.fix, nonlocalFix6.persist
	}
	return nonlocalFix4.fix, nonlocalFix4.persist
}

var nonlocalFix4, nonlocalFix6 = makeNonlocalFix(host.NonlocalBind4), makeNonlocalFix(host.NonlocalBind6)

type fixLines struct {
	fix     []string
	persist []FileLine
}

func makeNonlocalFix(name string) fixLines {
	// One file per family, so applying both fixes keeps both settings.
	file := "/etc/sysctl.d/60-lbdoctor.conf"
	if name == host.NonlocalBind6 {
		file = "/etc/sysctl.d/60-lbdoctor-ipv6.conf"
	}
	line := name + " = 1"
	return fixLines{
		fix:     slices.Clip([]string{"sysctl -w " + name + "=1", "echo '" + line + "' > " + file}),
		persist: slices.Clip([]FileLine{{Path: file, Line: line}}),
	}
}
