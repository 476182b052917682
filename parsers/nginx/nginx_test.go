package nginx

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdata = "../../testdata/parsers/nginx"

// goldenListener is a parsers.Listener as the golden files spell it.
type goldenListener struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Context   string `json:"context"`
	Raw       string `json:"raw"`
	Proto     string `json:"proto"`
	Address   string `json:"address"`
	Host      string `json:"host,omitempty"`
	Port      int    `json:"port"`
	V6Only    string `json:"v6only,omitempty"`
	ReusePort bool   `json:"reuseport,omitempty"`
	Via       string `json:"via,omitempty"`
}

type goldenError struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Msg  string `json:"msg"`
}

type golden struct {
	Files     []string         `json:"files"`
	Listeners []goldenListener `json:"listeners"`
	Errors    []goldenError    `json:"errors"`
}

func toGolden(c *parsers.Config) golden {
	g := golden{Files: c.Files, Listeners: []goldenListener{}, Errors: []goldenError{}}
	for _, l := range c.Listeners {
		g.Listeners = append(g.Listeners, goldenListener{
			File: l.Pos.File, Line: l.Pos.Line, Context: l.Context, Raw: l.Raw,
			Proto: string(l.Proto), Address: l.Address(), Host: l.Host, Port: l.Port,
			V6Only: string(l.V6Only), ReusePort: l.ReusePort, Via: l.Via,
		})
	}
	for _, e := range c.Errors {
		g.Errors = append(g.Errors, goldenError{File: e.Pos.File, Line: e.Pos.Line, Msg: e.Msg})
	}
	return g
}

// caseOptions reads a golden case: its directory is the root, nginx.conf
// the main config, and an empty file "nonroot" sets Options.NonRoot.
func caseOptions(t testing.TB, dir string) Options {
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(filepath.Join(dir, "nonroot"))
	return Options{Root: parsers.Root(abs), NonRoot: err == nil}
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(testdata, "*", "nginx.conf"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases in %s: %v", testdata, err)
	}
	for _, conf := range dirs {
		dir := filepath.Dir(conf)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			cfg, err := Parse("/nginx.conf", caseOptions(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(toGolden(cfg), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			file := filepath.Join(testdata, name+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the parse; got:\n%s", file, got)
			}
		})
	}
}

// TestListen pins single listen directives to what nginx 1.22 on Linux
// makes of them.
func TestListen(t *testing.T) {
	tests := []struct {
		ctx, line string
		want      string // "addr:port/proto" joined by " ", or the error
	}{
		{"http", "80", "0.0.0.0:80/tcp"},
		{"http", "*:80", "0.0.0.0:80/tcp"},
		{"http", "*", "0.0.0.0:80/tcp"},
		{"http", "10.0.0.1", "10.0.0.1:80/tcp"},
		{"stream", "10.0.0.1", "10.0.0.1:0/tcp"},
		{"http", "[::1]", "[::1]:80/tcp"},
		{"http", "[::]:443 quic", "[::]:443/udp"},
		{"stream", "53 udp", "0.0.0.0:53/udp"},
		{"http", "8000-8002", "0.0.0.0:8000/tcp 0.0.0.0:8001/tcp 0.0.0.0:8002/tcp"},
		{"http", "10.0.0.1:8000-8001", "10.0.0.1:8000/tcp 10.0.0.1:8001/tcp"},
		{"http", "[::1]:8000-8001", "[::1]:8000/tcp [::1]:8001/tcp"},
		{"http", "UNIX:/run/x.sock", "unix:/run/x.sock/unix"},
		{"http", "unix:/run/x.sock:80", "unix:/run/x.sock:80/unix"},
		{"http", "001.002.003.004:80", "1.2.3.4:80/tcp"},
		{"http", "my-host", "my-host:80/tcp"},
		{"http", "8000-x", "8000-x:80/tcp"},
		{"http", "0", `invalid port in "0" of the "listen" directive`},
		{"http", "8000-0", `invalid port in "8000-0" of the "listen" directive`},
		{"http", "9-8", `invalid port range in "9-8" of the "listen" directive`},
		{"http", ":80", `no host in ":80" of the "listen" directive`},
		{"http", "[]:80", `no host in "[]:80" of the "listen" directive`},
		{"http", "[::1]80", `invalid host in "[::1]80" of the "listen" directive`},
		{"http", "[10.0.0.1]:80", `invalid IPv6 address in "[10.0.0.1]:80" of the "listen" directive`},
		{"http", "::1", `invalid port in "::1" of the "listen" directive`},
		{"http", "10.0.0.1:80/x", `invalid host in "10.0.0.1:80/x" of the "listen" directive`},
		{"http", "80 udp", `invalid parameter "udp"`},
		{"stream", "80 http2", `the invalid "http2" parameter`},
		{"mail", "25 reuseport", `the invalid "reuseport" parameter`},
		{"http", "80 rcvbuf=64k sndbuf=1m fastopen=10", "0.0.0.0:80/tcp"},
		{"http", "80 rcvbuf=lots", `invalid rcvbuf "rcvbuf=lots"`},
		{"http", "80 so_keepalive=30m::10", "0.0.0.0:80/tcp"},
		{"http", "80 so_keepalive=::", `invalid so_keepalive value: "::"`},
		{"http", "80 accept_filter=dataready", "0.0.0.0:80/tcp"},
		{"stream", "53 udp backlog=5", `"listen" directive "backlog" parameter is incompatible with "udp"`},
	}
	for _, tt := range tests {
		args := strings.Fields(tt.line)
		addrs, _, msg := parseListen(args, tt.ctx, func(string) []netip.Addr { return nil })
		got := msg
		if msg == "" {
			var parts []string
			for _, a := range addrs {
				l := &listen{l: parsers.Listener{Proto: a.proto, Addr: a.addr, Host: a.host, Path: a.path, Port: a.port}}
				if a.proto == parsers.TCP && (contains(args, "udp") || contains(args, "quic")) {
					l.l.Proto = parsers.UDP
				}
				s := l.l.Socket()
				if !a.addr.IsValid() && a.proto != parsers.Unix {
					s = parsers.JoinHostPort(a.host, a.port)
				}
				parts = append(parts, s+"/"+string(l.l.Proto))
			}
			got = strings.Join(parts, " ")
		}
		if got != tt.want {
			t.Errorf("%s listen %s: got %q, want %q", tt.ctx, tt.line, got, tt.want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestParseMissingMain(t *testing.T) {
	if _, err := Parse("/nope/nginx.conf", Options{Root: parsers.Root(t.TempDir())}); err == nil {
		t.Fatal("Parse of a missing main config: no error")
	}
	dir := t.TempDir()
	if _, err := Parse(dir, Options{}); err == nil {
		t.Fatal("Parse of a directory: no error")
	}
}
