package checks

// LBD001 turns every config error the parsers met into a finding, so readers
// of the output only ever see findings.
var LBD001 = &Check{
	ID:       "LBD001",
	Name:     "config-error",
	Title:    "Configuration does not parse",
	Severity: Error,
	Doc: `A configuration file could not be read the way the daemon reads it: a
syntax error, a directive with an invalid argument, a missing include, an
include cycle, an address that does not parse, or a keyword HAProxy does not
know in that section (HAProxy 2.6's keywords, with those of later versions
unless --haproxy-version says 2.6).

The daemon refuses to start on such a file (or, for keepalived, skips the
broken line), so lbdoctor reports it as an error at its file and line and
judges the listeners it could still read.

Fix: correct the line named, then run the daemon's own check
(nginx -t, haproxy -c -f FILE, keepalived --config-test) and lbdoctor again.

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
