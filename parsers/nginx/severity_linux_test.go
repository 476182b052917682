package nginx

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// severityRows are nginx configs, one per kind of problem the parser
// reports, and some nginx only warns about. Whether nginx refuses each is
// not written here: the test asks nginx -t. %s is the stream module's
// load_module line where a row needs it.
var severityRows = []struct {
	name  string
	files map[string]string
	// gap marks a row nginx refuses where lbdoctor reports nothing, a
	// known false negative left for the parser (the row fails once lbdoctor
	// reports it, so that the mark goes).
	gap string
}{
	{"clean", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:18080; } }\n"}, ""},
	{"listen invalid port", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:99999; } }\n"}, ""},
	{"listen unknown parameter", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:18080 bogus_option; } }\n"}, ""},
	{"listen options twice", map[string]string{"nginx.conf": "events {}\nhttp {\n server { listen 127.0.0.1:18080 backlog=10; }\n server { listen 127.0.0.1:18080 backlog=20; }\n}\n"}, ""},
	{"directive in the wrong context", map[string]string{"nginx.conf": "events {}\nhttp { worker_connections 10; server { listen 127.0.0.1:18080; } }\n"}, ""},
	{"unknown directive", map[string]string{"nginx.conf": "events {}\nhttp { frobnicate on; server { listen 127.0.0.1:18080; } }\n"},
		"lbdoctor does not report a directive it does not know inside http{}: a third-party module's directive would become a false error"},
	{"no events block", map[string]string{"nginx.conf": "http { server { listen 127.0.0.1:18080; } }\n"}, ""},
	{"missing include", map[string]string{"nginx.conf": "events {}\nhttp { include missing.conf; }\n"}, ""},
	{"include matching nothing", map[string]string{"nginx.conf": "events {}\nhttp { include conf.d/*.conf; server { listen 127.0.0.1:18080; } }\n"}, ""},
	{"include cycle", map[string]string{"nginx.conf": "events {}\ninclude a.conf;\n", "a.conf": "include nginx.conf;\n"}, ""},
	{"too few worker_connections", map[string]string{"nginx.conf": "events { worker_connections 2; }\nhttp {\n server { listen 127.0.0.1:18081; }\n server { listen 127.0.0.1:18082; }\n server { listen 127.0.0.1:18083; }\n}\n"}, ""},
	{"unterminated block", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:18080; }\n"}, ""},
	{"stream server without listen", map[string]string{"nginx.conf": "%s\nevents {}\nstream { server { proxy_pass 127.0.0.1:1; } }\n"}, ""},
	{"unknown variable", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:18080; return 200 $nosuchvar; } }\n"},
		"variables are checked only where lbdoctor reads them (listen, include)"},
	// nginx warns about these and starts: lbdoctor must not call them errors.
	{"warn: conflicting server name", map[string]string{"nginx.conf": "events {}\nhttp {\n server { listen 127.0.0.1:18080; server_name a.example; }\n server { listen 127.0.0.1:18080; server_name a.example; }\n}\n"}, ""},
	{"warn: meaningless address bits", map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:18080; allow 10.0.0.1/8; } }\n"}, ""},
	{"warn: duplicate MIME type", map[string]string{"nginx.conf": "events {}\nhttp { gzip_types text/html; server { listen 127.0.0.1:18080; } }\n"}, ""},
}

// TestSeverityMatchesNginx holds lbdoctor's verdict on each row to nginx
// -t's: a config error (LBD001) exactly where nginx -t fails. nginx -t
// binds the listen sockets, so it runs in a network namespace of its own
// (unshare -n) with lo up.
func TestSeverityMatchesNginx(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skipf("nginx is not installed: no daemon to hold the severities to: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: nginx -t binds the listen sockets, so it runs in a network namespace of its own")
	}
	load := ""
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_stream_module.so"); err == nil {
		load = "load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
	}
	for _, r := range severityRows {
		t.Run(r.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range r.files {
				if strings.Contains(v, "%s") {
					if load == "" {
						t.Skip("no stream module to load")
					}
					v = strings.Replace(v, "%s", load, 1)
				}
				files[k] = v
			}
			dir := writeCase(t, files)
			if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
				t.Fatal(err)
			}
			main := filepath.Join(dir, "nginx.conf")
			cfg, err := Parse(main, Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "unshare", "-n", "sh", "-c", `ip link set lo up && exec "$0" -t -c "$1" -p "$2/" -e stderr -g "pid $2/nginx.pid;"`, bin, main, dir)
			out, runErr := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("nginx -t did not finish: %v", ctx.Err())
			}
			refused := runErr != nil
			t.Logf("nginx -t refuses: %v; lbdoctor: %d errors, %d warnings", refused, len(cfg.Errors), len(cfg.DaemonWarnings)+len(cfg.Warnings))
			if r.gap != "" {
				if !refused || len(cfg.Errors) > 0 {
					t.Errorf("known gap %q no longer holds: nginx -t refuses=%v, lbdoctor's errors %v (remove the mark)\n%s", r.gap, refused, cfg.Errors, out)
				}
				t.Logf("known gap: nginx -t refuses, lbdoctor says nothing: %s", r.gap)
				return
			}
			if refused != (len(cfg.Errors) > 0) {
				t.Errorf("nginx -t refuses=%v, lbdoctor's config errors: %v\n%s", refused, cfg.Errors, out)
			}
			if strings.HasPrefix(r.name, "warn:") && !strings.Contains(string(out), "[warn]") {
				t.Errorf("nginx -t does not warn about this row:\n%s", out)
			}
		})
	}
}
