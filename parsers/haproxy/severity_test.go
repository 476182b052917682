package haproxy

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// severityRows are one configuration per kind of problem the parser
// reports beyond unknown keywords (keywordRows has those), and lines
// HAProxy only warns about. Whether HAProxy refuses each is not written
// here: the test asks haproxy -c. warns is a piece of what HAProxy prints
// for a row it accepts with a complaint.
var severityRows = []struct {
	name, cfg, warns string
	// gap marks a row HAProxy refuses where lbdoctor reports nothing, a
	// known false negative (the row fails once lbdoctor reports it, so
	// that the mark goes).
	gap string
}{
	{"missing LF on the last line", "global\n  maxconn 10", "", ""},
	{"negation of a keyword that takes none", "global\n  no maxconn\n", "", ""},
	{"bind in defaults", "defaults\n  bind :80\n", "", ""},
	{"peer and bind in one peers section", "peers p\n  peer a 127.0.0.1:10000\n  bind 127.0.0.1:10001\n", "", ""},
	{"two binds in one peers section", "peers p\n  bind 127.0.0.1:10001\n  bind 127.0.0.1:10002\n  server a\n", "", ""},
	{"non-terminated .if", ".if defined(X)\nglobal\n", "", ""},
	{"lone .endif", ".endif\n", "", ""},
	{".elif after .else", ".if defined(X)\n.else\n.elif defined(Y)\n.endif\n", "", ""},
	{"unknown . directive", ".foo\n", "", ""},
	{".alert", ".alert \"stop here\"\n", "", ""},
	{"stats socket without an address", "global\n  stats socket\n", "", ""},
	{"unmatched quote", "global\n  maxconn \"10\n", "", ""},
	{"keyword out of any section", "maxconn 10\n", "", ""},
	{"bind with a bad address", "frontend fe\n  mode tcp\n  bind 10.0.0.300:80\n", "",
		"10.0.0.300 is a host name to lbdoctor, which does not say a name is unknown (DNS may answer on the day HAProxy starts)"},
	{"bind with a bad port", "frontend fe\n  mode tcp\n  bind 127.0.0.1:99999\n", "", ""},
	{"bind without an address", "frontend fe\n  mode tcp\n  bind\n", "", ""},
	{"address on the listen line, and keywords in the section", "listen web 127.0.0.1:8081\n  mode tcp\n  bind 127.0.0.1:8085\n", "", ""},
	// HAProxy complains and starts: never a config error.
	{"address on the listen line alone (LBD004)", "listen web 127.0.0.1:8081\n\nbackend b\n  mode tcp\n",
		"please use the 'bind' keyword for listening addresses", ""},
	{".warning", ".warning \"just saying\"\n", "just saying", ""},
	{"proxy without timeouts", "frontend fe2\n  mode tcp\n  bind 127.0.0.1:8082\n  default_backend be2\nbackend be2\n  mode tcp\n  server s 127.0.0.1:1\n",
		"missing timeouts", ""},
	{"bind in a backend", "backend be3\n  bind 127.0.0.1:8083\n", "ignored", ""},
}

// TestSeverityMatchesHAProxy holds lbdoctor's verdict on each row to
// haproxy -c's: a config error (LBD001) exactly where haproxy -c fails.
// haproxy -c opens no socket, so it needs neither root nor a namespace.
func TestSeverityMatchesHAProxy(t *testing.T) {
	bin := haproxy26(t)
	for _, r := range severityRows {
		t.Run(r.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "haproxy.cfg")
			// haproxy -c fails for a config with nothing to listen on:
			// a second file gives it a listener.
			l := filepath.Join(dir, "listener.cfg")
			writeFile(t, p, r.cfg)
			writeFile(t, l, "listen lbd-probe\n  mode tcp\n  bind 127.0.0.1:1\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n")
			cfg, err := Parse([]string{p, l}, rowOptions(""))
			if err != nil {
				t.Fatal(err)
			}
			out, runErr := exec.Command(bin, "-c", "-f", p, "-f", l).CombinedOutput()
			refused := runErr != nil
			t.Logf("haproxy -c refuses: %v; lbdoctor: %d errors, %d warnings", refused, len(cfg.Errors), len(cfg.Warnings)+len(cfg.DaemonWarnings))
			if r.gap != "" {
				if !refused || len(cfg.Errors) > 0 {
					t.Errorf("known gap %q no longer holds: haproxy -c refuses=%v, lbdoctor's errors %v (remove the mark)\n%s", r.gap, refused, cfg.Errors, out)
				}
				t.Logf("known gap: haproxy -c refuses, lbdoctor says nothing: %s", r.gap)
				return
			}
			if refused != (len(cfg.Errors) > 0) {
				t.Errorf("haproxy -c refuses=%v, lbdoctor's config errors: %v\n%s", refused, cfg.Errors, out)
			}
			if r.warns != "" && (refused || !strings.Contains(string(out), r.warns)) {
				t.Errorf("haproxy -c should accept this row with a complaint holding %q:\n%s", r.warns, out)
			}
		})
	}
}
