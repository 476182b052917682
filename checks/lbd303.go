package checks

import (
	"fmt"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/selinux"
)

// LBD303 finds listeners SELinux denies: the daemon's domain may not
// name_bind the port's type, and SELinux is enforcing.
var LBD303 = &Check{
	ID:       "LBD303",
	Name:     "selinux-port",
	Title:    "SELinux denies the daemon's domain this port",
	Severity: Error,
	Doc: `SELinux is enforcing, and the daemon's domain may not bind the port: every
TCP and UDP port has a type (http_port_t for 80 and 443, unreserved_port_t
for most ports from 1024 on), and the policy lets each domain name_bind
only some types. nginx runs in httpd_t (its executable is labelled
httpd_exec_t), HAProxy on RHEL in haproxy_t. bind() fails with EACCES even
as root, and the daemon does not start:

    nginx: [emerg] bind() to 0.0.0.0:8888 failed (13: Permission denied)
    [ALERT] : Binding [/etc/haproxy/haproxy.cfg:8] for frontend web: cannot bind socket (Permission denied) for [0.0.0.0:8888]

lbdoctor reads the installed policy, without any SELinux tool: the module
store (/var/lib/selinux/POLICY/active/modules/*/*/cil, compressed CIL, with
ports.local and booleans.local), the label of the executable
(security.selinux, or the policy's file_contexts), the domain systemd
(init_t) enters executing it, the port's type as the kernel looks it up
(the most specific range; local changes first), and the booleans now
(/sys/fs/selinux/booleans). UDP listeners (QUIC) are judged as udp_socket.
As the kernel does, lbdoctor asks only for ports below
net.ipv4.ip_unprivileged_port_start or outside net.ipv4.ip_local_port_range:
SELinux does not check name_bind on ephemeral ports.

Fix: give the port a type the domain may bind (-m when the port already
has a type of its own):

    semanage port -a -t http_port_t -p tcp 8888

or, where a boolean widens the domain, turn it on for good:

    setsebool -P haproxy_connect_any 1`,
	Run: func(p *Pass) error {
		p.eachListener(func(p *Pass, l *parsers.Listener) {
			v, ok := seJudge(p, l)
			if !ok || v.now || v.f.Mode != selinux.Enforcing || v.d.Permissive {
				return
			}
			short, full := DaemonError(l, "EACCES")
			p.Report(Finding{
				Listener:    l,
				Message:     fmt.Sprintf("%s would fail: %s", l.Service, short),
				DaemonError: full,
				Why:         "SELinux is enforcing and " + v.why(),
				Fix:         v.fix(false),
				Errno:       "EACCES",
			})
		})
		return nil
	},
}
