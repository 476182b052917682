package haproxy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// keywordRows are configurations with the first error HAProxy 2.6 reports
// for them (line and message), or none. daemon is false for the rows
// haproxy -c cannot judge like the parser does (another version, ...).
var keywordRows = []struct {
	name    string
	cfg     string
	version string // Options.Version; "" is 2.6.12
	line    int
	msg     string
	count   int // number of errors, when more than one
	daemon  bool
}{
	{name: "brace in frontend", cfg: "frontend fe\n  mode tcp\n  bind 127.0.0.1:80\n  {\n",
		line: 4, msg: "unknown keyword '{' in 'frontend' section", daemon: true},
	{name: "global", cfg: "global\n  frobnicate 1\n", line: 2, msg: "unknown keyword 'frobnicate' in 'global' section", daemon: true},
	{name: "global suggestion", cfg: "global\n  maxcon 100\n", line: 2, msg: "unknown keyword 'maxcon' in 'global' section; did you mean 'maxconn' maybe ?", daemon: true},
	{name: "defaults", cfg: "defaults\n  timeot connect 5s\n", line: 2, msg: "unknown keyword 'timeot' in 'defaults' section; did you mean 'timeout' maybe ?", daemon: true},
	{name: "backend", cfg: "backend be\n  severs s1 127.0.0.1:80\n", line: 2, msg: "unknown keyword 'severs' in 'backend' section; did you mean 'server' maybe ?", daemon: true},
	{name: "listen", cfg: "listen li\n  bind 127.0.0.1:8080\n  frobnicate\n", line: 3, msg: "unknown keyword 'frobnicate' in 'listen' section", daemon: true},
	{name: "peers", cfg: "peers p\n  frobnicate\n", line: 2, msg: "unknown keyword 'frobnicate' in 'peers' section", daemon: true},
	{name: "resolvers", cfg: "resolvers r\n  nameserver dns1 127.0.0.1:53\n  frobnicate\n", line: 3, msg: "unknown keyword 'frobnicate' in 'resolvers' section", daemon: true},
	{name: "userlist", cfg: "userlist u\n  frobnicate\n", line: 2, msg: "unknown keyword 'frobnicate' in 'users' section", daemon: true},
	{name: "mailers", cfg: "mailers m\n  frobnicate\n", line: 2, msg: "unknown keyword 'frobnicate' in 'mailers' section", daemon: true},
	{name: "program", cfg: "program pg\n  frobnicate\n", line: 2, msg: "unknown keyword 'frobnicate' in 'program' section", daemon: true},
	{name: "cache", cfg: "cache c\n  total-max-size 4\n  frobnicate\n", line: 3, msg: "unknown keyword 'frobnicate' in 'cache' section", daemon: true},
	{name: "ring", cfg: "ring rg\n  frobnicate\n", line: 2, msg: "unknown statement 'frobnicate'.", daemon: true},
	{name: "http-errors", cfg: "http-errors he\n  frobnicate\n", line: 2, msg: "unknown keyword 'frobnicate' in 'http-errors' section", daemon: true},
	{name: "fcgi-app", cfg: "fcgi-app fa\n  docroot /var/www\n  frobnicate\n", line: 3, msg: "unknown keyword 'frobnicate' in 'fcgi-app' section", daemon: true},
	{name: "log-forward stops everything", cfg: "log-forward lf\n  frobnicate\n  bind 127.0.0.1:514\n  frob2\n", line: 2, msg: "unknown keyword 'frobnicate' in log-forward section.", daemon: true},
	{name: "no with another keyword", cfg: "global\n  no frob\n", line: 2, msg: "negation/default currently supported only for options, log, busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.", count: 2, daemon: true},
	{name: "option after no and default", cfg: "defaults\n  no option httpclose\n  default option redispatch\n  no log\n", daemon: true},
	{name: "fifty fatal errors stop the file", cfg: "frontend fe\n  bind 127.0.0.1:80\n" + strings.Repeat("  {\n", 60),
		line: 3, msg: "unknown keyword '{' in 'frontend' section", count: 51, daemon: true},
	{name: "namespace_list ignores unknown words", cfg: "namespace_list\n  frobnicate\n", daemon: true},

	// Accepted keywords, and keywords in the wrong section that HAProxy
	// only warns about.
	{name: "usual proxy keywords", cfg: "defaults\n  mode http\n  option httplog\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n" +
		"frontend fe\n  bind 127.0.0.1:80\n  http-request set-header X-A b\n  default_backend be\n  acl a path /\n  use_backend be if a\n" +
		"backend be\n  balance roundrobin\n  server s1 127.0.0.1:8080 check\n  http-check expect status 200\n", daemon: true},
	{name: "bind in backend warns", cfg: "backend be\n  bind 127.0.0.1:81\n", daemon: true},
	{name: "server in frontend", cfg: "frontend fe\n  bind 127.0.0.1:80\n  server s1 127.0.0.1:8080\n", line: 3, msg: "'server' not allowed because frontend 'fe' has no backend capability.", daemon: true},
	{name: "default-server in frontend", cfg: "frontend fe\n  bind 127.0.0.1:80\n  default-server check\n", line: 3, msg: "'default-server' not allowed because frontend 'fe' has no backend capability.", daemon: true},
	{name: "backend keywords in frontend warn", cfg: "frontend fe\n  bind 127.0.0.1:80\n  balance roundrobin\n  cookie X insert\n  http-check expect status 200\n", daemon: true},
	{name: "server in listen", cfg: "listen li\n  bind 127.0.0.1:80\n  server s1 127.0.0.1:8080\n", daemon: true},
	{name: "default_backend in backend warns", cfg: "backend be\n  default_backend lbd-probe\n", daemon: true},
	{name: "global keywords", cfg: "global\n  daemon\n  maxconn 100\n  nbthread 2\n  tune.bufsize 16384\n  ssl-default-bind-options no-sslv3\n  lua-prepend-path /tmp/?.lua\n  stats timeout 30s\n", daemon: true},
	{name: "optional build keywords are accepted", cfg: "global\n  51degrees-cache-size 10\n  wurfl-cache-size 10\n  deviceatlas-log-level 1\n  tune.quic.frontend.max-idle-timeout 1s\n  tune.zlib.memlevel 8\n"},
	{name: "ring keywords", cfg: "ring rg\n  size 32764\n  format rfc3164\n  maxlen 1200\n", daemon: true},
	{name: "peers keywords", cfg: "peers p\n  peer a 127.0.0.1:10000\n  table t type ip size 1k\n", daemon: true},
	{name: "conditional lines are judged when taken", cfg: ".if version_atleast(2.5)\nfrontend fe\n  frobnicate\n.endif\n", line: 3, msg: "unknown keyword 'frobnicate' in 'frontend' section", daemon: true},
	{name: "untaken branches are not read", cfg: ".if version_atleast(9.0)\nfrontend fe\n  frobnicate\n.endif\n", daemon: true},

	// Versions.
	{name: "later keyword with 2.6", cfg: "global\n  prealloc-fd\n", line: 2, msg: "unknown keyword 'prealloc-fd' in 'global' section", daemon: true},
	{name: "later keyword with a later version", cfg: "global\n  prealloc-fd\n", version: "3.0.5"},
	{name: "later keyword with no version", cfg: "global\n  prealloc-fd\n", version: "none"},
	{name: "unknown keyword with no version", cfg: "frontend fe\n  {\n", version: "none", line: 2, msg: "unknown keyword '{' in 'frontend' section"},
	{name: "older version is not judged", cfg: "frontend fe\n  {\n", version: "2.4.22"},
	{name: "modifier only judged in 2.6", cfg: "global\n  no frob\n", version: "none", line: 2, msg: "unknown keyword 'frob' in 'global' section"},
}

func rowOptions(version string) Options {
	switch version {
	case "":
		return Options{Version: "2.6.12-1+deb12u4"}
	case "none":
		return Options{}
	}
	return Options{Version: version}
}

func TestUnknownKeywords(t *testing.T) {
	for _, r := range keywordRows {
		t.Run(r.name, func(t *testing.T) {
			cfg := parseString(t, r.cfg, rowOptions(r.version))
			want := 0
			if r.msg != "" {
				want = max(r.count, 1)
			}
			if len(cfg.Errors) != want {
				t.Fatalf("%d errors, want %d: %v", len(cfg.Errors), want, cfg.Errors)
			}
			if want == 0 {
				return
			}
			if e := cfg.Errors[0]; e.Pos.Line != r.line || e.Msg != r.msg {
				t.Errorf("first error %d: %q, want %d: %q", e.Pos.Line, e.Msg, r.line, r.msg)
			}
		})
	}
}

// TestFatalLimit checks HAProxy's stop after 50 fatal errors, at the next
// line it reads.
func TestFatalLimit(t *testing.T) {
	cfg := parseString(t, "frontend fe\n  bind 127.0.0.1:80\n"+strings.Repeat("  {\n", 10000), Options{})
	if len(cfg.Errors) != maxFatal+1 {
		t.Fatalf("%d errors, want %d", len(cfg.Errors), maxFatal+1)
	}
	last := cfg.Errors[maxFatal]
	if last.Pos.Line != maxFatal+3 || last.Msg != "too many fatal errors (50), stopping now." {
		t.Errorf("last error %v", last)
	}
	if len(cfg.Listeners) != 1 {
		t.Errorf("listeners %v", cfg.Listeners)
	}
}

// TestLogForwardAbort checks that an unknown keyword of a log-forward
// section stops HAProxy before the next file.
func TestLogForwardAbort(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.cfg"), filepath.Join(dir, "b.cfg")
	writeFile(t, a, "log-forward lf\n  frob\n")
	writeFile(t, b, "frontend fe\n  frob2\n  bind 127.0.0.1:80\n")
	cfg, err := Parse([]string{a, b}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Errors) != 1 || len(cfg.Listeners) != 0 || len(cfg.Files) != 1 {
		t.Errorf("errors %v, listeners %v, files %v", cfg.Errors, cfg.Listeners, cfg.Files)
	}
}

func TestBestMatch(t *testing.T) {
	for _, c := range []struct{ word, want string }{
		{"bindd", "bind"},
		{"maxcon", "maxconn"},
		{"{", ""},
		{"frobnicate", ""},
	} {
		if got := bestMatch(c.word, registeredProxy, commonProxy); got != c.want {
			t.Errorf("bestMatch(%q) = %q, want %q", c.word, got, c.want)
		}
	}
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func parseString(t testing.TB, text string, opts Options) *parsers.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "haproxy.cfg")
	writeFile(t, p, text)
	cfg, err := Parse([]string{p}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestUnknownKeywordsDaemon runs haproxy -c on the rows: it must fail
// exactly when the parser reports an error, and say what the parser says.
func TestUnknownKeywordsDaemon(t *testing.T) {
	bin := haproxy26(t)
	for _, r := range keywordRows {
		if !r.daemon {
			continue
		}
		t.Run(r.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "haproxy.cfg")
			// haproxy -c fails for a config with nothing to listen on:
			// a second file gives it a listener.
			l := filepath.Join(dir, "listener.cfg")
			writeFile(t, p, r.cfg)
			writeFile(t, l, "listen lbd-probe\n  mode tcp\n  bind 127.0.0.1:1\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n")
			cfg, err := Parse([]string{p, l}, rowOptions(r.version))
			if err != nil {
				t.Fatal(err)
			}
			out, runErr := exec.Command(bin, "-c", "-f", p, "-f", l).CombinedOutput()
			if (runErr == nil) != (len(cfg.Errors) == 0) {
				t.Fatalf("haproxy -c accepted=%v, we found %v\n%s", runErr == nil, cfg.Errors, out)
			}
			alerts := regexp.MustCompile(`\[ALERT\].*?parsing \[`+regexp.QuoteMeta(p)+`:(\d+)\] ?: (.*)`).FindAllStringSubmatch(string(out), -1)
			if len(alerts) != len(cfg.Errors) {
				t.Errorf("haproxy -c gave %d alerts at lines, we %d: %v\n%s", len(alerts), len(cfg.Errors), cfg.Errors, out)
			}
			for i := 0; i < len(alerts) && i < len(cfg.Errors); i++ {
				if got := fmt.Sprintf("%d: %s", cfg.Errors[i].Pos.Line, cfg.Errors[i].Msg); got != alerts[i][1]+": "+alerts[i][2] {
					t.Errorf("we say %q, haproxy %q", got, alerts[i][1]+": "+alerts[i][2])
				}
			}
		})
	}
}

// haproxy26 is the installed haproxy when it is a 2.6, which the table is
// made for; otherwise the test is skipped.
func haproxy26(t *testing.T) string {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed: cannot check the keyword table against haproxy -c")
	}
	out, err := exec.Command(bin, "-v").Output()
	if err != nil {
		t.Fatalf("haproxy -v: %v", err)
	}
	if v := ParseVersionOutput(string(out)); !strings.HasPrefix(v, "2.6.") {
		t.Skipf("the keyword table is HAProxy 2.6's, the installed haproxy is %q", v)
	}
	return bin
}

// TestKeywordTable feeds haproxy -c every keyword the table accepts in a
// section of 2.6, a few per file: none may be unknown to it.
func TestKeywordTable(t *testing.T) {
	bin := haproxy26(t)
	sections := map[kwBits]string{
		kwGlobal: "global", kwProxy: "frontend fe", kwPeers: "peers p", kwResolvers: "resolvers r",
		kwUserlist: "userlist u", kwMailers: "mailers m", kwProgram: "program pg", kwCache: "cache c",
		kwRing: "ring rg", kwHTTPErrors: "http-errors he", kwFCGIApp: "fcgi-app fa", kwLogForward: "log-forward lf",
	}
	unknown := regexp.MustCompile(`:(\d+)\] ?: unknown (?:keyword|statement) '([^']*)'`)
	dir := t.TempDir()
	p := filepath.Join(dir, "k.cfg")
	// run feeds the words to haproxy -c with a last line that must be
	// unknown: it returns the words it does not know, and whether it read
	// them all (HAProxy stops at some errors, and after 50 of them).
	run := func(header string, words []string) (unknownWords []string, all bool) {
		writeFile(t, p, header+"\n  "+strings.Join(words, "\n  ")+"\n  zz-not-a-keyword\n")
		out, _ := exec.Command(bin, "-c", "-f", p).CombinedOutput()
		for _, m := range unknown.FindAllStringSubmatch(string(out), -1) {
			var line int
			fmt.Sscan(m[1], &line)
			switch {
			case line == len(words)+2:
				all = true
			case line >= 2 && line <= len(words)+1 && m[2] == words[line-2]:
				unknownWords = append(unknownWords, m[2])
			}
		}
		return unknownWords, all
	}
	for bit, header := range sections {
		var words []string
		for kw, bits := range keywords {
			// "quiet" silences haproxy -c.
			if bits&bit != 0 && kw != "quiet" {
				words = append(words, kw)
			}
		}
		sort.Strings(words)
		if len(words) == 0 {
			t.Errorf("%s: no keywords", header)
		}
		for len(words) > 0 {
			n := min(len(words), 40)
			batch := words[:n]
			words = words[n:]
			bad, all := run(header, batch)
			if !all {
				// Something stopped HAProxy: one word at a time.
				bad = nil
				for _, w := range batch {
					b, _ := run(header, []string{w})
					bad = append(bad, b...)
				}
			}
			for _, w := range bad {
				t.Errorf("%s: haproxy -c does not know %q", header, w)
			}
		}
	}
}
