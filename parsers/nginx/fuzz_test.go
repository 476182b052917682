package nginx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// FuzzParse feeds arbitrary main configs, next to a file they may include,
// and wants no panic, no hang, and positions that name files that were read.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(testdata, "*", "*.conf"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	f.Add("http { include inc.conf; include inc.conf; include nginx.conf; }")
	f.Fuzz(func(t *testing.T, conf string) {
		dir := t.TempDir()
		write := func(name, data string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("nginx.conf", conf)
		write("inc.conf", "server { listen 10.0.0.1:80; listen [::]:80 ipv6only=off; }\ninclude inc2.conf;\n")
		write("inc2.conf", "server { server_name x; }\n")
		cfg, err := Parse("/nginx.conf", Options{Root: parsers.Root(dir)})
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		read := map[string]bool{}
		for _, name := range cfg.Files {
			read[name] = true
		}
		for _, l := range cfg.Listeners {
			if !read[l.Pos.File] || l.Pos.Line < 1 {
				t.Errorf("listener at %v, files read %v", l.Pos, cfg.Files)
			}
			if l.Port < 0 || l.Port > 65535 {
				t.Errorf("listener %v: port %d", l.Pos, l.Port)
			}
		}
		for _, e := range cfg.Errors {
			if e.Pos.File == "" || e.Msg == "" {
				t.Errorf("error without place or message: %#v", e)
			}
		}
	})
}

// BenchmarkParse reads a generated config of 2,000 included files holding
// 10,000 server blocks with 20,000 listens.
func BenchmarkParse(b *testing.B) {
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sites-enabled"), 0o755); err != nil {
		b.Fatal(err)
	}
	main := "events { worker_connections 30000; }\nhttp {\n    include sites-enabled/*.conf;\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 2000; i++ {
		var sb strings.Builder
		for j := 0; j < 5; j++ {
			n := i*5 + j
			fmt.Fprintf(&sb, "server {\n    listen 10.%d.%d.%d:80;\n    listen [2001:db8::%x]:443 ssl;\n    server_name s%d.example;\n    location / { proxy_pass http://127.0.0.1:8080; }\n}\n",
				n>>16, (n>>8)&255, n&255, n, n)
		}
		if err := os.WriteFile(filepath.Join(dir, "sites-enabled", fmt.Sprintf("site%04d.conf", i)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg, err := Parse("/nginx.conf", Options{Root: parsers.Root(dir)})
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Listeners) != 20000 || len(cfg.Errors) != 0 {
			b.Fatalf("%d listeners, errors %v", len(cfg.Listeners), cfg.Errors[:min(3, len(cfg.Errors))])
		}
	}
}
