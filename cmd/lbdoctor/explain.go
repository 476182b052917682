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
// "bind unicast_src ADDR failed ERRNO - TEXT".
var (
	nginxBind      = regexp.MustCompile(`(?:bind\(\) to|socket\(\)) (\S+) failed \((\d+): ([^)]*)\)`)
	haproxyBind    = regexp.MustCompile(`cannot bind (?:UNIX )?socket(?: \(([^)]*)\))?(?: for)? \[([^\]]+)\]`)
	keepalivedBind = regexp.MustCompile(`bind unicast_src (\S+) failed (\d+) - (.*)$`)
)

// errnoChecks maps the text or number the daemons print to the check that
// explains it.
var errnoChecks = []struct {
	errno, num, text, id, cause string
	// also is another check that explains the same line.
	also string
}{
	{"EADDRNOTAVAIL", "99", "Cannot assign requested address", "LBD101", "the address is not on this host (a VIP held by the other node, a typo, an address not yet configured) and non-local binds are off", ""},
	{"EADDRNOTAVAIL", "99", "Address not available", "LBD101", "the address is not on this host (a VIP held by the other node, a typo, an address not yet configured) and non-local binds are off", ""},
	{"EADDRINUSE", "98", "Address already in use", "LBD201", "another socket already holds this port on an overlapping address", ""},
	{"EACCES", "13", "Permission denied", "LBD302", "the port is below net.ipv4.ip_unprivileged_port_start and the service runs without CAP_NET_BIND_SERVICE, or SELinux denies the daemon's domain the port's type (RHEL and its rebuilds: nginx on 8888, HAProxy without haproxy_connect_any), or a unix socket's directory is not writable", "LBD303"},
	{"EAFNOSUPPORT", "97", "Address family not supported by protocol", "LBD102", "an IPv6 listen on a host whose kernel has no IPv6", ""},
	{"EINVAL", "22", "Invalid argument", "LBD103", "an IPv6 link-local address needs an interface to scope it", ""},
	{"ENOENT", "2", "No such file or directory", "LBD301", "the directory of a unix socket does not exist", ""},
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
	var addr, num, text string
	if m := nginxBind.FindStringSubmatch(arg); m != nil {
		addr, num, text = m[1], m[2], m[3]
	} else if m := haproxyBind.FindStringSubmatch(arg); m != nil {
		addr, text = m[2], m[1]
	} else if m := keepalivedBind.FindStringSubmatch(arg); m != nil {
		addr, num, text = m[1], m[2], strings.TrimSpace(m[3])
	} else {
		fmt.Fprintf(stderr, "lbdoctor explain: %q is neither a check ID (see lbdoctor list) nor a daemon bind error line lbdoctor knows\n", arg)
		return exitUsage
	}
	for _, e := range errnoChecks {
		if (num != "" && e.num == num) || (text != "" && strings.EqualFold(e.text, text)) {
			fmt.Fprintf(stdout, "%s on %s: %s.\n", e.errno, addr, e.cause)
			diagnoseLive(stdout, addr, e.errno)
			first, second := e.id, e.also
			// From port 1024 on no capability is needed: SELinux is the
			// likelier cause.
			if second != "" && sockPort(addr) >= 1024 {
				first, second = second, first
			}
			if c := checks.ByID(first); c != nil {
				fmt.Fprintf(stdout, "\n%s: %s\n\n%s\n", c.ID, c.Title, c.Doc)
			}
			if c := checks.ByID(second); c != nil {
				fmt.Fprintf(stdout, "\nThe other cause, %s: %s (lbdoctor explain %s).\n", c.ID, c.Title, c.ID)
			}
			return exitOK
		}
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
