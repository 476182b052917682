package checks

import (
	"fmt"
)

// LBD425 finds nginx unix socket listeners whose path holds a socket file
// nobody listens on: left behind by a crash, it makes nginx fail.
var LBD425 = &Check{
	ID:       "LBD425",
	Name:     "stale-unix-socket",
	Title:    "A stale socket file sits at nginx's unix socket path",
	Severity: Error,
	Doc: `nginx listens on a unix socket ("listen unix:/run/app/x.sock"), and a socket
file already exists at that path with nobody listening on it (not in
/proc/net/unix as listening): what a crashed or killed nginx, or another
program, leaves behind. nginx removes its socket files only on a clean
stop; at the next start bind() finds the file and fails with 98, five times
over, and nginx does not start:

    nginx: [emerg] bind() to unix:/run/app/x.sock failed (98: Address already in use)
    nginx: [emerg] still could not bind()

HAProxy is not affected: it binds PATH.PID.tmp and renames it over the old
file, so it starts (lbdoctor checked both against such a file).

A socket file under /run disappears at reboot (tmpfs); one elsewhere, as
under /var/lib or /tmp with a private tmp, survives it.

Fix: remove the stale file, and let systemd remove it before every start:

    rm /run/app/x.sock
    mkdir -p /etc/systemd/system/nginx.service.d
    printf '[Service]\nExecStartPre=-/bin/rm -f /run/app/x.sock\n' > /etc/systemd/system/nginx.service.d/lbdoctor-stale-socket.conf`,
	Run: func(p *Pass) error {
		for _, l := range p.Listeners() {
			if l.Service != "nginx" || l.Proto != "unix" || l.Path == "" || Unjudged(l) != "" {
				continue
			}
			u, known := p.Host.UnixPath(l.Path)
			if !known || !u.Socket || u.Listening {
				continue
			}
			short, full := DaemonError(l, "EADDRINUSE")
			dropIn := "/etc/systemd/system/nginx.service.d/lbdoctor-stale-socket.conf"
			p.Report(Finding{
				Listener:    l,
				Message:     fmt.Sprintf("nginx would fail: %s", short),
				DaemonError: full,
				Why:         fmt.Sprintf("%s is a socket file nobody listens on (left by a crash?), and nginx does not remove it before bind()", l.Path),
				Fix: []string{
					"rm " + l.Path,
					"mkdir -p /etc/systemd/system/nginx.service.d",
					fmt.Sprintf(`printf '[Service]\nExecStartPre=-/bin/rm -f %s\n' > %s`, l.Path, dropIn),
				},
				Errno: "EADDRINUSE",
			})
		}
		return nil
	},
}
