package nginx

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lbdoctor/lbdoctor/parsers"
)

const (
	head = "events {}\nhttp { server { listen 127.0.0.1:8080; server_name "
	tail = "; } }\n"
	bad  = "http { server { listen 127.0.0.1:99999; } }\n"
)

// syntaxCases are configs where nginx's tokenizer and its glob(3) differ
// from crossplane's lexer and Go's filepath.Match. want is the one error
// Parse reports, "FILE:LINE MSG", and nginx -t's first [emerg]; "" when
// nginx -t accepts the config. Every row was checked with nginx 1.22, and
// TestSyntaxNginx checks them again where nginx is installed.
var syntaxCases = []struct {
	name  string
	files map[string]string
	want  string
}{
	// glob(3) takes an unclosed "[" literally; other wildcards still work.
	{"glob/unclosed", map[string]string{"nginx.conf": "events {}\ninclude \"evil\x1b[31m\n.conf\";\n", "evil\x1b[31m\n.conf": bad},
		"/evil\x1b[31m\n.conf:1 invalid port in \"127.0.0.1:99999\" of the \"listen\" directive"},
	{"glob/unclosed-star", map[string]string{"nginx.conf": "events {}\ninclude a[*.conf;\n", "a[1.conf": bad, "a[2.conf": "", "ab.conf": "zzz {"},
		`/a[1.conf:1 invalid port in "127.0.0.1:99999" of the "listen" directive`},
	{"glob/unclosed-dir", map[string]string{"nginx.conf": "events {}\ninclude d[/*.conf;\n", "d[/x.conf": bad},
		`/d[/x.conf:1 invalid port in "127.0.0.1:99999" of the "listen" directive`},
	{"glob/closed-then-unclosed", map[string]string{"nginx.conf": "events {}\ninclude x[a]y[.conf;\n", "xay[.conf": bad},
		`/xay[.conf:1 invalid port in "127.0.0.1:99999" of the "listen" directive`},
	{"glob/unclosed-no-match", map[string]string{"nginx.conf": "events {}\ninclude nope[.conf;\n"}, ""},
	{"glob/bang", map[string]string{"nginx.conf": "events {}\ninclude b[!a].conf;\n", "bb.conf": bad, "ba.conf": "zzz {"},
		`/bb.conf:1 invalid port in "127.0.0.1:99999" of the "listen" directive`},
	{"glob/bracket-member", map[string]string{"nginx.conf": "events {}\ninclude c[]].conf;\n", "c].conf": bad},
		`/c].conf:1 invalid port in "127.0.0.1:99999" of the "listen" directive`},

	// A bare token: the byte that ends it counts when it is a space.
	{"long/bare-4095-semicolon", map[string]string{"nginx.conf": head + strings.Repeat("a", 4095) + tail}, ""},
	{"long/bare-4096-semicolon", map[string]string{"nginx.conf": head + strings.Repeat("a", 4096) + tail},
		`/nginx.conf:2 too long parameter "aaaaaaaaaa..." started`},
	{"long/bare-4094-space", map[string]string{"nginx.conf": head + strings.Repeat("a", 4094) + " " + tail}, ""},
	{"long/bare-4095-space", map[string]string{"nginx.conf": head + strings.Repeat("a", 4095) + " " + tail},
		`/nginx.conf:2 too long parameter "aaaaaaaaaa..." started`},
	{"long/bare-1MB", map[string]string{"nginx.conf": head + strings.Repeat("a", 1<<20) + tail},
		`/nginx.conf:2 too long parameter "aaaaaaaaaa..." started`},
	{"long/directive-name", map[string]string{"nginx.conf": "events {}\nhttp {}\n" + strings.Repeat("d", 4096) + " x;\n"},
		`/nginx.conf:3 too long parameter "dddddddddd..." started`},
	{"long/variable", map[string]string{"nginx.conf": "events {}\nhttp {}\nx ${" + strings.Repeat("v", 4096) + "};\n"},
		`/nginx.conf:3 too long parameter "${vvvvvvvv..." started`},
	{"long/escape", map[string]string{"nginx.conf": "events {}\nhttp {}\nx \\" + strings.Repeat("e", 5000) + ";\n"},
		`/nginx.conf:3 too long parameter "\eeeeeeeee..." started`},
	// The span is the same wherever the buffer happens to end.
	{"long/offset-1", map[string]string{"nginx.conf": "#\n" + head + strings.Repeat("a", 4095) + " " + tail},
		`/nginx.conf:3 too long parameter "aaaaaaaaaa..." started`},
	{"long/offset-4000", map[string]string{"nginx.conf": "#" + strings.Repeat("x", 4000) + "\n" + head + strings.Repeat("a", 4094) + " " + tail}, ""},
	{"long/offset-4000-fails", map[string]string{"nginx.conf": "#" + strings.Repeat("x", 4000) + "\n" + head + strings.Repeat("a", 4095) + " " + tail},
		`/nginx.conf:3 too long parameter "aaaaaaaaaa..." started`},
	// A quoted token counts from the byte after its opening quote, up
	// to the byte after its closing quote.
	{"long/quoted-4094-semicolon", map[string]string{"nginx.conf": head + `"` + strings.Repeat("a", 4094) + `"` + tail}, ""},
	{"long/quoted-4095-semicolon", map[string]string{"nginx.conf": head + `"` + strings.Repeat("a", 4095) + `"` + tail},
		`/nginx.conf:2 too long parameter "aaaaaaaaaa..." started`},
	{"long/quoted-4094-space", map[string]string{"nginx.conf": head + `"` + strings.Repeat("a", 4094) + `" ` + tail},
		`/nginx.conf:2 too long parameter "aaaaaaaaaa..." started`},
	{"long/quoted-4096", map[string]string{"nginx.conf": head + `"` + strings.Repeat("a", 4096) + `"` + tail},
		`/nginx.conf:2 too long parameter, probably missing terminating """ character`},
	{"long/single-quoted", map[string]string{"nginx.conf": "events {}\nhttp {}\nx '" + strings.Repeat("a", 5000) + "';\n"},
		`/nginx.conf:3 too long parameter, probably missing terminating "'" character`},
	{"long/quoted-lines", map[string]string{"nginx.conf": "events {}\nhttp {}\nx \"\n" + strings.Repeat("a\n", 3000) + "\";\n"},
		`/nginx.conf:3 too long parameter, probably missing terminating """ character`},
	// A comment counts from its "#".
	{"long/comment-4095", map[string]string{"nginx.conf": "events {}\n#" + strings.Repeat("c", 4094) + "\nhttp {}\n"}, ""},
	{"long/comment-4096", map[string]string{"nginx.conf": "events {}\n#" + strings.Repeat("c", 4095) + "\nhttp {}\n"},
		`/nginx.conf:2 too long parameter "#ccccccccc..." started`},
	// Only when more of the file follows the full buffer.
	{"long/at-eof-4096", map[string]string{"nginx.conf": "events {}\nhttp {}\n" + strings.Repeat("a", 4096)},
		`/nginx.conf:3 unexpected end of file, expecting ";" or "}"`},
	{"long/at-eof-4097", map[string]string{"nginx.conf": "events {}\nhttp {}\n" + strings.Repeat("a", 4097)},
		`/nginx.conf:3 too long parameter "aaaaaaaaaa..." started`},
	{"long/included", map[string]string{"nginx.conf": "events {}\nhttp {\n    include a.conf;\n    include b.conf;\n    include c.conf;\n}\n",
		"a.conf": "", "b.conf": "\n\nserver { server_name " + strings.Repeat("b", 5000) + "; }\n", "c.conf": ""},
		`/b.conf:3 too long parameter "bbbbbbbbbb..." started`},
	// Files bigger than streamSize are checked as they are read.
	{"long/streamed", map[string]string{"nginx.conf": strings.Repeat("# padding\n", streamSize/10+1) + head + strings.Repeat("a", 5000) + tail},
		fmt.Sprintf(`/nginx.conf:%d too long parameter "aaaaaaaaaa..." started`, streamSize/10+3)},

	// The end of the file inside a directive is reported on the last line.
	{"eof/unterminated-quote", map[string]string{"nginx.conf": "events {}\nhttp { server { listen \"127.0.0.1:80;\n}}\n"},
		`/nginx.conf:4 unexpected end of file, expecting ";" or "}"`},
	{"eof/no-semicolon", map[string]string{"nginx.conf": "events {}\nhttp {}\nfoo bar"},
		`/nginx.conf:3 unexpected end of file, expecting ";" or "}"`},
	{"eof/no-semicolon-in-block", map[string]string{"nginx.conf": "events {}\nhttp {\nfoo bar\n\n"},
		`/nginx.conf:5 unexpected end of file, expecting ";" or "}"`},
	{"eof/unclosed-block", map[string]string{"nginx.conf": "events {}\nhttp {\n\n"},
		`/nginx.conf:4 unexpected end of file, expecting "}"`},

	// An error of a directive that spans lines is at the line of its ";"
	// or "{", where nginx's tokenizer is when the directive ends.
	{"lines/listen-port", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:99999\n  ; } }\n"},
		`/nginx.conf:3 invalid port in "127.0.0.1:99999" of the "listen" directive`},
	{"lines/listen-3-lines", map[string]string{"nginx.conf": "events {}\nhttp { server { listen\n127.0.0.1:99999\n\n  ; } }\n"},
		`/nginx.conf:5 invalid port in "127.0.0.1:99999" of the "listen" directive`},
	{"lines/listen-parameter", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:80\nfoo; } }\n"},
		`/nginx.conf:3 invalid parameter "foo"`},
	{"lines/listen-comment", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:99999 # c;\n#x;\n ; } }\n"},
		`/nginx.conf:4 invalid port in "127.0.0.1:99999" of the "listen" directive`},
	{"lines/quoted", map[string]string{"nginx.conf": "events {}\nhttp { server { listen \"127.0.0.1:8\n0\"; } }\n"},
		"/nginx.conf:3 invalid port in \"127.0.0.1:8\n0\" of the \"listen\" directive"},
	{"lines/quoted-semicolon-later", map[string]string{"nginx.conf": "events {}\nhttp { server { listen '127.0.0.1:8\n0'\n\n; } }\n"},
		"/nginx.conf:5 invalid port in \"127.0.0.1:8\n0\" of the \"listen\" directive"},
	{"lines/not-allowed", map[string]string{"nginx.conf": "events {}\nhttp { listen\n127.0.0.1:80; }\n"},
		`/nginx.conf:3 "listen" directive is not allowed here`},
	{"lines/arguments", map[string]string{"nginx.conf": "events {}\nhttp { server_tokens\non off\n; }\n"},
		`/nginx.conf:4 invalid number of arguments in "server_tokens" directive`},
	{"lines/block-brace-later", map[string]string{"nginx.conf": "events {}\nhttp { server\n\n{ } \n upstream\n\n{ } }\n"},
		`/nginx.conf:7 invalid number of arguments in "upstream" directive`},
	{"lines/duplicate-default", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:80\n default_server; }\nserver { listen 127.0.0.1:80\n default_server\n; } }\n"},
		`/nginx.conf:6 a duplicate default server for 127.0.0.1:80`},
	{"lines/same-line", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:99999 ; listen\n80; } }\n"},
		`/nginx.conf:2 invalid port in "127.0.0.1:99999" of the "listen" directive`},
	{"lines/same-line-second", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 80; listen\n127.0.0.1:99999; } }\n"},
		`/nginx.conf:3 invalid port in "127.0.0.1:99999" of the "listen" directive`},
	{"lines/included", map[string]string{"nginx.conf": "events {}\nhttp {\n    include a.conf;\n    include b.conf;\n}\n",
		"a.conf": "server { listen 127.0.0.1:81; }\n", "b.conf": "\nserver { listen 127.0.0.1:82\n  ssl\n  foo; }\n"},
		`/b.conf:4 invalid parameter "foo"`},
	{"lines/big-file", map[string]string{"nginx.conf": "events {}\n" + strings.Repeat("# padding\n", 1000) + "http { server { listen 127.0.0.1:99999\n; } }\n"},
		`/nginx.conf:1003 invalid port in "127.0.0.1:99999" of the "listen" directive`},
}

func writeCase(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// errorLines is cfg's errors as "file:line message".
func errorLines(cfg *parsers.Config) []string {
	var out []string
	for _, e := range cfg.Errors {
		out = append(out, fmt.Sprintf("%s:%d %s", e.Pos.File, e.Pos.Line, e.Msg))
	}
	return out
}

func TestSyntax(t *testing.T) {
	for _, tt := range syntaxCases {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeCase(t, tt.files)
			var first *parsers.Config
			for _, workers := range []int{1, 4} {
				cfg, err := Parse("/nginx.conf", Options{Root: parsers.Root(dir), Workers: workers})
				if err != nil {
					t.Fatal(err)
				}
				got := errorLines(cfg)
				var want []string
				if tt.want != "" {
					want = []string{tt.want}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("workers %d: errors\n%q\nwant\n%q", workers, got, want)
				}
				if first == nil {
					first = cfg
				} else if !reflect.DeepEqual(first, cfg) {
					t.Errorf("Workers 1 and 4 differ:\n%+v\n%+v", first, cfg)
				}
			}
		})
	}
}

// TestSyntaxNginx runs nginx -t on every syntax case and checks that it
// fails with want as its first error, or passes.
func TestSyntaxNginx(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Skipf("no nginx binary to check the cases against: %v", err)
	}
	for _, tt := range syntaxCases {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeCase(t, tt.files)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "nginx", "-t", "-c", filepath.Join(dir, "nginx.conf"), "-p", dir+"/", "-e", "stderr").CombinedOutput()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("nginx -t fails, Parse says it passes:\n%s", out)
				}
				return
			}
			if err == nil {
				t.Fatalf("nginx -t passes, Parse says %s:\n%s", tt.want, out)
			}
			pos, msg, _ := strings.Cut(tt.want, " ")
			i := strings.LastIndex(pos, ":")
			first := regexp.MustCompile(`^\[emerg\] \d+#\d+: ` + regexp.QuoteMeta(fmt.Sprintf("%s in %s%s:%s\n", msg, dir, pos[:i], pos[i+1:])))
			j := strings.Index(string(out), "[emerg]")
			if j < 0 || !first.MatchString(string(out[j:])) {
				t.Fatalf("nginx -t says:\n%s\nwant its first error to be %s in %s", out, msg, pos)
			}
		})
	}
}

// TestErrorLines checks what the syntax cases cannot: errors whose text
// names the file, and that listeners keep the first line of their
// directive while its errors move to the line of its ";".
func TestErrorLines(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		errors    []string
		listeners []int // the lines of the listeners of nginx.conf
	}{
		// nginx -t: open() ".../missing.conf" failed (2: No such file or directory) in .../nginx.conf:3
		{"include-missing", map[string]string{"nginx.conf": "events {}\ninclude\n  missing.conf;\n"},
			[]string{`/nginx.conf:3 open() "/missing.conf" failed (2: No such file or directory)`}, nil},
		// nginx -t: a duplicate default server for 127.0.0.1:80 in .../nginx.conf:6
		{"duplicate", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:80\n default_server; }\nserver { listen 127.0.0.1:80\n default_server\n; } }\n"},
			[]string{`/nginx.conf:6 a duplicate default server for 127.0.0.1:80`}, []int{2, 4}},
		{"listener-first-line", map[string]string{"nginx.conf": "events {}\nhttp { server\n{ listen\n 127.0.0.1:80\n ;\n}\nserver\n{ }\n}\n"},
			nil, []int{3, 7}},
		// Without a spanning directive nothing moves.
		{"one-line", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:99999; } }\n"},
			[]string{`/nginx.conf:2 invalid port in "127.0.0.1:99999" of the "listen" directive`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeCase(t, tt.files)
			for _, workers := range []int{1, 4} {
				cfg, err := Parse("/nginx.conf", Options{Root: parsers.Root(dir), Workers: workers})
				if err != nil {
					t.Fatal(err)
				}
				got := errorLines(cfg)
				if !reflect.DeepEqual(got, tt.errors) {
					t.Errorf("workers %d: errors\n%q\nwant\n%q", workers, got, tt.errors)
				}
				var lines []int
				for _, l := range cfg.Listeners {
					lines = append(lines, l.Pos.Line)
				}
				if !reflect.DeepEqual(lines, tt.listeners) {
					t.Errorf("workers %d: listeners at lines %v, want %v", workers, lines, tt.listeners)
				}
			}
		})
	}
}

func TestMaySpan(t *testing.T) {
	tests := []struct {
		data string
		want bool
	}{
		{"", false},
		{"events {}\nhttp {\n  server { listen 80; } # x\n\n  # comment \"\n}\n", false},
		{"server{\n}\n", false},
		{"listen 80\n;\n", true},
		{"server\n{\n}\n", true},
		{"x \"a;\nb\";\n", true},
		{"x 'a';\n", true},
		{"x a\\\n;\n", true},
		{"x a}\n;\n", true},
		{"x ${\nb};\n", true},
		{"x a # c;\n;\n", true},
		{"listen 80;", false},
		{"listen 80", true},
	}
	for _, tt := range tests {
		if got := maySpan([]byte(tt.data)); got != tt.want {
			t.Errorf("maySpan(%q) = %v, want %v", tt.data, got, tt.want)
		}
	}
}

func TestScanSpans(t *testing.T) {
	got := scanSpans([]byte("a 1; b\n2; c 3;\n\"d\"\n{ e 4; }\n# f\nf; g\n;\n"))
	want := spanLines{1: {{"a", 1}, {"b", 2}}, 3: {{"d", 4}}, 6: {{"f", 6}, {"g", 7}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scanSpans = %v, want %v", got, want)
	}
	if got := scanSpans([]byte("a 1;\nb { c 2; }\n")); got != nil {
		t.Errorf("scanSpans of one-line directives = %v, want nil", got)
	}
}
