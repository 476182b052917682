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
				var got []string
				for _, e := range cfg.Errors {
					got = append(got, fmt.Sprintf("%s:%d %s", e.Pos.File, e.Pos.Line, e.Msg))
				}
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
