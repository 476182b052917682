package haproxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdata = "../../testdata/parsers/haproxy"

// golden is the JSON form of a parsed configuration.
type golden struct {
	Files     []string         `json:"files"`
	Listeners []goldenListener `json:"listeners"`
	Errors    []goldenError    `json:"errors"`
}

type goldenListener struct {
	Service     string      `json:"service"`
	Pos         parsers.Pos `json:"pos"`
	Context     string      `json:"context"`
	Raw         string      `json:"raw"`
	Proto       string      `json:"proto"`
	Address     string      `json:"address"`
	Host        string      `json:"host,omitempty"`
	Port        int         `json:"port"`
	V6Only      string      `json:"v6only"`
	Transparent bool        `json:"transparent"`
	ReusePort   bool        `json:"reuseport"`
}

type goldenError struct {
	Pos parsers.Pos `json:"pos"`
	Msg string      `json:"msg"`
}

func toGolden(c *parsers.Config) golden {
	g := golden{Files: c.Files, Listeners: []goldenListener{}, Errors: []goldenError{}}
	for _, l := range c.Listeners {
		addr := l.Address()
		if l.Proto != parsers.Unix && !l.Addr.IsValid() {
			addr = ""
		}
		g.Listeners = append(g.Listeners, goldenListener{
			Service: l.Service, Pos: l.Pos, Context: l.Context, Raw: l.Raw,
			Proto: string(l.Proto), Address: addr, Host: l.Host, Port: l.Port,
			V6Only: string(l.V6Only), Transparent: l.Transparent, ReusePort: l.ReusePort,
		})
	}
	for _, e := range c.Errors {
		g.Errors = append(g.Errors, goldenError{Pos: e.Pos, Msg: e.Msg})
	}
	return g
}

// readEnv reads a KEY=VALUE file next to a test config, if there is one.
func readEnv(t testing.TB, name string) map[string]string {
	data, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	return env
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// cases are the golden cases: every *.cfg file and every *.d directory.
func cases(t testing.TB, dir string) []string {
	cfgs, err := filepath.Glob(filepath.Join(dir, "*.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := filepath.Glob(filepath.Join(dir, "*.d"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range append(cfgs, dirs...) {
		names = append(names, filepath.Base(p))
	}
	if len(names) == 0 {
		t.Fatal("no test cases in " + dir)
	}
	return names
}

func caseEnv(name string) string {
	return strings.TrimSuffix(strings.TrimSuffix(name, ".cfg"), ".d") + ".env"
}

func TestGolden(t *testing.T) {
	abs, err := filepath.Abs(testdata)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(abs) // file names in the golden files are relative
	for _, name := range cases(t, ".") {
		t.Run(name, func(t *testing.T) {
			env := readEnv(t, caseEnv(name))
			cfg, err := Parse([]string{name}, Options{Env: lookup(env)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(toGolden(cfg), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			want := strings.TrimSuffix(strings.TrimSuffix(name, ".cfg"), ".d") + ".json"
			if *update {
				if err := os.WriteFile(want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, w) {
				t.Errorf("%s differs from %s:\n%s", name, want, got)
			}
		})
	}
}

// TestEveryListenerHasItsLine checks that a listener's position names a
// line of its file that really holds the statement.
func TestEveryListenerHasItsLine(t *testing.T) {
	abs, err := filepath.Abs(testdata)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(abs)
	for _, name := range cases(t, ".") {
		cfg, err := Parse([]string{name}, Options{Env: lookup(readEnv(t, caseEnv(name)))})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range cfg.Listeners {
			data, err := os.ReadFile(l.Pos.File)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(data), "\n")
			if l.Pos.Line < 1 || l.Pos.Line > len(lines) {
				t.Errorf("%s: line out of range", l.Pos)
				continue
			}
			text := strings.Fields(lines[l.Pos.Line-1])
			if len(text) == 0 || !map[string]bool{"bind": true, "stats": true, "peer": true, "dgram-bind": true}[text[0]] {
				t.Errorf("%s: listener %s on line %q", l.Pos, l.Socket(), lines[l.Pos.Line-1])
			}
		}
	}
}

func TestParseOptions(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	peers := write("peers.cfg", "peers p\n    peer me 192.0.2.1:1024\n    peer other 192.0.2.2:1024\n")
	tests := []struct {
		name  string
		paths []string
		opts  Options
		want  []string // sockets, in order
	}{
		{"no local peer known", []string{peers}, Options{}, nil},
		{"LocalPeer option", []string{peers}, Options{LocalPeer: "me"}, []string{"192.0.2.1:1024"}},
		{"other peer", []string{peers}, Options{LocalPeer: "other"}, []string{"192.0.2.2:1024"}},
		{
			"two files, in order",
			[]string{write("b.cfg", "frontend b\n    bind :2\n"), write("a.cfg", "frontend a\n    bind :1\n")},
			Options{},
			[]string{"0.0.0.0:2", "0.0.0.0:1"},
		},
		{
			"root",
			[]string{"/etc/haproxy/haproxy.cfg"},
			Options{Root: parsers.Root(dir)},
			[]string{"192.0.2.5:80"},
		},
	}
	if err := os.MkdirAll(filepath.Join(dir, "etc/haproxy"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("etc/haproxy/haproxy.cfg", "frontend r\n    bind 192.0.2.5:80\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse(tt.paths, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range cfg.Listeners {
				got = append(got, l.Socket())
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if len(cfg.Errors) > 0 {
				t.Errorf("errors: %v", cfg.Errors)
			}
			if cfg.Path != strings.Join(tt.paths, ", ") || cfg.Service != "haproxy" {
				t.Errorf("Path %q Service %q", cfg.Path, cfg.Service)
			}
		})
	}
}

func TestUnreadablePath(t *testing.T) {
	for _, p := range []string{"/nonexistent/haproxy.cfg", filepath.Join(t.TempDir(), "missing")} {
		if _, err := Parse([]string{p}, Options{}); err == nil {
			t.Errorf("Parse(%s): no error", p)
		}
	}
}

// TestLines covers tokenizer and conditional corner cases line by line.
func TestLines(t *testing.T) {
	tests := []struct {
		name, cfg string
		env       map[string]string
		want      string // sockets, or "error: <msg>" for the first error
	}{
		{"escaped space is no separator", "frontend f\n bind 1.2.3.4\\ :80\n", nil, "error: 'bind' : invalid address: '1.2.3.4 ' in '1.2.3.4 :80'"},
		{"hash escaped", "frontend f\n bind :80 name a\\#b transparent\n", nil, "0.0.0.0:80 transparent"},
		{"hex escape", "frontend f\n bind \\x3a81\n", nil, "0.0.0.0:81"},
		{"bad hex escape", "frontend f\n bind \\x3\n", nil, "error: truncated or invalid hexadecimal sequence at position 7"},
		{"CRLF", "frontend f\r\n bind :82\r\n", nil, "0.0.0.0:82"},
		{"vertical tab separates", "frontend f\n bind\v:83\n", nil, "0.0.0.0:83"},
		{"empty word ends options", "frontend f\n bind :84 \"\" transparent\n", nil, "0.0.0.0:84"},
		{"v6only wins over v4v6", "frontend f\n bind :::85 v6only v4v6\n", nil, "[::]:85 v6only=on"},
		{"atoi port", "frontend f\n bind :86abc\n", nil, "0.0.0.0:86"},
		{"port wraps like C", "frontend f\n bind :4294967383\n", nil, "0.0.0.0:87"},
		{"word expansion", "frontend f\n bind \"${L[*]}\" transparent\n", map[string]string{"L": ":88 v4v6"}, "0.0.0.0:88 transparent v6only=off"},
		{"unmatched brace", "frontend f\n bind \"${L:80\"\n", nil, "error: unmatched brace in environment variable name at position 9"},
		{"bad variable name", "frontend f\n bind \"$1:80\"\n", nil, "error: forbidden first char in environment variable name at position 9"},
		{"pseudo variable", "frontend f\n bind \":${.LINE}\"\n", nil, "0.0.0.0:2"},
		{"unset dollar outside quotes", "frontend f\n bind $NOPE:89\n", nil, "0.0.0.0:89"},
		{"default not for env_expand", "frontend f\n bind ${NOPE-1.2.3.4}:90\n", nil, "error: 'bind' : invalid address: '-1.2.3.4}' in '${NOPE-1.2.3.4}:90'"},
		{"empty word", "frontend f\n bind \"$NOPE\"\n", nil, "error: 'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments."},
		{"empty after expansion", "frontend f\n bind $NOPE\n", nil, "error: 'bind' : '$NOPE' resolves to an empty address (environment variable missing?)"},
		{"resetenv", "global\n resetenv KEEP\nfrontend f\n bind \"${KEEP}:${DROP-91}\"\n", map[string]string{"KEEP": "127.0.0.1", "DROP": "1"}, "127.0.0.1:91"},
		{"unsetenv", "global\n unsetenv A\nfrontend f\n bind \"${A-127.0.0.2}:92\"\n", map[string]string{"A": "127.0.0.1"}, "127.0.0.2:92"},
		{"if unknown predicate", ".if nope(1)\n.endif\nfrontend f\n bind :93\n", nil, "error: unparsable conditional expression 'nope(1)' in '.if'"},
		{"if trailing garbage", ".if 1 2\n.endif\n", nil, "error: unexpected character '2' at the end of conditional expression '1 2' in '.if'"},
		{"if empty is false", "frontend f\n.if \"$NOPE\"\n bind :1\n.else\n bind :94\n.endif\n", nil, "0.0.0.0:94"},
		{"if parentheses", "frontend f\n.if (0 || defined(A)) && !(0)\n bind :95\n.endif\n", map[string]string{"A": ""}, "0.0.0.0:95"},
		{"if hex number", "frontend f\n.if 0x0\n bind :1\n.elif 0x10\n bind :96\n.endif\n", nil, "0.0.0.0:96"},
		{"if unknown and false", "frontend f\n.if feature(X) && 0\n bind :1\n.else\n bind :97\n.endif\n", nil, "0.0.0.0:97"},
		{"nested skip", "frontend f\n.if 1\n bind :98\n.elif 1\n.if 1\n bind :1\n.endif\n.endif\n", nil, "0.0.0.0:98"},
		{"lone endif", ".endif\n", nil, "error: lone '.endif' with no matching '.if'."},
		{"else after else", ".if 1\n.else\n.else\n.endif\n", nil, "error: '.else' after '.else' is not permitted."},
		{"non-terminated if", ".if 1\nfrontend f\n bind :99\n", nil, "error: non-terminated '.if' block."},
		{"alert stops", "frontend f\n.alert \"no\"\n bind :1\n", nil, "error: 'no'."},
		{"unknown directive", ".frob\n", nil, "error: unknown directive '.frob'."},
		{"stray NUL", "frontend f\n bind :100\x00junk\n bind :1\n", nil, "error: Stray NUL character at position 11."},
		{"section per file", "frontend f\n bind :101 # c\n", nil, "0.0.0.0:101"},
		{"stats socket needs address", "global\n stats socket\n", nil, "error: 'stats socket' in global section expects an address or a path to a UNIX socket"},
		{"stats socket bad", "global\n stats socket 1.2.3.4:0\n", nil, "error: 'stats socket' : invalid port '0'"},
		{"unix path too long", "frontend f\n bind /" + strings.Repeat("a", 97) + "\n", nil, "error: 'bind' : socket path '/" + strings.Repeat("a", 97) + "' too long (max 97)"},
		{"abstract length", "frontend f\n bind abns@" + strings.Repeat("a", 107) + "\n", nil, ""},
		{"log-forward stream in dgram", "log-forward l\n dgram-bind tcp@:514\n", nil, "error: 'dgram-bind tcp@:514' : stream-type address not acceptable in 'tcp@:514'"},
		{"peer local with bind error", "global\n localpeer me\npeers p\n peer me 1.2.3.4:x\n", nil, "error: 'peer me' : invalid character 'x' in port number 'x' in '1.2.3.4:x'"},
		{"too many words", "frontend f\n bind :102" + strings.Repeat(" x", 64) + "\n", nil, "error: too many words, truncating after word 64"},
		{"no modifier", "frontend f\n no bind :1\n", nil, ""},
		{"scope line", "[scope]\nfrontend f\n bind :103\n", nil, "0.0.0.0:103"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newParser(Options{Env: lookup(tt.env)}, &parsers.Config{})
			p.readFile("t.cfg", tt.cfg)
			var got []string
			if len(p.cfg.Errors) > 0 {
				got = append(got, "error: "+p.cfg.Errors[0].Msg)
			} else {
				for _, l := range p.cfg.Listeners {
					s := l.Socket()
					if l.Transparent {
						s += " transparent"
					}
					if l.V6Only != parsers.V6OnlyDefault {
						s += " v6only=" + string(l.V6Only)
					}
					got = append(got, s)
				}
			}
			if g := strings.Join(got, ", "); g != tt.want {
				t.Errorf("got  %q\nwant %q", g, tt.want)
			}
		})
	}
}

// corpusDir is LBDOCTOR_CORPUS, or the shared corpus next to the repo.
func corpusDir(t testing.TB) string {
	dir := os.Getenv("LBDOCTOR_CORPUS")
	if dir == "" {
		dir = "../../../shared/corpus"
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.md")); err != nil {
		t.Skipf("no corpus at %s (set LBDOCTOR_CORPUS): %v", dir, err)
	}
	return dir
}

// corpusRow is one haproxy row of SOURCES.md.
type corpusRow struct {
	file     string
	accepted bool
	env      map[string]string
	check    string
}

var (
	rowRE     = regexp.MustCompile("^\\| `([^`]+)` \\|.*\\| ([^|]*) \\|$")
	withEnvRE = regexp.MustCompile(`with env ((?:[A-Z_]+=\S+ )+).*: yes$`)
)

func corpusRows(t *testing.T, dir string) []corpusRow {
	f, err := os.Open(filepath.Join(dir, "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []corpusRow
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(line, "## haproxy")
			continue
		}
		m := rowRE.FindStringSubmatch(line)
		if !in || m == nil {
			continue
		}
		r := corpusRow{file: m[1], check: m[2], accepted: strings.HasPrefix(m[2], "yes")}
		if e := withEnvRE.FindStringSubmatch(m[2]); e != nil {
			r.accepted = true
			r.env = map[string]string{}
			for _, kv := range strings.Fields(e[1]) {
				k, v, _ := strings.Cut(kv, "=")
				r.env[k] = v
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no haproxy rows in SOURCES.md")
	}
	return rows
}

// TestCorpus parses every real-world config: those HAProxy accepts must
// give no error, and a rejection HAProxy blames on a bind line must be
// found on that line.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	lineRE := regexp.MustCompile(`^no: line (\d+): 'bind'`)
	var files, accepted, listeners, rejectedWithErrors int
	for _, r := range corpusRows(t, dir) {
		files++
		cfg, err := Parse([]string{filepath.Join(dir, "haproxy", r.file)}, Options{Env: lookup(r.env)})
		if err != nil {
			t.Errorf("%s: %v", r.file, err)
			continue
		}
		listeners += len(cfg.Listeners)
		if r.accepted {
			accepted++
			for _, e := range cfg.Errors {
				t.Errorf("%s: accepted by HAProxy, but: %v", r.file, e)
			}
		} else if len(cfg.Errors) > 0 {
			rejectedWithErrors++
		}
		if m := lineRE.FindStringSubmatch(r.check); m != nil {
			found := false
			for _, e := range cfg.Errors {
				found = found || fmt.Sprint(e.Pos.Line) == m[1]
			}
			if !found {
				t.Errorf("%s: HAProxy rejects line %s (%s), we found %v", r.file, m[1], r.check, cfg.Errors)
			}
		}
	}
	t.Logf("corpus: %d files, %d accepted by HAProxy (all parse with 0 errors), %d listeners, %d of %d rejected files with errors found",
		files, accepted, listeners, rejectedWithErrors, files-accepted)
}

// TestDaemonAgrees runs `haproxy -c` on the golden cases and on the
// TestLines cases: HAProxy accepts a config exactly when we report no
// error, and each of our errors is one HAProxy prints at the same line.
func TestDaemonAgrees(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed: cannot cross-check with the daemon")
	}
	// Files whose verdict depends on what the parser does not judge.
	skip := map[string]string{
		"prefixes.cfg": "fd@ needs an inherited descriptor and this HAProxy has no QUIC",
	}
	abs, err := filepath.Abs(testdata)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(abs)
	check := func(t *testing.T, path string, env map[string]string, local string) {
		cfg, err := Parse([]string{path}, Options{Env: lookup(env), LocalPeer: local})
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", "-f", path)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if local != "" {
			cmd.Args = append(cmd.Args, "-L", local)
		}
		out, runErr := cmd.CombinedOutput()
		daemonOK := runErr == nil
		if daemonOK != (len(cfg.Errors) == 0) {
			t.Errorf("haproxy -c accepted=%v, we found %d errors %v\n%s", daemonOK, len(cfg.Errors), cfg.Errors, out)
		}
		for _, e := range cfg.Errors {
			if !strings.Contains(string(out), fmt.Sprintf("%s:%d]", path, e.Pos.Line)) ||
				!strings.Contains(string(out), e.Msg) {
				t.Errorf("HAProxy does not say %q at line %d:\n%s", e.Msg, e.Pos.Line, out)
			}
		}
	}
	for _, name := range cases(t, ".") {
		t.Run(name, func(t *testing.T) {
			if why := skip[name]; why != "" {
				t.Skip(why)
			}
			check(t, name, readEnv(t, caseEnv(name)), "")
		})
	}
	// Small configs, each completed into a valid one but for its point.
	dir := t.TempDir()
	lines := []struct{ name, cfg string }{
		{"atoi port", "frontend f\n bind :86abc\n"},
		{"port wraps like C", "frontend f\n bind :4294967383\n"},
		{"bad hex", "frontend f\n bind \\x3\n"},
		{"escaped space", "frontend f\n bind 1.2.3.4\\ :80\n"},
		{"empty after expansion", "frontend f\n bind $NOPE\n"},
		{"resetenv", "global\n resetenv KEEP\nfrontend f\n bind \"${PATH}:${DROP-91}\"\n"},
		{"unmatched brace", "frontend f\n bind \"${L:80\"\n"},
		{"stray NUL", "frontend f\n bind :100\x00junk\n bind :1\n"},
		{"if unknown predicate", ".if nope(1)\n.endif\nfrontend f\n bind :93\n"},
		{"if trailing garbage", ".if 1 2\n.endif\nfrontend f\n bind :93\n"},
		{"lone endif", ".endif\nfrontend f\n bind :93\n"},
		{"unix path too long", "frontend f\n bind /" + strings.Repeat("a", 97) + "\n"},
		{"unix path fits", "frontend f\n bind /" + strings.Repeat("a", 96) + "\n"},
		{"stats socket bad", "global\n stats socket 1.2.3.4:0\nfrontend f\n bind :1\n"},
		{"dgram-bind stream", "log-forward l\n dgram-bind tcp@:514\n log 127.0.0.1:514 local0\n"},
		{"peer line", "peers p\n peer me 127.0.0.1:x\n peer other 127.0.0.2:1024\nfrontend f\n bind :1\n"},
		{"too many words", "frontend f\n bind :102" + strings.Repeat(" name x", 32) + "\n"},
	}
	for _, tt := range lines {
		t.Run(tt.name, func(t *testing.T) {
			name := strings.ReplaceAll(tt.name, " ", "-") + ".cfg"
			cfg := tt.cfg + "defaults\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"
			if err := os.WriteFile(filepath.Join(dir, name), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			check(t, name, nil, "me")
		})
	}
}

func seeds(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join(testdata, "*.cfg"))
	if err != nil {
		f.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(testdata, "*.d", "*"))
	for _, p := range append(paths, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
}

func FuzzParse(f *testing.F) {
	seeds(f)
	env := lookup(map[string]string{"A": "1.2.3.4:80", "L": ":1 :2"})
	f.Fuzz(func(t *testing.T, data string) {
		cfg := &parsers.Config{}
		p := newParser(Options{Env: env, LocalPeer: "me"}, cfg)
		p.readFile("fuzz.cfg", data)
		lines := strings.Count(data, "\n") + 1
		for _, l := range cfg.Listeners {
			if l.Pos.File != "fuzz.cfg" || l.Pos.Line < 1 || l.Pos.Line > lines {
				t.Fatalf("listener at %v, file has %d lines", l.Pos, lines)
			}
			if l.Proto != parsers.Unix && (l.Port < 1 || l.Port > 65535) {
				t.Fatalf("port %d", l.Port)
			}
		}
		for _, e := range cfg.Errors {
			if e.Pos.Line < 1 || e.Pos.Line > lines+1 || e.Msg == "" {
				t.Fatalf("error at %v: %q", e.Pos, e.Msg)
			}
		}
	})
}

// benchConfig writes a config of n frontends with two binds each.
func benchConfig(b *testing.B, n int) string {
	var sb strings.Builder
	sb.WriteString("global\n    maxconn 100000\n    stats socket /run/haproxy/admin.sock mode 660 level admin\n\n")
	sb.WriteString("defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "frontend fe%d\n    bind 127.%d.%d.1:%d\n    bind :::%d v4v6 accept-proxy name fe%d-v6\n    http-request set-header X-Fe fe%d\n    default_backend be\n\n",
			i, i/250, i%250, 10000+i, 20000+i, i, i)
	}
	sb.WriteString("backend be\n    server s1 127.0.0.1:8080\n")
	p := filepath.Join(b.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkParse parses 2,000 frontends with 4,000 binds.
func BenchmarkParse(b *testing.B) {
	p := benchConfig(b, 2000)
	b.ReportAllocs()
	for b.Loop() {
		cfg, err := Parse([]string{p}, Options{})
		if err != nil || len(cfg.Listeners) != 4001 || len(cfg.Errors) != 0 {
			b.Fatalf("%v: %d listeners, errors %v", err, len(cfg.Listeners), cfg.Errors)
		}
	}
}
