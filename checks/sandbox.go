package checks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/systemd"
)

// unprivilegedPortStart is net.ipv4.ip_unprivileged_port_start on the
// judged host, 1024 when unknown.
func unprivilegedPortStart(h *host.Facts) int {
	if v, err := strconv.Atoi(h.Sysctl(host.UnprivilegedPortMin)); err == nil {
		return v
	}
	return 1024
}

// privilegedPortFindings reports every IP listener of a service whose unit
// blocks privileged ports for reason, below the host's
// ip_unprivileged_port_start, with why and the drop-in lines that fix it.
func privilegedPortFindings(p *Pass, reason string, why func(s Service, l *parsers.Listener, start int) string, fix ...string) {
	start := unprivilegedPortStart(p.Host)
	for _, s := range p.Services {
		if s.Config == nil || s.Unit == nil || s.Unit.PrivilegedPortBlock() != reason {
			continue
		}
		for i := range s.Config.Listeners {
			l := &s.Config.Listeners[i]
			if !opensIPSocket(l) || l.Port == 0 || l.Port >= start {
				continue
			}
			short, full := DaemonError(l, "EACCES")
			cmds, persist := dropInFix(s.Unit.Name, "Service", "lbdoctor-bind.conf", fix...)
			p.Report(Finding{
				Listener:    l,
				Message:     fmt.Sprintf("%s would fail: %s", l.Service, short),
				DaemonError: full,
				Why:         why(s, l, start),
				Fix:         cmds,
				Persist:     persist,
				Errno:       "EACCES",
			})
		}
	}
}

// setAt says where a unit setting was made, or "" when the unit does not set it.
func setAt(u *systemd.Unit, key string) string {
	if pos, ok := u.Pos[key]; ok {
		return fmt.Sprintf("%s= at %s", key, pos)
	}
	return ""
}

// LBD310 finds privileged ports of a daemon whose unit sets PrivateUsers=.
var LBD310 = &Check{
	ID:       "LBD310",
	Name:     "private-users-privileged-port",
	Title:    "Privileged port for a service whose unit sets PrivateUsers=",
	Severity: Error,
	Doc: `PrivateUsers=yes runs the daemon in a user namespace of its own. Its
capabilities, root's included and any AmbientCapabilities=, count only
for objects that namespace owns; the host's network namespace belongs to
the host's user namespace, so a port below
net.ipv4.ip_unprivileged_port_start fails with EACCES even for root:

    nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)

Fix: turn PrivateUsers= off for the daemon in a drop-in (systemctl edit
nginx: [Service] PrivateUsers=no), let systemd bind the port and pass it
in (socket activation), or lower net.ipv4.ip_unprivileged_port_start to
the port. Verified with the real daemons under unshare(CLONE_NEWUSER)
with systemd's mapping (root and the service user) in the test's own
network namespace.`,
	Run: func(p *Pass) error {
		privilegedPortFindings(p, systemd.BlockPrivateUsers, func(s Service, l *parsers.Listener, start int) string {
			return fmt.Sprintf("%s runs in its own user namespace (%s), whose capabilities do not reach the host's network namespace, and port %d is below %s=%d",
				s.Unit.Name, setAt(s.Unit, "PrivateUsers"), l.Port, host.UnprivilegedPortMin, start)
		}, "PrivateUsers=no")
		return nil
	},
}

// LBD313 finds privileged ports of a daemon that relies on file
// capabilities its unit's NoNewPrivileges= voids.
var LBD313 = &Check{
	ID:       "LBD313",
	Name:     "no-new-privileges-file-caps",
	Title:    "NoNewPrivileges= voids the file capability the daemon needs for a privileged port",
	Severity: Error,
	Doc: `A daemon that runs as a non-root user may bind ports below
net.ipv4.ip_unprivileged_port_start through a file capability on its
program (setcap cap_net_bind_service+ep /usr/sbin/nginx). With
NoNewPrivileges=yes, execve() grants no file capabilities (the kernel's
no_new_privs), so bind() fails with EACCES:

    nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)

lbdoctor reads the security.capability attribute of the ExecStart=
program. (systemd implies NoNewPrivileges= from SystemCallFilter= and the
like only for user services; lbdoctor reads the explicit setting.)

Fix: grant the capability through the unit instead, which works with
NoNewPrivileges=: AmbientCapabilities=CAP_NET_BIND_SERVICE in a drop-in.`,
	Run: func(p *Pass) error {
		privilegedPortFindings(p, systemd.BlockNoNewPrivileges, func(s Service, l *parsers.Listener, start int) string {
			return fmt.Sprintf("%s runs as %s and gets CAP_NET_BIND_SERVICE only from the file capability of %s, which %s voids; port %d is below %s=%d",
				s.Unit.Name, s.Unit.User, s.Unit.ExecStart, setAt(s.Unit, "NoNewPrivileges"), l.Port, host.UnprivilegedPortMin, start)
		}, "AmbientCapabilities=CAP_NET_BIND_SERVICE")
		return nil
	},
}

// LBD311 finds listeners that the unit's SocketBindDeny= refuses.
var LBD311 = &Check{
	ID:       "LBD311",
	Name:     "socket-bind-deny",
	Title:    "The unit's SocketBindDeny= refuses the listen port",
	Severity: Error,
	Doc: `SocketBindAllow= and SocketBindDeny= (systemd.resource-control(5))
attach a cgroup BPF program to the service's bind() calls: a port that
matches a SocketBindAllow= rule binds; otherwise one that matches a
SocketBindDeny= rule is refused; otherwise it binds. The kernel's answer to
a refusing cgroup/bind4 or bind6 program is EPERM, before it looks at the
address or the port's privilege:

    nginx: [emerg] bind() to 0.0.0.0:80 failed (1: Operation not permitted)
    [ALERT] : Binding [haproxy.cfg:5] for frontend fe: cannot bind socket (Operation not permitted) for [0.0.0.0:80]

A rule is "any" or [ipv4|ipv6:][tcp|udp:][PORT|LOW-HIGH]; an empty
assignment clears the list.

IPAddressDeny= is not a bind failure: it filters packets (cgroup ingress
and egress BPF), so the daemon starts and binds, and clients time out.
lbdoctor does not report it.

Fix: add a SocketBindAllow= for the port in a drop-in
(SocketBindAllow=tcp:80), or remove the deny rule. Verified with the real
daemons in a cgroup with a cgroup/bind4 and bind6 program that refuses,
as systemd's does.`,
	Run: func(p *Pass) error {
		for _, s := range p.Services {
			if s.Config == nil || s.Unit == nil {
				continue
			}
			for i := range s.Config.Listeners {
				l := &s.Config.Listeners[i]
				if !opensIPSocket(l) || l.Port == 0 {
					continue
				}
				rule := s.Unit.SocketBindDenied(!l.Addr.Is4(), string(l.Proto), l.Port)
				if rule == "" {
					continue
				}
				short, full := DaemonError(l, "EPERM")
				allow := fmt.Sprintf("SocketBindAllow=%s:%d", l.Proto, l.Port)
				fix, persist := dropInFix(s.Unit.Name, "Service", "lbdoctor-socketbind.conf", allow)
				p.Report(Finding{
					Listener:    l,
					Message:     fmt.Sprintf("%s would fail: %s", l.Service, short),
					DaemonError: full,
					Why: fmt.Sprintf("%s refuses bind() of %s/%s through its cgroup BPF program: SocketBindDeny=%s matches and no SocketBindAllow= does (%s)",
						s.Unit.Name, l.Socket(), l.Proto, rule, setAt(s.Unit, "SocketBindDeny")),
					Fix:     fix,
					Persist: persist,
					Errno:   "EPERM",
				})
			}
		}
		return nil
	},
}

// LBD312 finds listeners whose socket family the unit's
// RestrictAddressFamilies= forbids.
var LBD312 = &Check{
	ID:       "LBD312",
	Name:     "restrict-address-families",
	Title:    "The unit's RestrictAddressFamilies= forbids the listen's socket family",
	Severity: Error,
	Doc: `RestrictAddressFamilies= installs a seccomp filter that makes socket()
fail with EAFNOSUPPORT for every family it does not allow, so an IPv6
listen under RestrictAddressFamilies=AF_UNIX AF_INET fails before bind():

    nginx: [emerg] socket() [::]:80 failed (97: Address family not supported by protocol)

The same holds for IPv4 without AF_INET and unix sockets without AF_UNIX.
A list starting with "~" names the families denied; "none" allows none;
an empty assignment lifts the restriction.

Fix: a drop-in with RestrictAddressFamilies=AF_INET6 (the family) adds it
to an allow list and takes it off a deny list; or remove the listen. Verified with
the real daemons under a seccomp filter that fails socket() of the family
with EAFNOSUPPORT, as systemd's does.`,
	Run: func(p *Pass) error {
		for _, s := range p.Services {
			if s.Config == nil || s.Unit == nil {
				continue
			}
			for i := range s.Config.Listeners {
				l := &s.Config.Listeners[i]
				if l.Via != "" || Unjudged(l) != "" || (l.Proto != parsers.Unix && !l.Addr.IsValid()) {
					continue
				}
				family := "AF_INET"
				switch {
				case l.Proto == parsers.Unix:
					family = "AF_UNIX"
				case !l.Addr.Is4():
					family = "AF_INET6"
				}
				if s.Unit.AddressFamilyAllowed(family) {
					continue
				}
				short, full := socketError(l)
				fix, persist := dropInFix(s.Unit.Name, "Service", "lbdoctor-families.conf", "RestrictAddressFamilies="+family)
				kind := "allow list"
				if s.Unit.AddressFamiliesDeny {
					kind = "deny list"
				}
				p.Report(Finding{
					Listener:    l,
					Message:     fmt.Sprintf("%s would fail: %s", l.Service, short),
					DaemonError: full,
					Why: fmt.Sprintf("%s's seccomp filter fails socket(%s): RestrictAddressFamilies= is the %s %s (%s)",
						s.Unit.Name, family, kind, strings.Join(s.Unit.RestrictAddressFamilies, " "), setAt(s.Unit, "RestrictAddressFamilies")),
					Fix:     fix,
					Persist: persist,
					Errno:   "EAFNOSUPPORT",
				})
			}
		}
		return nil
	},
}
