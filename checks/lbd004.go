package checks

// LBD004 reports what the parsers saw the daemon accept but ignore in a
// way that changes what it listens on.
var LBD004 = &Check{
	ID:       "LBD004",
	Name:     "config-ignored",
	Title:    "The daemon accepts a line but ignores what it says about sockets",
	Severity: Warning,
	Doc: `A line the daemon's own check accepts (perhaps with a warning in its log)
but ignores, so the service starts without a socket the line seems to ask
for. The classic case is HAProxy 1.x's address on the section line:

    listen web 10.0.0.5:80

HAProxy 2.x prints "please use the 'bind' keyword for listening addresses"
and makes no proxy of the section. With nothing else in it, it says
"Configuration file is valid" and starts, the proxy listening nowhere; any
keyword line in the section is then fatal ("'listen' or 'defaults'
expected.", reported as LBD001).

Fix: move the address to a bind line:

    listen web
        bind 10.0.0.5:80`,
	Run: func(p *Pass) error {
		for _, s := range p.Services {
			if s.Config == nil {
				continue
			}
			for _, w := range s.Config.Warnings {
				p.Report(Finding{
					Service: s.Name,
					Pos:     w.Pos,
					Message: w.Msg,
					Why:     s.Name + " starts, but without the socket this line seems to ask for",
				})
			}
		}
		return nil
	},
}
