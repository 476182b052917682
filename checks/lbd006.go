package checks

// LBD006 reports where lbdoctor stopped reading a configuration at one of
// its own limits.
var LBD006 = &Check{
	ID:       "LBD006",
	Name:     "not-fully-read",
	Title:    "lbdoctor stopped reading part of a configuration",
	Severity: Warning,
	Doc: `lbdoctor has limits the daemon does not have, so that a hostile or broken
file cannot hang it or fill its memory: keepalived configurations that
expand to more than 262144 lines (~SEQ loops), definitions nested more
than 32 deep, includes nested more than 32 deep; nginx configurations
with more than 100000 file inclusions; HAProxy configurations with more
than 262144 listeners. Past such a place lbdoctor judges nothing, so a
clean report says nothing about the rest of the file.

The daemon itself may read the file in full and start: this is not a
config error (LBD001).

Fix: none needed for the daemon. To have lbdoctor judge the rest, split
the configuration, or check the part that matters on its own.`,
	Run: func(p *Pass) error {
		for _, s := range p.Services {
			if s.Config == nil {
				continue
			}
			for _, w := range s.Config.Unread {
				p.Report(Finding{
					Service: s.Name,
					Pos:     w.Pos,
					Message: w.Msg,
					Why:     "lbdoctor judges nothing past this place; " + s.Name + " may read the rest and start",
				})
			}
		}
		return nil
	},
}
