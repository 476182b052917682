package haproxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
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
	Warnings  []goldenError    `json:"warnings,omitempty"`
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
	Interface   string      `json:"interface,omitempty"`
	Namespace   string      `json:"namespace,omitempty"`
	UnixMode    string      `json:"unix_mode,omitempty"`
	UnixUser    string      `json:"unix_user,omitempty"`
	UnixGroup   string      `json:"unix_group,omitempty"`
	Uncheckable string      `json:"uncheckable,omitempty"`
	Conditional string      `json:"conditional,omitempty"`
	EmptyVars   []string    `json:"empty_vars,omitempty"`
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
		gl := goldenListener{
			Service: l.Service, Pos: l.Pos, Context: l.Context, Raw: l.Raw,
			Proto: string(l.Proto), Address: addr, Host: l.Host, Port: l.Port,
			V6Only: string(l.V6Only), Transparent: l.Transparent, ReusePort: l.ReusePort,
			Interface: l.Interface, Namespace: l.Namespace,
			UnixUser: l.UnixUser, UnixGroup: l.UnixGroup,
			Uncheckable: l.Uncheckable, Conditional: l.Conditional, EmptyVars: l.EmptyVars,
		}
		if l.UnixMode != 0 {
			gl.UnixMode = fmt.Sprintf("%o", uint32(l.UnixMode))
		}
		g.Listeners = append(g.Listeners, gl)
	}
	for _, e := range c.Warnings {
		g.Warnings = append(g.Warnings, goldenError{Pos: e.Pos, Msg: e.Msg})
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

// caseOpts are the options a golden case may set in a <case>.opts JSON
// file next to it.
type caseOpts struct {
	Version   string                  `json:"version"`
	Features  []string                `json:"features"`
	Hostname  string                  `json:"hostname"`
	LocalPeer string                  `json:"local_peer"`
	Hosts     map[string][]netip.Addr `json:"hosts"` // for Resolve
}

// readOpts reads the options of a golden case, with its environment.
func readOpts(t testing.TB, name string) Options {
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".cfg"), ".d")
	opts := Options{Env: lookup(readEnv(t, base+".env"))}
	data, err := os.ReadFile(base + ".opts")
	if os.IsNotExist(err) {
		return opts
	}
	if err != nil {
		t.Fatal(err)
	}
	var o caseOpts
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatalf("%s.opts: %v", base, err)
	}
	opts.Version, opts.Features, opts.Hostname, opts.LocalPeer = o.Version, o.Features, o.Hostname, o.LocalPeer
	if o.Hosts != nil {
		opts.Resolve = func(name string) []netip.Addr { return o.Hosts[name] }
	}
	return opts
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
			cfg, err := Parse([]string{name}, readOpts(t, name))
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
		cfg, err := Parse([]string{name}, readOpts(t, name))
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
	hosts := func(name string) []netip.Addr {
		return map[string][]netip.Addr{
			"lb":   {netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("192.0.2.5")},
			"lb4":  {netip.MustParseAddr("192.0.2.4")},
			"zone": {netip.MustParseAddr("fe80::1%eth0")},
		}[name]
	}
	v26 := Options{Version: "2.6.12-1+deb12u4"}
	tests := []struct {
		name, cfg string
		env       map[string]string
		want      string // sockets, or "error: <msg>" for the first error
		opts      Options
	}{
		{"escaped space is no separator", "frontend f\n bind 1.2.3.4\\ :80\n", nil, "error: 'bind' : invalid address: '1.2.3.4 ' in '1.2.3.4 :80'", Options{}},
		{"hash escaped", "frontend f\n bind :80 name a\\#b transparent\n", nil, "0.0.0.0:80 transparent", Options{}},
		{"hex escape", "frontend f\n bind \\x3a81\n", nil, "0.0.0.0:81", Options{}},
		{"bad hex escape", "frontend f\n bind \\x3\n", nil, "error: truncated or invalid hexadecimal sequence at position 7", Options{}},
		{"CRLF", "frontend f\r\n bind :82\r\n", nil, "0.0.0.0:82", Options{}},
		{"vertical tab separates", "frontend f\n bind\v:83\n", nil, "0.0.0.0:83", Options{}},
		{"empty word ends options", "frontend f\n bind :84 \"\" transparent\n", nil, "0.0.0.0:84", Options{}},
		{"v6only wins over v4v6", "frontend f\n bind :::85 v6only v4v6\n", nil, "[::]:85 v6only=on", Options{}},
		{"atoi port", "frontend f\n bind :86abc\n", nil, "0.0.0.0:86", Options{}},
		{"port wraps like C", "frontend f\n bind :4294967383\n", nil, "0.0.0.0:87", Options{}},
		{"word expansion", "frontend f\n bind \"${L[*]}\" transparent\n", map[string]string{"L": ":88 v4v6"}, "0.0.0.0:88 transparent v6only=off", Options{}},
		{"unmatched brace", "frontend f\n bind \"${L:80\"\n", nil, "error: unmatched brace in environment variable name at position 9", Options{}},
		{"bad variable name", "frontend f\n bind \"$1:80\"\n", nil, "error: forbidden first char in environment variable name at position 9", Options{}},
		{"pseudo variable", "frontend f\n bind \":${.LINE}\"\n", nil, "0.0.0.0:2", Options{}},
		{"unset dollar outside quotes", "frontend f\n bind $NOPE:89\n", nil, "0.0.0.0:89 empty[NOPE]", Options{}},
		{"default not for env_expand", "frontend f\n bind ${NOPE-1.2.3.4}:90\n", nil, "error: 'bind' : invalid address: '-1.2.3.4}' in '${NOPE-1.2.3.4}:90'", Options{}},
		{"empty word", "frontend f\n bind \"$NOPE\"\n", nil, "error: 'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.", Options{}},
		{"empty after expansion", "frontend f\n bind $NOPE\n", nil, "error: 'bind' : '$NOPE' resolves to an empty address (environment variable missing?)", Options{}},
		{"resetenv", "global\n resetenv KEEP\nfrontend f\n bind \"${KEEP}:${DROP-91}\"\n", map[string]string{"KEEP": "127.0.0.1", "DROP": "1"}, "127.0.0.1:91", Options{}},
		{"unsetenv", "global\n unsetenv A\nfrontend f\n bind \"${A-127.0.0.2}:92\"\n", map[string]string{"A": "127.0.0.1"}, "127.0.0.2:92", Options{}},
		{"if unknown predicate", ".if nope(1)\n.endif\nfrontend f\n bind :93\n", nil, "error: unparsable conditional expression 'nope(1)' in '.if'", Options{}},
		{"if trailing garbage", ".if 1 2\n.endif\n", nil, "error: unexpected character '2' at the end of conditional expression '1 2' in '.if'", Options{}},
		{"if empty is false", "frontend f\n.if \"$NOPE\"\n bind :1\n.else\n bind :94\n.endif\n", nil, "0.0.0.0:94", Options{}},
		{"if parentheses", "frontend f\n.if (0 || defined(A)) && !(0)\n bind :95\n.endif\n", map[string]string{"A": ""}, "0.0.0.0:95", Options{}},
		{"if hex number", "frontend f\n.if 0x0\n bind :1\n.elif 0x10\n bind :96\n.endif\n", nil, "0.0.0.0:96", Options{}},
		{"if unknown and false", "frontend f\n.if feature(X) && 0\n bind :1\n.else\n bind :97\n.endif\n", nil, "0.0.0.0:97", Options{}},
		{"nested skip", "frontend f\n.if 1\n bind :98\n.elif 1\n.if 1\n bind :1\n.endif\n.endif\n", nil, "0.0.0.0:98", Options{}},
		{"lone endif", ".endif\n", nil, "error: lone '.endif' with no matching '.if'.", Options{}},
		{"else after else", ".if 1\n.else\n.else\n.endif\n", nil, "error: '.else' after '.else' is not permitted.", Options{}},
		{"non-terminated if", ".if 1\nfrontend f\n bind :99\n", nil, "error: non-terminated '.if' block.", Options{}},
		{"alert stops", "frontend f\n.alert \"no\"\n bind :1\n", nil, "error: 'no'.", Options{}},
		{"unknown directive", ".frob\n", nil, "error: unknown directive '.frob'.", Options{}},
		{"stray NUL", "frontend f\n bind :100\x00junk\n bind :1\n", nil, "error: Stray NUL character at position 11.", Options{}},
		{"section per file", "frontend f\n bind :101 # c\n", nil, "0.0.0.0:101", Options{}},
		{"stats socket needs address", "global\n stats socket\n", nil, "error: 'stats socket' in global section expects an address or a path to a UNIX socket", Options{}},
		{"stats socket bad", "global\n stats socket 1.2.3.4:0\n", nil, "error: 'stats socket' : invalid port '0'", Options{}},
		{"unix path too long", "frontend f\n bind /" + strings.Repeat("a", 97) + "\n", nil, "error: 'bind' : socket path '/" + strings.Repeat("a", 97) + "' too long (max 97)", Options{}},
		{"abstract length", "frontend f\n bind abns@" + strings.Repeat("a", 107) + "\n", nil, "uncheckable abns@" + strings.Repeat("a", 107), Options{}},
		{"log-forward stream in dgram", "log-forward l\n dgram-bind tcp@:514\n", nil, "error: 'dgram-bind tcp@:514' : stream-type address not acceptable in 'tcp@:514'", Options{}},
		{"peer local with bind error", "global\n localpeer me\npeers p\n peer me 1.2.3.4:x\n", nil, "error: 'peer me' : invalid character 'x' in port number 'x' in '1.2.3.4:x'", Options{}},
		{"too many words", "frontend f\n bind :102" + strings.Repeat(" x", 64) + "\n", nil, "error: too many words, truncating after word 64", Options{}},
		{"no modifier", "frontend f\n no bind :1\n", nil, "", Options{}},
		{"scope line", "[scope]\nfrontend f\n bind :103\n", nil, "0.0.0.0:103", Options{}},

		// Address forms.
		{"comma list and range", "frontend f\n bind :1,*:2-3,[::]:4,:::5\n", nil, "0.0.0.0:1, 0.0.0.0:2, 0.0.0.0:3, [::]:4, [::]:5", Options{}},
		{"forced family wildcard", "frontend f\n bind ipv6@:1,ipv4@*:2,ip@:3\n", nil, "[::]:1, 0.0.0.0:2, 0.0.0.0:3", Options{}},
		{"host name unresolved", "frontend f\n bind lb:80\n", nil, "lb:80", Options{}},
		{"host name first answer", "frontend f\n bind lb:80\n", nil, "[2001:db8::5]:80", Options{Resolve: hosts}},
		{"host name forced v4", "frontend f\n bind ipv4@lb:80\n", nil, "192.0.2.5:80", Options{Resolve: hosts}},
		{"host name nogetaddrinfo", "global\n nogetaddrinfo\nfrontend f\n bind lb:80\n", nil, "192.0.2.5:80", Options{Resolve: hosts}},
		{"host name wrong family", "frontend f\n bind ipv6@lb4:80\n", nil, "lb4:80", Options{Resolve: hosts}},
		{"host name zone", "frontend f\n bind zone:80\n", nil, "[fe80::1%eth0]:80", Options{Resolve: hosts}},
		{"fd and sockpair", "frontend f\n bind fd@3,sockpair@4\n", nil, "uncheckable fd@3, uncheckable sockpair@4", Options{}},
		{"abstract", "frontend f\n bind abns@x\n", nil, "uncheckable abns@x", Options{}},
		{"abnsz new", "frontend f\n bind abnsz@x\n", nil, "uncheckable abnsz@x", Options{}},
		{"abnsz old", "frontend f\n bind abnsz@x\n", nil, "error: 'bind' : missing port specification in 'abnsz@x'", v26},
		{"mptcp new", "frontend f\n bind mptcp4@:80,mptcp6@:81,mptcp@1.2.3.4:82\n", nil, "0.0.0.0:80, [::]:81, 1.2.3.4:82", Options{}},
		{"mptcp old", "frontend f\n bind mptcp@:80\n", nil, "error: 'bind' : invalid address: 'mptcp@' in 'mptcp@:80'", v26},
		{"quic plus new", "frontend f\n bind quic+ipv4@:443\n", nil, "0.0.0.0:443", Options{Version: "2.8.0"}},
		{"quic plus udp", "frontend f\n bind quic+ipv6@:443\n", nil, "[::]:443", Options{}},
		{"quic not built", "frontend f\n bind quic4@:443\n", nil, "error: 'bind' : unsupported stream protocol for datagram family 2 address 'quic4@:443'; QUIC is not compiled in if this is what you were looking for.", Options{Features: []string{"-QUIC"}}},
		{"quic built", "frontend f\n bind quic6@:443\n", nil, "[::]:443", Options{Features: []string{"+QUIC"}}},
		{"rhttp needs experimental", "frontend f\n bind rhttp@be/srv\n", nil, "error: 'bind' : Address 'be/srv' is experimental, must be allowed via a global 'expose-experimental-directives'", Options{}},
		{"rhttp", "global\n expose-experimental-directives\nfrontend f\n bind rhttp@be/srv\n", nil, "uncheckable rhttp@be/srv", Options{}},
		{"rhttp old", "global\n expose-experimental-directives\nfrontend f\n bind rhttp@be/srv\n", nil, "error: 'bind' : missing port specification in 'rhttp@be/srv'", v26},

		// Options that change the verdict.
		{"interface namespace", "frontend f\n bind :1 interface eth1 namespace blue transparent\n", nil, "0.0.0.0:1 dev=eth1 netns=blue transparent", Options{}},
		{"unix perms", "frontend f\n bind /run/a.sock mode 660 user haproxy group adm\n", nil, "unix:/run/a.sock perm=660,haproxy,adm", Options{}},
		{"unix-bind defaults", "global\n unix-bind mode 600 uid 99 gid 98\nfrontend f\n bind /run/a.sock,/run/b.sock mode 640 user u\n", nil, "unix:/run/a.sock perm=640,u,gid 98, unix:/run/b.sock perm=640,u,gid 98", Options{}},
		{"unix-bind not for stats", "global\n unix-bind mode 600\n stats socket /run/s.sock\n", nil, "unix:/run/s.sock", Options{}},

		// Variables that expand to nothing.
		{"empty quoted", "frontend f\n bind \"${VIP}:80\"\n", nil, "0.0.0.0:80 empty[VIP]", Options{}},
		{"empty unquoted", "frontend f\n bind $VIP:80,$VIP2:81\n", nil, "0.0.0.0:80 empty[VIP], 0.0.0.0:81 empty[VIP2]", Options{}},
		{"set but empty", "frontend f\n bind \"$VIP:80\"\n", map[string]string{"VIP": ""}, "0.0.0.0:80 empty[VIP]", Options{}},
		{"default not empty", "frontend f\n bind \"${VIP-1.2.3.4}:80\"\n", nil, "1.2.3.4:80", Options{}},
		{"empty in options only", "frontend f\n bind :80 name \"$N\"\n", nil, "0.0.0.0:80", Options{}},
		{"empty stats socket", "global\n stats socket \"${SOCK}:9000\"\n", nil, "0.0.0.0:9000 empty[SOCK]", Options{}},

		// Conditions.
		{"version unknown", "frontend f\n.if version_atleast(2.8)\n bind :1\n.else\n bind :2\n.endif\n", nil,
			"0.0.0.0:1 if[.if version_atleast(2.8) at t.cfg:2], 0.0.0.0:2 if[.else at t.cfg:4, after undecided .if version_atleast(2.8) at t.cfg:2]", Options{}},
		{"version known old", "frontend f\n.if version_atleast(2.8)\n bind :1\n.else\n bind :2\n.endif\n", nil, "0.0.0.0:2", v26},
		{"version known new", "frontend f\n.if version_atleast(2.8)\n bind :1\n.else\n bind :2\n.endif\n", nil, "0.0.0.0:1", Options{Version: "3.0.5"}},
		{"version before dev", "frontend f\n.if version_before(2.6-dev3)\n bind :1\n.endif\n bind :2\n", nil, "0.0.0.0:2", v26},
		{"version equal", "frontend f\n.if version_atleast(2.6.12)\n bind :1\n.endif\n", nil, "0.0.0.0:1", v26},
		{"version unparsable arg", "frontend f\n.if version_atleast(x)\n bind :1\n.endif\n", nil, "0.0.0.0:1", v26},
		{"feature known", "frontend f\n.if feature(QUIC)\n bind :1\n.elif feature(OPENSSL)\n bind :2\n.endif\n", nil, "0.0.0.0:2", Options{Features: []string{"+OPENSSL", "-QUIC"}}},
		{"feature unlisted", "frontend f\n.if feature(SSL)\n bind :1\n.endif\n bind :2\n", nil, "0.0.0.0:2", Options{Features: []string{"+OPENSSL"}}},
		{"elif after undecided", "frontend f\n.if feature(QUIC)\n bind :1\n.elif defined(X)\n bind :2\n.elif 1\n bind :3\n.else\n bind :4\n.endif\n", map[string]string{"X": ""},
			"0.0.0.0:1 if[.if feature(QUIC) at t.cfg:2], 0.0.0.0:2 if[.elif defined(X) at t.cfg:4, after undecided .if feature(QUIC) at t.cfg:2]", Options{}},
		{"two undecided", "frontend f\n.if feature(A)\n bind :1\n.elif feature(B)\n bind :2\n.else\n bind :3\n.endif\n", nil,
			"0.0.0.0:1 if[.if feature(A) at t.cfg:2], 0.0.0.0:2 if[.elif feature(B) at t.cfg:4, after undecided .if feature(A) at t.cfg:2], 0.0.0.0:3 if[.else at t.cfg:6, after undecided .if feature(A) at t.cfg:2, .elif feature(B) at t.cfg:4]", Options{}},
		{"nested undecided", "frontend f\n.if feature(A)\n.if 1\n bind :1\n.endif\n.if enabled(POLL)\n bind :2\n.endif\n.endif\n bind :3\n", nil,
			"0.0.0.0:1 if[.if feature(A) at t.cfg:2], 0.0.0.0:2 if[.if feature(A) at t.cfg:2; .if enabled(POLL) at t.cfg:6], 0.0.0.0:3", Options{}},
		{"undecided or true", "frontend f\n.if feature(A) || 1\n bind :1\n.else\n bind :2\n.endif\n", nil, "0.0.0.0:1", Options{}},
		{"strstr", "frontend f\n.if strstr(\"$V\",edge)\n bind :1\n.endif\n", map[string]string{"V": "lb-edge-1"}, "0.0.0.0:1", Options{}},
		{"strstr old", ".if strstr(a,b)\n.endif\n", nil, "error: unparsable conditional expression 'strstr(a,b)' in '.if'", v26},
		{"ssl predicates undecided", "frontend f\n.if openssl_version_atleast(3.0.0)\n bind :1\n.endif\n", nil, "0.0.0.0:1 if[.if openssl_version_atleast(3.0.0) at t.cfg:2]", v26},

		// Peers: the local name, and the "bind" + "server" form.
		{"peer hostname", "peers p\n peer lb1 127.0.0.1:1024\n peer lb2 127.0.0.2:1024\n", nil, "127.0.0.1:1024", Options{Hostname: "lb1"}},
		{"localpeer over hostname", "global\n localpeer lb2\npeers p\n peer lb1 127.0.0.1:1024\n peer lb2 127.0.0.2:1024\n", nil, "127.0.0.2:1024", Options{Hostname: "lb1"}},
		{"-L over localpeer", "global\n localpeer lb2\npeers p\n peer lb1 127.0.0.1:1024\n peer lb2 127.0.0.2:1024\n", nil, "127.0.0.1:1024", Options{Hostname: "x", LocalPeer: "lb1"}},
		{"peers bind with local server", "peers p\n bind 127.0.0.1:1024\n server lb1\n server lb2 127.0.0.2:1024\n", nil, "127.0.0.1:1024", Options{Hostname: "lb1"}},
		{"peers bind local server first", "peers p\n server lb1\n bind 127.0.0.1:1024\n", nil, "127.0.0.1:1024", Options{Hostname: "lb1"}},
		{"peers bind no local server", "peers p\n bind 127.0.0.1:1024\n server lb2 127.0.0.2:1024\n", nil, "", Options{Hostname: "lb1"}},
		{"peers bind local unknown", "peers p\n bind 127.0.0.1:1024\n server lb2 127.0.0.2:1024\n", nil, "127.0.0.1:1024", Options{}},
		{"peers mixing", "peers p\n peer lb1 127.0.0.1:1024\n bind 127.0.0.1:1025\n", nil, "error: mixing \"peer\" and \"bind\" line is forbidden", Options{Hostname: "lb1"}},
		{"peers two binds", "peers p\n bind 127.0.0.1:1024\n bind 127.0.0.1:1025\n server lb1\n", nil, "error: One listener per \"peers\" section is authorized but another is already configured at [t.cfg:2].", Options{Hostname: "lb1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Env = lookup(tt.env)
			p := newParser(opts, &parsers.Config{})
			p.readFile("t.cfg", tt.cfg)
			var got []string
			if len(p.cfg.Errors) > 0 {
				got = append(got, "error: "+p.cfg.Errors[0].Msg)
			} else {
				for _, l := range p.cfg.Listeners {
					s := l.Socket()
					if l.Uncheckable != "" {
						s = "uncheckable " + l.Raw
					}
					if l.Conditional != "" {
						s += " if[" + l.Conditional + "]"
					}
					if len(l.EmptyVars) > 0 {
						s += " empty" + fmt.Sprint(l.EmptyVars)
					}
					if l.Interface != "" || l.Namespace != "" {
						s += " dev=" + l.Interface + " netns=" + l.Namespace
					}
					if l.Proto == parsers.Unix && (l.UnixMode != 0 || l.UnixUser != "" || l.UnixGroup != "") {
						s += fmt.Sprintf(" perm=%o,%s,%s", uint32(l.UnixMode), l.UnixUser, l.UnixGroup)
					}
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
		// SOURCES.md: the corpus was checked with HAProxy 2.6.12.
		cfg, err := Parse([]string{filepath.Join(dir, "haproxy", r.file)}, Options{Env: lookup(r.env), Version: "2.6.12"})
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
		"prefixes.cfg": "fd@ needs an inherited descriptor, and this HAProxy has no QUIC nor the later prefixes",
		"bindopts.cfg": "the namespace does not exist here (TestDaemonListens opens one)",
		"resolve.cfg":  "names resolve from resolve.opts, not from this host",
	}
	// The daemon decides versions and features by itself: tell the parser
	// which ones it has, and resolve names from /etc/hosts as it does.
	vv, err := exec.Command(bin, "-vv").Output()
	if err != nil {
		t.Fatalf("haproxy -vv: %v", err)
	}
	version, features := ParseVersionOutput(string(vv)), ParseFeatureList(string(vv))
	if version == "" || len(features) == 0 {
		t.Fatalf("no version or feature list in haproxy -vv:\n%s", vv)
	}
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	hosts := etcHosts(t)
	abs, err := filepath.Abs(testdata)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(abs)
	check := func(t *testing.T, path string, env map[string]string, local string) {
		cfg, err := Parse([]string{path}, Options{
			Env: lookup(env), LocalPeer: local, Hostname: hostname,
			Version: version, Features: features, Resolve: hosts,
		})
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
			o, err := os.ReadFile(strings.TrimSuffix(strings.TrimSuffix(name, ".cfg"), ".d") + ".opts")
			var co caseOpts
			if err == nil {
				if err := json.Unmarshal(o, &co); err != nil {
					t.Fatal(err)
				}
			}
			check(t, name, readEnv(t, caseEnv(name)), co.LocalPeer)
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
		{"quic without QUIC", "frontend f\n bind quic4@:443\n"},
		{"quic6 without QUIC", "frontend f\n bind quic6@:443\n"},
		{"quic plus unknown", "frontend f\n bind quic+ipv4@:443\n"},
		{"mptcp unknown", "frontend f\n bind mptcp@:80\n"},
		{"abnsz unknown", "frontend f\n bind abnsz@x\n"},
		{"rhttp unknown", "frontend f\n bind rhttp@b/s\n"},
		{"version decided", ".if version_atleast(2.6)\n.else\n.alert \"old\"\n.endif\nfrontend f\n bind :1\n"},
		{"version before", ".if version_before(2.6-dev1)\n.alert \"old\"\n.endif\nfrontend f\n bind :1\n"},
		{"feature decided", ".if feature(QUIC)\n.alert \"quic\"\n.endif\nfrontend f\n bind :1\n"},
		{"feature absent", ".if !feature(NOSUCH)\nfrontend f\n bind :1\n.endif\n"},
		{"strstr unknown", ".if strstr(ab,b)\n.endif\nfrontend f\n bind :1\n"},
		{"peer after bind", "peers p\n bind 127.0.0.1:1024\n server me\n peer other 127.0.0.2:1024\nfrontend f\n bind :1\n"},
		{"bind after peer", "peers p\n peer other 127.0.0.2:1024\n bind 127.0.0.1:1024\nfrontend f\n bind :1\n"},
		{"two peers binds", "peers p\n bind 127.0.0.1:1024\n bind 127.0.0.1:1025\n server me\nfrontend f\n bind :1\n"},
		{"unix-bind mode", "global\n unix-bind prefix /tmp/ mode 600 uid 0\nfrontend f\n bind unix@x.sock mode 644\n"},
		{"interface", "frontend f\n bind :1 interface lo\n"},
		{"resolve localhost", "frontend f\n bind localhost:1\n bind ipv4@localhost:2\n"},
		{"elif after undecided", ".if ssllib_name_startswith(Open)\n.elif 1\n.else\n.endif\nfrontend f\n bind :1\n"},
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

// etcHosts resolves names from /etc/hosts, every address of the name in
// file order: enough for the names the tests use.
func etcHosts(t testing.TB) func(string) []netip.Addr {
	data, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string][]netip.Addr{}
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		for _, n := range f[1:] {
			names[n] = append(names[n], a)
		}
	}
	return func(name string) []netip.Addr { return names[name] }
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
			if l.Proto != parsers.Unix && l.Uncheckable == "" && (l.Port < 1 || l.Port > 65535) {
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
