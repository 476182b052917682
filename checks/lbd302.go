package checks

import (
	"fmt"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/systemd"
)

// LBD302 finds ports below net.ipv4.ip_unprivileged_port_start that a
// daemon running as a non-root user may not bind.
var LBD302 = &Check{
	ID:       "LBD302",
	Name:     "privileged-port",
	Title:    "Privileged port for a service that runs without root or CAP_NET_BIND_SERVICE",
	Severity: Error,
	Doc: `Ports below net.ipv4.ip_unprivileged_port_start (1024 unless changed; it
governs IPv6 too) can be bound only by root or with the capability
CAP_NET_BIND_SERVICE. nginx and HAProxy bind as root and drop privileges
afterwards, but when their systemd unit sets User= to another user and
grants no capability, bind() fails with EACCES:

    nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)

lbdoctor reads the unit as systemd loads it: the unit file and its drop-ins
(/etc/systemd/system/NAME.service.d/*.conf and the others), User=,
DynamicUser=, AmbientCapabilities= and CapabilityBoundingSet=, and the file
capabilities of the ExecStart= program (setcap cap_net_bind_service+ep),
which count unless NoNewPrivileges= is set (LBD313). PrivateUsers= takes
the capability away even from root (LBD310).

Fix: grant the capability in a drop-in, then reload systemd:

    mkdir -p /etc/systemd/system/nginx.service.d
    printf '[Service]\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n' > /etc/systemd/system/nginx.service.d/lbdoctor-bind.conf
    systemctl daemon-reload

or let every user bind from the port on (net.ipv4.ip_unprivileged_port_start=80).`,
	Run: func(p *Pass) error {
		start := unprivilegedPortStart(p.Host)
		for _, s := range p.Services {
			if s.Config == nil || s.Unit == nil || s.Unit.PrivilegedPortBlock() != systemd.BlockCapability {
				continue
			}
			user := s.Unit.User
			if s.Unit.DynamicUser {
				user = "a dynamic user"
			}
			for i := range s.Config.Listeners {
				l := &s.Config.Listeners[i]
				if !opensIPSocket(l) || l.Port == 0 || l.Port >= start {
					continue
				}
				short, full := DaemonError(l, "EACCES")
				fix, persist := dropInFix(s.Unit.Name, "Service", "lbdoctor-bind.conf", "AmbientCapabilities=CAP_NET_BIND_SERVICE")
				f := Finding{
					Listener:    l,
					Message:     fmt.Sprintf("%s would fail: %s", l.Service, short),
					DaemonError: full,
					Why: fmt.Sprintf("%s runs as %s (%s) without CAP_NET_BIND_SERVICE, and port %d is below %s=%d",
						s.Unit.Name, user, strings.Join(s.Unit.Files, ", "), l.Port, host.UnprivilegedPortMin, start),
					Fix:     fix,
					Persist: persist,
					Errno:   "EACCES",
				}
				if _, set := s.Unit.Pos["User"]; !set && !s.Unit.DynamicUser {
					// No User= line: the unit's program drops to the user
					// itself (Debian's pg_ctlcluster), and setuid() clears
					// every capability a drop-in could grant.
					f.Why = fmt.Sprintf("%s starts %s as %s (its program drops to that user, which clears capabilities), and port %d is below %s=%d",
						s.Unit.Name, l.Service, user, l.Port, host.UnprivilegedPortMin, start)
					f.Fix = []string{fmt.Sprintf("move %s to port %d or above", l.Pos, start), fmt.Sprintf("sysctl -w %s=%d", host.UnprivilegedPortMin, l.Port)}
					f.Persist = nil
				}
				p.Report(f)
			}
		}
		return nil
	},
}

// dropIn is a systemd drop-in file, line by line, for "lbdoctor fix
// --write".
func dropIn(path string, lines ...string) []FileLine {
	out := make([]FileLine, len(lines))
	for i, l := range lines {
		out[i] = FileLine{Path: path, Line: l}
	}
	return out
}

// dropInFix are the commands that write the drop-in name of unit, with
// lines in [section], and reload systemd; persist is the same file for
// "lbdoctor fix --write".
func dropInFix(unit, section, name string, lines ...string) (fix []string, persist []FileLine) {
	dir := "/etc/systemd/system/" + unit + ".d"
	persist = dropIn(dir+"/"+name, append([]string{"[" + section + "]"}, lines...)...)
	return []string{"mkdir -p " + dir, printfTo(persist, dir+"/"+name), "systemctl daemon-reload"}, persist
}
