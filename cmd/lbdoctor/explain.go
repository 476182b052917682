package main

import (
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/selinux"
)

func runList(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: lbdoctor list")
		return exitUsage
	}
	for _, c := range checks.All() {
		fmt.Fprintf(stdout, "%s  %-8s %-18s %s\n", c.ID, c.Severity, c.Name, c.Title)
	}
	return exitOK
}

// The daemon error lines explain recognises. nginx prints
// "bind() to ADDR:PORT failed (ERRNO: TEXT)" (or "socket() ADDR:PORT failed"
// when the family is missing); HAProxy prints "cannot bind socket (TEXT) for
// [ADDR:PORT]", "cannot bind UNIX socket (TEXT) [PATH]", and before 2.x
// "cannot bind socket [ADDR:PORT]" without the reason; keepalived prints
// "bind unicast_src ADDR failed ERRNO - TEXT"; Apache httpd prints
// "(ERRNO)TEXT: AH00072: make_sock: could not bind to address ADDR:PORT";
// PostgreSQL "could not bind IPv4 address "ADDR": TEXT" (or IPv6, Unix);
// Redis "Could not create server TCP listening socket ADDR:PORT: bind: TEXT";
// systemd "UNIT: Failed to create listening socket (ADDR:PORT): TEXT";
// Envoy "cannot bind 'ADDR:PORT': TEXT".
var (
	nginxBind      = regexp.MustCompile(`(?:bind\(\) to|socket\(\)) (\S+) failed \((\d+): ([^)]*)\)`)
	haproxyBind    = regexp.MustCompile(`cannot bind (?:UNIX )?socket(?: \(([^)]*)\))?(?: for)? \[([^\]]+)\]`)
	keepalivedBind = regexp.MustCompile(`bind unicast_src (\S+) failed (\d+) - (.*)$`)
	apacheBind     = regexp.MustCompile(`\((\d+)\)([^:]*): AH00072: make_sock: could not bind to address (\S+)`)
	postgresBind   = regexp.MustCompile(`could not bind (?:IPv4|IPv6|Unix) address "([^"]*)": (.*)$`)
	redisBind      = regexp.MustCompile(`Could not create server TCP listening socket (\S+): bind: (.*)$`)
	envoyBind      = regexp.MustCompile(`cannot bind '([^']*)': (.*)$`)
	systemdBind    = regexp.MustCompile(`Failed to create listening socket \(([^)]*)\): (.*)$`)
)

// errnoChecks maps the text or number the daemons print to the check that
// explains it.
var errnoChecks = []struct {
	errno, num, text, id, cause string
}{
	{"EADDRNOTAVAIL", "99", "Cannot assign requested address", "LBD101", "the address is not on this host (a VIP held by the other node, a typo, an address not yet configured, or one added by hand that the last reboot removed: LBD410) and non-local binds are off"},
	{"EADDRNOTAVAIL", "99", "Address not available", "LBD101", "the address is not on this host (a VIP held by the other node, a typo, an address not yet configured, or one added by hand that the last reboot removed: LBD410) and non-local binds are off"},
	{"EADDRINUSE", "98", "Address already in use", "LBD201", "another socket already holds this port on an overlapping address (at boot, possibly an outgoing connection given it as its source port: LBD423)"},
	{"EACCES", "13", "Permission denied", "LBD302", "the port is below net.ipv4.ip_unprivileged_port_start and the service runs without CAP_NET_BIND_SERVICE, or a unix socket's directory is not writable"},
	{"EACCES", "13", "Permission denied", "LBD303", "SELinux denies the daemon's domain the port's type (RHEL and its rebuilds: nginx on 8888, HAProxy without haproxy_connect_any)"},
	{"EACCES", "13", "Permission denied", "LBD310", "the unit sets PrivateUsers=, so no capability of the service (root's included) counts in the host's network namespace"},
	{"EACCES", "13", "Permission denied", "LBD313", "the service relies on a file capability (setcap) that the unit's NoNewPrivileges= voids"},
	{"EACCES", "13", "Permission denied", "LBD314", "the daemon runs in a container as a non-root user (the image's USER, --user, runAsUser) or without NET_BIND_SERVICE, and --cap-add does not reach a non-root process under Docker or Kubernetes"},
	{"EAFNOSUPPORT", "97", "Address family not supported by protocol", "LBD102", "an IPv6 listen on a host whose kernel has no IPv6"},
	{"EAFNOSUPPORT", "97", "Address family not supported by protocol", "LBD312", "the unit's RestrictAddressFamilies= does not allow the family (AF_INET6 for an IPv6 listen)"},
	{"EPERM", "1", "Operation not permitted", "LBD311", "the unit's SocketBindDeny= refuses the port through a cgroup BPF program (IPAddressDeny= never fails a bind)"},
	{"EINVAL", "22", "Invalid argument", "LBD103", "an IPv6 link-local address needs an interface to scope it"},
	{"ENOENT", "2", "No such file or directory", "LBD301", "the directory of a unix socket does not exist"},
}

func runExplain(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: lbdoctor explain ID|\"LOG LINE\"")
		return exitUsage
	}
	arg := strings.TrimSpace(args[0])
	if c := checks.ByID(strings.ToUpper(arg)); c != nil {
		fmt.Fprintf(stdout, "%s (%s, %s): %s\n\n%s\n", c.ID, c.Name, c.Severity, c.Title, c.Doc)
		return exitOK
	}
	var addr, num, text, note string
	if m := nginxBind.FindStringSubmatch(arg); m != nil {
		addr, num, text = m[1], m[2], m[3]
	} else if m := haproxyBind.FindStringSubmatch(arg); m != nil {
		addr, text = m[2], m[1]
	} else if m := keepalivedBind.FindStringSubmatch(arg); m != nil {
		addr, num, text = m[1], m[2], strings.TrimSpace(m[3])
	} else if m := apacheBind.FindStringSubmatch(arg); m != nil {
		addr, num, text = m[3], m[1], m[2]
	} else if m := postgresBind.FindStringSubmatch(arg); m != nil {
		addr, text = m[1], strings.TrimSpace(m[2])
		note = "PostgreSQL logs this and goes on with its other listen_addresses; it stops only when none of them binds (\"FATAL:  could not create any TCP/IP sockets\")."
	} else if m := redisBind.FindStringSubmatch(arg); m != nil {
		addr, text = redisSocket(m[1]), strings.TrimSpace(m[2])
		note = "Redis stops on this unless the bind address is written with a \"-\" prefix and the address is not available (EADDRNOTAVAIL), and something else still binds."
	} else if m := envoyBind.FindStringSubmatch(arg); m != nil {
		addr, text = m[1], strings.TrimSpace(m[2])
		note = "Envoy refuses the listener (a static one stops Envoy at start-up); \"freebind: true\" on the listener lets a non-local address bind."
	} else if m := systemdBind.FindStringSubmatch(arg); m != nil {
		addr, text = m[1], strings.TrimSpace(m[2])
		note = "systemd binds a socket unit's sockets itself, at boot before the services; the unit fails (\"Failed to listen on sockets\") and so do the services it would activate. FreeBind=yes in its [Socket] section lets a non-local address bind."
	} else {
		fmt.Fprintf(stderr, "lbdoctor explain: %q is neither a check ID (see lbdoctor list) nor a daemon bind error line lbdoctor knows\n", arg)
		return exitUsage
	}
	if strings.HasPrefix(addr, "unix:") && num == "98" {
		// nginx on a socket file left behind: HAProxy renames over it.
		fmt.Fprintf(stdout, "EADDRINUSE on %s: a socket file is already at that path; when nobody listens on it, it was left by a crash and nginx does not remove it.\n", addr)
		fmt.Fprintf(stdout, "\n%s: %s\n\n%s\n", checks.LBD425.ID, checks.LBD425.Title, checks.LBD425.Doc)
		return exitOK
	}
	// One errno can have several causes: each is named, the first one's
	// doc printed in full, the others' IDs to look up.
	var matched []int
	for i, e := range errnoChecks {
		if (num != "" && e.num == num) || (text != "" && strings.EqualFold(e.text, text)) {
			if len(matched) == 0 || errnoChecks[matched[0]].errno == e.errno {
				matched = append(matched, i)
			}
		}
	}
	// From port 1024 on no capability is needed for an EACCES: SELinux is
	// the likelier cause.
	if p := sockPort(addr); p >= 1024 {
		for j, i := range matched {
			if errnoChecks[i].id == checks.LBD303.ID {
				matched = append(append([]int{i}, matched[:j]...), matched[j+1:]...)
				break
			}
		}
	}
	if len(matched) > 0 {
		first := errnoChecks[matched[0]]
		fmt.Fprintf(stdout, "%s on %s: %s.\n", first.errno, addr, first.cause)
		for _, i := range matched[1:] {
			if e := errnoChecks[i]; e.id != first.id {
				fmt.Fprintf(stdout, "Or (lbdoctor explain %s): %s.\n", e.id, e.cause)
			}
		}
		if note != "" {
			fmt.Fprintln(stdout, note)
		}
		diagnoseLive(stdout, addr, first.errno)
		if c := checks.ByID(first.id); c != nil {
			fmt.Fprintf(stdout, "\n%s: %s\n\n%s\n", c.ID, c.Title, c.Doc)
		}
		return exitOK
	}
	if num == "" && text == "" {
		// HAProxy before 2.x did not say why: the two usual causes.
		fmt.Fprintf(stdout, "bind() of %s failed and this HAProxy does not say why; it is almost always EADDRNOTAVAIL (the address is not on this host: lbdoctor explain LBD101) or EADDRINUSE (the port is taken: lbdoctor explain LBD201).\n", addr)
		diagnoseLive(stdout, addr, "EADDRNOTAVAIL")
		return exitOK
	}
	fmt.Fprintf(stdout, "bind() of %s failed (%s %s); lbdoctor has no explanation for this error yet.\n", addr, num, text)
	return exitOK
}

// sockPort is the port of a pasted "ADDR:PORT", 0 without one.
func sockPort(sock string) int {
	if i := strings.LastIndex(sock, ":"); i > 0 {
		if p, err := strconv.Atoi(sock[i+1:]); err == nil {
			return p
		}
	}
	return 0
}

// diagnoseLive checks the address of a pasted line against the live host,
// when it can be read.
func diagnoseLive(w io.Writer, sock, errno string) {
	if errno == "EACCES" {
		switch f := selinux.Modes(""); {
		case f.Mode != selinux.Disabled:
			fmt.Fprintf(w, "On this host SELinux is %s now (policy %s): lbdoctor check names the port's type and what the daemon's domain may bind.\n", f.Mode, f.Policy)
		case f.BootMode == selinux.Enforcing:
			fmt.Fprintf(w, "On this host SELinux is disabled now, but /etc/selinux/config makes it enforcing after a reboot.\n")
		default:
			fmt.Fprintf(w, "On this host SELinux is disabled: if the line comes from this host, SELinux is not the cause.\n")
		}
		return
	}
	if errno != "EADDRNOTAVAIL" && errno != "EADDRINUSE" {
		return
	}
	hostPart, port := sock, 0
	if i := strings.LastIndex(sock, ":"); i > 0 {
		if p, err := strconv.Atoi(sock[i+1:]); err == nil {
			hostPart, port = sock[:i], p
		}
	}
	a, err := netip.ParseAddr(strings.Trim(hostPart, "[]"))
	if err != nil {
		return
	}
	facts, err := host.Gather()
	if err != nil {
		return
	}
	local, why := facts.IsLocal(a)
	name := host.NonlocalBind4
	if a.Is6() && !a.Is4In6() {
		name = host.NonlocalBind6
	}
	switch {
	case local:
		fmt.Fprintf(w, "On this host %s is local now.\n", a)
	case facts.Sysctl(name) == "1":
		fmt.Fprintf(w, "On this host now: %s, but %s is 1, so the address binds here.\n", why, name)
	default:
		fmt.Fprintf(w, "On this host now: %s, and %s is %s.\n", why, name, facts.Sysctl(name))
	}
	if port == 0 {
		return
	}
	for _, proto := range []string{"tcp", "udp"} {
		for _, s := range facts.Listeners(proto, port) {
			owner := "an unknown process"
			if s.PID != 0 {
				owner = fmt.Sprintf("%s (pid %d)", s.Command, s.PID)
			}
			fmt.Fprintf(w, "On this host now %s listens on %s/%s.\n", owner, parsers.JoinHostPort(s.Address, s.Port), proto)
		}
	}
}

// redisSocket turns the socket as Redis prints it (an IPv6 address without
// brackets, "*" for 0.0.0.0, "::*" for ::) into ADDR:PORT as the others
// print it.
func redisSocket(s string) string {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return s
	}
	host, port := s[:i], s[i+1:]
	switch host {
	case "*":
		host = "0.0.0.0"
	case "::*":
		host = "::"
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return s
	}
	return parsers.JoinHostPort(host, p)
}
