package checks

import (
	"fmt"
	"path/filepath"
)

// LBD301 finds unix sockets whose directory does not exist.
var LBD301 = &Check{
	ID:       "LBD301",
	Name:     "unix-socket-dir",
	Title:    "Unix socket directory does not exist",
	Severity: Error,
	Doc: `A service listens on a unix socket (nginx "listen unix:/run/app/x.sock",
HAProxy "bind /run/haproxy/x.sock" or "stats socket"), and the directory the
socket would be created in does not exist. bind() fails with ENOENT (2: No
such file or directory) and the service does not start:

    nginx: [emerg] bind() to unix:/run/app/x.sock failed (2: No such file or directory)
    [ALERT] : ... cannot bind UNIX socket (No such file or directory) [/run/haproxy/admin.sock]

Directories under /run are emptied at every boot, so they exist only when
something creates them: a tmpfiles.d line (Debian's haproxy package ships
"d /run/haproxy 2775 haproxy haproxy -"), or RuntimeDirectory= in the
service's unit. When a tmpfiles.d line creates the directory at boot,
lbdoctor names it: the service starts after a reboot but not now.

Fix: create the directory now, and make it persistent with tmpfiles.d:

    mkdir -p /run/app
    echo 'd /run/app 0755 root root -' > /etc/tmpfiles.d/app.conf

lbdoctor judges only directories it could see: the live host, or a
snapshot that recorded them.`,
	Run: func(p *Pass) error {
		for _, l := range p.Listeners() {
			// systemd creates a socket unit's directories itself
			// (mkdir_parents_label with DirectoryMode=).
			if l.Proto != "unix" || l.Path == "" || bindsAtBoot(l) {
				continue
			}
			dir := filepath.Dir(l.Path)
			d, known := p.Host.Dir(dir)
			if !known || d.Exists {
				continue
			}
			short, full := DaemonError(l, "ENOENT")
			f := Finding{
				Listener:    l,
				Message:     fmt.Sprintf("%s would fail: %s", l.Service, short),
				DaemonError: full,
				Why:         fmt.Sprintf("the directory %s does not exist", dir),
				Fix:         []string{"mkdir -p " + dir, fmt.Sprintf("echo 'd %s 0755 root root -' > /etc/tmpfiles.d/lbdoctor-%s.conf", dir, filepath.Base(dir))},
				Errno:       "ENOENT",
			}
			if at, ok := p.BootDirs[dir]; ok {
				f.Why += fmt.Sprintf(" now; %s creates it at boot, so the service starts after a reboot but not before", at)
				f.Fix = []string{"systemd-tmpfiles --create " + at.File}
			}
			p.Report(f)
		}
		return nil
	},
}
