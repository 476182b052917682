package checks

// LBD005 reports what the parsers saw the daemon's own check complain
// about and accept: the daemon starts and runs, skipping or correcting the
// line as it says.
var LBD005 = &Check{
	ID:       "LBD005",
	Name:     "daemon-warning",
	Title:    "The daemon warns about a line but starts anyway",
	Severity: Warning,
	Doc: `A line the daemon's own check complains about, in the daemon's own words,
but accepts: the daemon starts and runs, and skips the line, or the word,
or corrects the value, as the message says. It is not a config error
(LBD001): nothing refuses to start. It is still worth a look, since what
the line asks for does not happen.

keepalived is the usual source. It reads every line it can and logs the
rest: "Unknown keyword 'net_namespae'", "Unknown configuration entry
'no-track' for ip address - ignoring", "(VI_1) Priority not valid! must be
between 1 & 255. Using default 100". keepalived
--config-test exits 5 for such a file, the code keepalived's own source
keeps for "configuration errors, but keepalived will still run" (4 is for
a file it cannot run: a missing interface, a fatal error), and the daemon
starts with the line left out. lbdoctor reports the same lines and still
judges the addresses the rest of the file gives.

Lines of an environment file that systemd ignores (HAProxy's
/etc/default/haproxy) are reported here too: the service starts without
the variable.

Fix: correct or remove the line named, then run the daemon's check again
until it prints nothing (keepalived -t -f FILE, haproxy -c -f FILE,
nginx -t).

Example (keepalived 2.2 knows only no_track):

    virtual_ipaddress {
        10.0.0.100/24 dev eth0 no-track   # Unknown configuration entry 'no-track' for ip address - ignoring
    }`,
	Run: func(p *Pass) error {
		for _, s := range p.Services {
			if s.Config == nil {
				continue
			}
			for _, w := range s.Config.DaemonWarnings {
				p.Report(Finding{
					Service: s.Name,
					Pos:     w.Pos,
					Message: w.Msg,
					Why:     s.Name + " accepts this configuration and starts, skipping or correcting this line as the message says",
				})
			}
		}
		return nil
	},
}
