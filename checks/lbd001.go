package checks

// LBD001 turns every config error the parsers met into a finding, so readers
// of the output only ever see findings.
var LBD001 = &Check{
	ID:       "LBD001",
	Name:     "config-error",
	Title:    "Configuration does not parse",
	Severity: Error,
	Doc: `A configuration file the daemon's own check refuses (nginx -t,
haproxy -c -f FILE, keepalived -t -f FILE), so the daemon does not start:
a syntax error, a directive with an invalid argument, a missing include,
an include cycle, an address that does not parse, or a keyword HAProxy
does not know in that section (HAProxy 2.6's keywords, with those of later
versions unless --haproxy-version says 2.6). For keepalived, which reads
past almost anything, only what stops the daemon: a virtual_server or
virtual_server_group line without its address or name, a virtual_router_id
out of range (keepalived -t exits 5 there, but the daemon stops: "the
virtual router id must be set"), and a file a checked include ("includem",
"includer", ...) cannot find or read.

lbdoctor reports it as an error at its file and line and judges the
listeners it could still read. What the daemon complains about but
accepts is not here: it is LBD005 (a warning in the daemon's own words),
or LBD004 when it changes the sockets.

Fix: correct the line named, then run the daemon's own check
(nginx -t, haproxy -c -f FILE, keepalived -t -f FILE) and lbdoctor again.

Example:

    server {
        listen 10.0.0.100:80 bogus_option;   # invalid parameter "bogus_option"
    }`,
	Run: func(p *Pass) error {
		for _, s := range p.Services {
			if s.Config == nil {
				continue
			}
			why := s.Name + " would refuse this configuration"
			if s.Declared {
				why = "lbdoctor cannot read this entry of the declared service " + s.Name + ", so it judges no socket for it"
			}
			for _, e := range s.Config.Errors {
				p.Report(Finding{
					Service: s.Name,
					Pos:     e.Pos,
					Message: e.Msg,
					Why:     why,
				})
			}
		}
		return nil
	},
}
