package nginx

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// TestShardedMatchesSerial reads every golden case and the trees below with
// one worker and with several, and wants the same Config: a sharded read is
// only a faster way to the same answer.
func TestShardedMatchesSerial(t *testing.T) {
	type tree struct {
		files   map[string]string
		sharded bool // whether the sharded read must apply (not fall back)
	}
	server := func(port string) string {
		return "server { listen 127.0.0.1:" + port + "; server_name x" + port + "; }\n"
	}
	trees := map[string]tree{
		"many sites": {sharded: true, files: map[string]string{
			"nginx.conf":         "events {}\nhttp {\n include sites/*.conf;\n include extra.conf;\n}\n",
			"sites/a.conf":       server("81") + server("82") + "include nested/a.inc;\n",
			"sites/b.conf":       server("83") + "bogus_directive on;\n",
			"sites/c.conf":       "server {\n listen 127.0.0.1:84;\n include nested/c.inc;\n}\n",
			"sites/d.conf":       server("85") + "include missing.conf;\n",
			"extra.conf":         server("86") + "listen 127.0.0.1:1;\n",
			"nested/a.inc":       server("87"),
			"nested/c.inc":       "listen 127.0.0.1:88;\nlocation / { listen 127.0.0.1:89; }\n",
			"sites/.hidden.conf": server("90"),
			"sites/e.conf":       "stream {}\n",
			"sites/f.conf":       "server { listen [::1]:91 ipv6only=on; listen unix:/run/x.sock; }\n",
			"sites/g.conf":       "server { listen 127.0.0.1:92 default_server; }\nserver { listen 127.0.0.1:92 default_server; }\n",
			"sites/h.conf":       "server { listen 127.0.0.1:93; listen 127.0.0.1:93; }\n",
			"sites/i.conf":       "server { listen 127.0.0.1:94 \"unterminated; }\n",
			"sites/j.conf":       "server {\n",
			"sites/k.conf":       "}\n",
		}},
		// a.conf and c.conf are the biggest, so they go to different
		// workers, and one parse would read shared.conf in http.
		"one file from two shards": {files: map[string]string{
			"nginx.conf":  "events {}\nhttp {\n include a.conf;\n include b.conf;\n include c.conf;\n}\n",
			"a.conf":      "include shared.conf;\n" + strings.Repeat("# padding\n", 20),
			"b.conf":      server("81"),
			"c.conf":      "server {\n include shared.conf;\n}\n" + strings.Repeat("# padding\n", 20),
			"shared.conf": "listen 127.0.0.1:82;\n",
		}},
		"glob from two shards": {files: map[string]string{
			"nginx.conf":   "events {}\nhttp {\n include a.conf;\n include b.conf;\n}\n",
			"a.conf":       "server { listen 127.0.0.1:81; include nested/*.inc; }\n",
			"b.conf":       "server { listen 127.0.0.1:82; include nested/*.inc; }\n",
			"nested/x.inc": "listen 127.0.0.1:83;\n",
		}},
		"cycle across shards": {files: map[string]string{
			"nginx.conf": "events {}\nhttp {\n include a.conf;\n include b.conf;\n include c.conf;\n}\n",
			"a.conf":     server("81") + "include b.conf;\n",
			"b.conf":     server("82") + "include a.conf;\n",
			"c.conf":     server("83"),
		}},
		// Small files are read serially: a shard would pay for every
		// file and parse next to nothing.
		"small files": {files: map[string]string{
			"nginx.conf": "events {}\nhttp {\n include a.conf;\n include b.conf;\n include c.conf;\n}\n",
			"a.conf":     server("81"),
			"b.conf":     server("82"),
			"c.conf":     server("83"),
		}},
		"direct include also nested": {sharded: true, files: map[string]string{
			"nginx.conf": "events {}\nhttp {\n include a.conf;\n include b.conf;\n include c.conf;\n}\n",
			"a.conf":     server("81") + "include b.conf;\n",
			"b.conf":     server("82"),
			"c.conf":     server("83"),
		}},
	}
	for name, tr := range trees {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for p, body := range tr.files {
				full := filepath.Join(dir, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if tr.sharded && p != "nginx.conf" {
					// Big enough on average to be worth a sharded read.
					body += strings.Repeat("# padding\n", 30)
				}
				if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			root := parsers.Root(dir)
			if _, _, ok := parseSharded("/nginx.conf", newFiles(root), 2); ok != tr.sharded {
				t.Errorf("sharded read applies: %v, want %v", ok, tr.sharded)
			}
			compareWorkers(t, "/nginx.conf", Options{Root: root})
		})
	}
	dirs, err := filepath.Glob(filepath.Join(testdata, "*", "nginx.conf"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases in %s: %v", testdata, err)
	}
	for _, conf := range dirs {
		t.Run(filepath.Base(filepath.Dir(conf)), func(t *testing.T) {
			compareWorkers(t, "/nginx.conf", caseOptions(t, filepath.Dir(conf)))
		})
	}
}

func compareWorkers(t *testing.T, path string, opts Options) {
	t.Helper()
	opts.Workers = 1
	want, err := Parse(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Listeners) == 0 && len(want.Errors) == 0 {
		t.Fatal("nothing read: the case tests nothing")
	}
	for _, workers := range []int{2, 3, 8} {
		opts.Workers = workers
		got, err := Parse(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d workers read something else than one:\n got %s\nwant %s", workers, summary(got), summary(want))
		}
	}
}

func summary(c *parsers.Config) string {
	var b strings.Builder
	for _, f := range c.Files {
		b.WriteString("\n  file " + f)
	}
	for _, l := range c.Listeners {
		b.WriteString("\n  listen " + l.Raw + " " + l.Pos.String())
	}
	for _, e := range c.Errors {
		b.WriteString("\n  error " + e.Error())
	}
	return b.String()
}
