//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// Hostile inputs: every reader lbdoctor has (the three config parsers, the
// host snapshot, .lbdoctor.yaml) fed what a broken disk, a careless
// template or an attacker would give it. Each case runs the real binary (the
// test binary, which TestMain turns into lbdoctor) as a subprocess, so that
// a panic, a hang or a memory blow-up is caught and measured on its own:
// the exit code, the findings with file and line, the wall time and the
// peak RSS are all asserted.

// want is one expected finding of a case, in report order.
type want struct {
	id  string // "LBD001"
	pos string // "nginx.conf:2", or "nginx.conf" for a finding without a line
	msg string // regexp the message must match
}

// hostileCase is one hostile input.
type hostileCase struct {
	name string
	// files are written into the case's directory, which is also the
	// working directory lbdoctor runs in; setup makes what cannot be
	// written as text (big, generated, special files).
	files map[string]string
	setup func(t *testing.T, env *hostileEnv, dir string)
	// args follow "check --host SNAPSHOT"; with raw, they are all of
	// lbdoctor's arguments.
	args []string
	raw  bool
	code int
	// findings are the exact findings of the JSON report, in order; with
	// atLeast, only the first ones are given and count is their number.
	findings []want
	count    int
	// listeners are "ADDR:PORT FILE:LINE" of every listener reported.
	listeners []string
	stderr    string // regexp stderr must match (exit 2)
	nobody    bool   // run as uid/gid 65534: what an unprivileged user gets
	maxTime   time.Duration
	maxRSS    int64 // MB
	// bug marks a case lbdoctor gets wrong today, in a package this suite
	// may not fix: the case still runs (a panic or a hang still fails),
	// but the wrong outcome skips it with this text. A bug case that
	// passes fails, so that the mark is removed.
	bug string
	// noRun: running the case today would hurt the machine (it reads
	// /dev/zero until memory runs out); it is skipped as a known bug.
	noRun bool
	// once skips the extra runs in the other output formats (big inputs).
	once bool
}

const (
	defaultMaxTime = 10 * time.Second
	defaultMaxRSS  = 128 // MB
	nobodyID       = 65534
	bigSize        = 200 << 20
)

func hostileCases() []hostileCase {
	nginxOK := "events {}\nhttp { server { listen 127.0.0.1:80; } }\n"
	kaOK := "vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    10.0.0.100\n  }\n}\n"
	hapOK := "frontend fe\n  mode tcp\n  bind 127.0.0.1:80\n"
	return []hostileCase{
		// Empty files.
		{name: "nginx/empty", files: map[string]string{"nginx.conf": ""}, args: []string{"--nginx", "nginx.conf"},
			code: 1, findings: []want{{"LBD001", "nginx.conf", `no "events" section in configuration`}}},
		{name: "haproxy/empty", files: map[string]string{"haproxy.cfg": ""}, args: []string{"--haproxy", "haproxy.cfg"}, code: 0},
		{name: "keepalived/empty", files: map[string]string{"keepalived.conf": ""}, args: []string{"--keepalived", "keepalived.conf"}, code: 0},
		{name: "snapshot/empty", files: map[string]string{"host.yaml": "", "keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host.yaml: empty host snapshot`},
		{name: "lbdoctor.yaml/empty", files: map[string]string{".lbdoctor.yaml": "", "keepalived.conf": kaOK}, args: []string{"--keepalived", "keepalived.conf"}, code: 0},

		// Binary data: a config is not a program, nor an image.
		{name: "nginx/binary", setup: binary("nginx.conf"), args: []string{"--nginx", "nginx.conf"},
			code: 1, findings: []want{{"LBD001", "nginx.conf:1", `^unknown directive "\x7fELF`}},
			bug: `parsers/nginx: a binary nginx.conf gets "premature end of file" at line 1; nginx -t says [emerg] unknown directive "\x7fELF..." in nginx.conf:1 (crossplane's first error is not nginx's)`},
		{name: "haproxy/binary", setup: binary("haproxy.cfg"), args: []string{"--haproxy", "haproxy.cfg"},
			code: 1, findings: []want{{"LBD001", "haproxy.cfg:1", "^unknown keyword '\x7fELF\x02\x01\x01' out of section\\.$"}, {"LBD001", "haproxy.cfg:1", `^Stray NUL character at position 8\.$`}}},
		{name: "keepalived/binary", setup: binary("keepalived.conf"), args: []string{"--keepalived", "keepalived.conf"},
			code: 0, count: 171, findings: []want{{"LBD005", "keepalived.conf:1", `^line has embedded NUL characters, keepalived ignores it$`}, {"LBD005", "keepalived.conf:2", `^line has embedded NUL`}, {"LBD005", "keepalived.conf:3", `^Unknown keyword '`}, {"LBD005", "keepalived.conf:4", `^Unterminated quote '`}}},
		{name: "snapshot/binary", setup: binary("host.yaml"), files: map[string]string{"keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host.yaml`},
		{name: "lbdoctor.yaml/binary", setup: binary(".lbdoctor.yaml"), files: map[string]string{"keepalived.conf": kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 2, stderr: `\.lbdoctor\.yaml`},

		// NUL bytes inside otherwise good configs.
		{name: "nginx/nul", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:80\x00; } }\n"}, args: []string{"--nginx", "nginx.conf"},
			code: 1, findings: []want{{"LBD001", "nginx.conf:2", `^invalid port in "127\.0\.0\.1:80\x00" of the "listen" directive$`}}},
		{name: "haproxy/nul", files: map[string]string{"haproxy.cfg": "frontend fe\n  mode tcp\n  bind 127.0.0.1:80\x00 \n"}, args: []string{"--haproxy", "haproxy.cfg"},
			code: 1, findings: []want{{"LBD001", "haproxy.cfg:3", `NUL|LF`}}},
		{name: "keepalived/nul", files: map[string]string{"keepalived.conf": "vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    10.0.0.100\x00\n    10.0.0.101\n  }\n}\n"},
			args: []string{"--keepalived", "keepalived.conf"},
			code: 0, findings: []want{{"LBD005", "keepalived.conf:4", `^line has embedded NUL characters, keepalived ignores it$`}}},

		// Invalid UTF-8 in what ends up in messages.
		{name: "nginx/invalid-utf8", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:8\xff\xfe; } }\n"}, args: []string{"--nginx", "nginx.conf"},
			code: 1, findings: []want{{"LBD001", "nginx.conf:2", "^invalid port in \"127\\.0\\.0\\.1:8\xff\xfe\" of the \"listen\" directive$"}}},
		{name: "haproxy/invalid-utf8", files: map[string]string{"haproxy.cfg": "frontend fe\xff\n  mode tcp\n  bind \xff\xfe:80\n"}, args: []string{"--haproxy", "haproxy.cfg"},
			code: 1, findings: []want{{"LBD001", "haproxy.cfg:3", "invalid address: '\xff\xfe' in '\xff\xfe:80'"}}},
		{name: "keepalived/invalid-utf8", files: map[string]string{"keepalived.conf": "vrrp_instance VI_\xff {\n  interface eth0\n  virtual_ipaddress {\n    10.0.0.\xff\n    10.0.0.100\n  }\n}\n"},
			args: []string{"--keepalived", "keepalived.conf"},
			code: 0, findings: []want{{"LBD005", "keepalived.conf:4", "^VRRP parsed invalid IP 10\\.0\\.0\\.\xff\\. skipping IP\\.\\.\\.$"}}},

		// 200 MB files: comment padding, then the config. Read once, in
		// bounded time and memory, with the right line numbers at the end.
		{name: "nginx/200MB", setup: padded("nginx.conf", "events {}\n", "http { server { listen 127.0.0.1:80; } }\n"), args: []string{"--nginx", "nginx.conf"},
			code: 0, listeners: []string{"127.0.0.1:80 nginx.conf:2097154"}, maxTime: 30 * time.Second, maxRSS: 320, once: true},
		{name: "haproxy/200MB", setup: padded("haproxy.cfg", "", "frontend fe\n  mode tcp\n  bind 127.0.0.1:80\n"), args: []string{"--haproxy", "haproxy.cfg"},
			code: 0, listeners: []string{"127.0.0.1:80 haproxy.cfg:2097155"}, maxTime: 30 * time.Second, maxRSS: 320, once: true},
		{name: "keepalived/200MB", setup: padded("keepalived.conf", "", kaOK), args: []string{"--keepalived", "keepalived.conf"},
			code: 0, maxTime: 30 * time.Second, maxRSS: 320, once: true},
		{name: "snapshot/200MB", setup: padded("host.yaml", "", "hostname: big\n"), files: map[string]string{"keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host\.yaml: host snapshot is larger than 67108864 bytes`, maxRSS: 200, once: true},
		{name: "keepalived/sparse-1GB", setup: sparse("keepalived.conf", 1<<30), args: []string{"--keepalived", "keepalived.conf"},
			code: 2, stderr: `keepalived\.conf: file is 1073741824 bytes, larger than the 536870912 lbdoctor reads`, once: true},
		{name: "nginx/sparse-64GB", setup: sparse("nginx.conf", 64<<30), args: []string{"--nginx", "nginx.conf"}, code: 2, stderr: `nginx\.conf: larger than`},
		{name: "haproxy/sparse-64GB", setup: sparse("haproxy.cfg", 64<<30), args: []string{"--haproxy", "haproxy.cfg"}, code: 2, stderr: `haproxy\.cfg: larger than`},

		// One 1 MB line.
		{name: "nginx/1MB-line", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:80; server_name " + strings.Repeat("a", 1<<20) + "; } }\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:2", `^too long parameter "a+\.\.\." started$`}}},
		{name: "haproxy/1MB-line", files: map[string]string{"haproxy.cfg": hapOK + "  # " + strings.Repeat("a", 1<<20) + "\n"},
			args: []string{"--haproxy", "haproxy.cfg"}, code: 0, listeners: []string{"127.0.0.1:80 haproxy.cfg:3"}},
		{name: "keepalived/1MB-line", files: map[string]string{"keepalived.conf": "vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    10.0.0.100 label " + strings.Repeat("a", 1<<20) + "\n  }\n}\n"},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0,
			findings: []want{{"LBD005", "keepalived.conf:4", `^Address label a+ is longer than maximum length 15 - removing address$`}}},

		// 10,000 nested blocks.
		{name: "nginx/10000-nested-locations", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:80;\n" + strings.Repeat("location / {\n", 10000) + strings.Repeat("}\n", 10000) + "} }\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 0, listeners: []string{"127.0.0.1:80 nginx.conf:2"}},
		{name: "keepalived/10000-nested-blocks", files: map[string]string{"keepalived.conf": "vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    10.0.0.100\n  }\n" + strings.Repeat("x {\n", 10000) + strings.Repeat("}\n", 10000) + "}\n"},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0},
		{name: "haproxy/10000-braces", files: map[string]string{"haproxy.cfg": hapOK + strings.Repeat("  {\n", 10000)},
			args: []string{"--haproxy", "haproxy.cfg"}, code: 1, count: 51, findings: []want{{"LBD001", "haproxy.cfg:4", `unknown keyword '\{' in 'frontend' section`}}},

		// Unterminated quotes, braces, blocks; stray braces.
		{name: "nginx/unterminated-quote", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen \"127.0.0.1:80;\n}}\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:4", `^unexpected end of file, expecting ";" or "}"$`}}},
		{name: "nginx/unterminated-brace", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:80;\n  location / {\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:4", `^unexpected end of file, expecting "}"$`}}},
		{name: "nginx/stray-brace", files: map[string]string{"nginx.conf": "events {}\n}\n" + nginxOK},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:2", `^unexpected "}"$`}}},
		{name: "haproxy/unterminated-quote", files: map[string]string{"haproxy.cfg": "frontend fe\n  mode tcp\n  bind \"127.0.0.1:80\n"},
			args: []string{"--haproxy", "haproxy.cfg"}, code: 1, findings: []want{{"LBD001", "haproxy.cfg:3", `unmatched quote`}}},
		{name: "keepalived/unterminated-quote", files: map[string]string{"keepalived.conf": "vrrp_instance \"VI_1 {\n  interface eth0\n}\n"},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0, findings: []want{{"LBD005", "keepalived.conf:1", `^Unterminated quote 'vrrp_instance "VI_1 \{'$`}, {"LBD005", "keepalived.conf:1", `^vrrp_instance must have a name$`}, {"LBD005", "keepalived.conf:2", `^Unknown keyword 'interface'$`}, {"LBD005", "keepalived.conf:3", `^Extra '}' found$`}}},
		{name: "keepalived/unterminated-block", files: map[string]string{"keepalived.conf": "vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    10.0.0.100\n"},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0,
			findings: []want{{"LBD005", "keepalived.conf:3", `^virtual_ipaddress block opened here is never closed \(2 '}' missing at end of configuration\)$`}}},
		{name: "keepalived/100000-stray-braces", files: map[string]string{"keepalived.conf": kaOK + strings.Repeat("}\n", 100000)},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0, count: 1001,
			findings: []want{{"LBD005", "keepalived.conf:7", `^Extra '}' found$`}, {"LBD005", "keepalived.conf:8", `^Extra '}' found$`}}},

		// Includes that never end.
		{name: "nginx/include-self", files: map[string]string{"nginx.conf": "events {}\ninclude nginx.conf;\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:2", `^include cycle: "nginx\.conf" is already being read$`}}},
		{name: "nginx/include-cycle-of-3", files: map[string]string{"nginx.conf": "events {}\ninclude b.conf;\n", "b.conf": "include c.conf;\n", "c.conf": "include nginx.conf;\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "c.conf:1", `^include cycle: "nginx\.conf" is already being read$`}}},
		{name: "keepalived/include-self", files: map[string]string{"keepalived.conf": "include keepalived.conf\n" + kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0,
			findings: []want{{"LBD005", "keepalived.conf:1", `^include cycle: keepalived\.conf is already being read, keepalived reads it again until it runs out of file descriptors$`}}},
		{name: "keepalived/include-cycle-of-3", files: map[string]string{"keepalived.conf": "include b.conf\n" + kaOK, "b.conf": "include c.conf\n", "c.conf": "include keepalived.conf\n"},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0,
			findings: []want{{"LBD005", "c.conf:1", `^include cycle: keepalived\.conf is already being read, keepalived reads it again until it runs out of file descriptors$`}}},
		// Includes that fan out: three self-includes a level grow by 3^depth
		// unless the parse ends at the first loop, as the daemons do.
		{name: "apache/include-fan-out", files: map[string]string{"apache2.conf": strings.Repeat("Include apache2.conf\n", 3)},
			args: []string{"--apache", "apache2.conf"}, code: 1,
			findings: []want{{"LBD001", "apache2.conf:1", `^Exceeded maximum include depth of 128, There appears to be a recursion\.$`}}},
		{name: "postgresql/include-fan-out", files: map[string]string{"postgresql.conf": "unix_socket_directories = ''\ninclude 'a.conf'\n",
			"a.conf": strings.Repeat("include 'b.conf'\n", 3), "b.conf": strings.Repeat("include 'a.conf'\n", 3)},
			args: []string{"--postgresql", "postgresql.conf"}, code: 1,
			findings: []want{{"LBD001", "b.conf:1", `^could not open configuration file "a\.conf": maximum nesting depth exceeded$`}}},
		{name: "redis/include-fan-out", setup: func(t *testing.T, _ *hostileEnv, dir string) {
			conf := filepath.Join(dir, "redis.conf")
			if err := os.WriteFile(conf, []byte("bind 127.0.0.1\n"+strings.Repeat("include "+conf+"\n", 3)), 0o644); err != nil {
				t.Fatal(err)
			}
		}, args: []string{"--redis", "redis.conf"}, code: 1, count: 1},
		// YAML that expands (aliases of aliases) or nests without end: the
		// Envoy parser walks the node tree, never the expansion.
		{name: "envoy/alias-bomb", files: map[string]string{"envoy.yaml": envoyAliasBomb()},
			args: []string{"--envoy", "envoy.yaml"}, code: 0, listeners: []string{"127.0.0.1:8080 envoy.yaml:14"}},
		{name: "envoy/100000-nested-lists", files: map[string]string{"envoy.yaml": "static_resources: {listeners: " + strings.Repeat("[", 100000) + "\n"},
			args: []string{"--envoy", "envoy.yaml"}, code: 1, findings: []want{{"LBD001", "envoy.yaml:1", `^unable to parse YAML: .*exceeded max depth`}}},
		// A socket unit with 10,000 listens, each a continued line.
		{name: "systemd-socket/10000-listens", files: map[string]string{"web.socket": "[Socket]\n" + strings.Repeat("ListenStream=\\\n 127.0.0.1:8080\n", 10000)},
			args: []string{"--systemd-socket", "web.socket"}, code: 1, count: 9999, once: true,
			findings: []want{{"LBD202", "web.socket:4", `^systemd-socket would fail: Failed to create listening socket \(127\.0\.0\.1:8080\): Address already in use$`}}},
		{name: "keepalived/include-brace-bomb", files: map[string]string{"keepalived.conf": "include " + strings.Repeat("{a,b}", 40) + "\n" + kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0},

		// Symlink loops.
		{name: "nginx/main-symlink-loop", setup: symlinkLoop, args: []string{"--nginx", "loop1"},
			code: 2, stderr: `--nginx loop1: .*too many levels of symbolic links`},
		{name: "nginx/include-symlink-loop", setup: symlinkLoop, files: map[string]string{"nginx.conf": "events {}\ninclude loop1;\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:2", `^open\(\) "loop1" failed \(40: Too many levels of symbolic links\)$`}}},
		{name: "keepalived/includem-symlink-loop", setup: symlinkLoop, files: map[string]string{"keepalived.conf": "includem loop1\n" + kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 1,
			findings: []want{{"LBD001", "keepalived.conf:1", `^configuration file 'loop1' is not a regular non-executable file, which includem does not allow$`}}},
		{name: "haproxy/dir-with-symlink-loop", setup: func(t *testing.T, env *hostileEnv, dir string) {
			symlinkLoop(t, env, dir)
			makeDir(t, filepath.Join(dir, "conf.d"))
			putFile(t, filepath.Join(dir, "conf.d", "a.cfg"), hapOK)
			if err := os.Symlink("../loop1", filepath.Join(dir, "conf.d", "b.cfg")); err != nil {
				t.Fatal(err)
			}
		}, args: []string{"--haproxy", "conf.d"}, code: 2, stderr: `conf\.d/b\.cfg: too many levels of symbolic links`},

		// A glob matching 100,000 files.
		{name: "nginx/glob-100000", files: map[string]string{"nginx.conf": "events {}\nhttp { include " + glob100k + "; server { listen 127.0.0.1:80; } }\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 0, listeners: []string{"127.0.0.1:80 nginx.conf:2"}, maxTime: 20 * time.Second, maxRSS: 400, once: true},
		{name: "keepalived/glob-100000", files: map[string]string{"keepalived.conf": "include " + glob100k + "\n" + kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0, maxTime: 20 * time.Second, once: true},
		{name: "haproxy/dir-of-100000", setup: func(t *testing.T, env *hostileEnv, dir string) {
			if err := os.Symlink(env.many(t), filepath.Join(dir, "conf.d")); err != nil {
				t.Fatal(err)
			}
		}, args: []string{"--haproxy", "conf.d"}, code: 0, maxTime: 20 * time.Second, once: true},

		// Unreadable files, as an unprivileged user (root reads anything).
		{name: "nginx/unreadable-main", setup: secret("nginx.conf", nginxOK), args: []string{"--nginx", "nginx.conf"}, nobody: true,
			code: 2, stderr: `nginx\.conf: permission denied`},
		{name: "nginx/unreadable-include", setup: secret("secret.conf", "http { server { listen 127.0.0.1:81; } }\n"), files: map[string]string{"nginx.conf": "events {}\ninclude secret.conf;\n"},
			args: []string{"--nginx", "nginx.conf"}, nobody: true,
			code: 1, findings: []want{{"LBD001", "nginx.conf:2", `^open\(\) "secret\.conf" failed \(13: Permission denied\)$`}}},
		{name: "haproxy/unreadable-main", setup: secret("haproxy.cfg", hapOK), args: []string{"--haproxy", "haproxy.cfg"}, nobody: true,
			code: 2, stderr: `haproxy\.cfg: .*permission denied`},
		{name: "keepalived/unreadable-main", setup: secret("keepalived.conf", kaOK), args: []string{"--keepalived", "keepalived.conf"}, nobody: true,
			code: 2, stderr: `keepalived\.conf: .*permission denied`},
		{name: "keepalived/unreadable-include", setup: secret("secret.conf", kaOK), files: map[string]string{"keepalived.conf": "include secret.conf\n"},
			args: []string{"--keepalived", "keepalived.conf"}, nobody: true,
			code: 0, findings: []want{{"LBD005", "keepalived.conf:1", `^cannot read included file secret\.conf: permission denied$`}}},
		{name: "snapshot/unreadable", setup: secret("host.yaml", "hostname: x\n"), files: map[string]string{"keepalived.conf": kaOK}, raw: true, nobody: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host\.yaml: permission denied`},
		{name: "lbdoctor.yaml/unreadable", setup: secret(".lbdoctor.yaml", "role: backup\n"), files: map[string]string{"keepalived.conf": kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, nobody: true, code: 2, stderr: `\.lbdoctor\.yaml: permission denied`},

		// A directory, a FIFO or a device where a file is expected.
		{name: "nginx/main-is-dir", setup: mkdirCase("conf"), args: []string{"--nginx", "conf"}, code: 2, stderr: `conf: not a regular file`},
		{name: "nginx/include-is-dir", setup: mkdirCase("sub"), files: map[string]string{"nginx.conf": "events {}\ninclude sub;\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:2", `Is a directory`}}},
		{name: "haproxy/main-is-empty-dir", setup: mkdirCase("conf.d"), args: []string{"--haproxy", "conf.d"}, code: 0},
		{name: "keepalived/main-is-dir", setup: mkdirCase("conf"), args: []string{"--keepalived", "conf"}, code: 2, stderr: `conf: not a regular file \(d`},
		{name: "keepalived/includem-dir", setup: mkdirCase("sub"), files: map[string]string{"keepalived.conf": "includem sub\n" + kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 1,
			findings: []want{{"LBD001", "keepalived.conf:1", `^configuration file 'sub' is not a regular non-executable file, which includem does not allow$`}}},
		{name: "snapshot/is-dir", setup: mkdirCase("host.yaml"), files: map[string]string{"keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host\.yaml: .*is a directory`},
		{name: "lbdoctor.yaml/is-dir", setup: mkdirCase(".lbdoctor.yaml"), files: map[string]string{"keepalived.conf": kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 2, stderr: `is a directory`},
		{name: "nginx/main-is-fifo", setup: fifo("nginx.conf"), args: []string{"--nginx", "nginx.conf"}, code: 2, stderr: `not a regular file`},
		{name: "keepalived/main-is-fifo", setup: fifo("keepalived.conf"), args: []string{"--keepalived", "keepalived.conf"}, code: 2, stderr: `not a regular file \(p`},
		{name: "haproxy/main-is-fifo", setup: fifo("haproxy.cfg"), args: []string{"--haproxy", "haproxy.cfg"}, code: 2, stderr: `haproxy\.cfg`, maxTime: 3 * time.Second},
		{name: "snapshot/is-fifo", setup: fifo("host.yaml"), files: map[string]string{"keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host\.yaml: empty host snapshot`},
		{name: "keepalived/main-is-dev-zero", args: []string{"--keepalived", "/dev/zero"}, code: 2, stderr: `/dev/zero: not a regular file \(D`},
		{name: "haproxy/main-is-dev-zero", args: []string{"--haproxy", "/dev/zero"}, code: 2, stderr: `/dev/zero: not a regular file`},
		{name: "snapshot/is-dev-zero", files: map[string]string{"keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "/dev/zero", "--keepalived", "keepalived.conf"}, code: 2, stderr: `/dev/zero: host snapshot is larger than`, maxRSS: 200},

		// Missing includes and undefined variables.
		{name: "nginx/missing-include", files: map[string]string{"nginx.conf": "events {}\ninclude missing.conf;\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:2", `^open\(\) "missing\.conf" failed \(2: No such file or directory\)$`}}},
		{name: "keepalived/missing-include", files: map[string]string{"keepalived.conf": "include missing.conf\n" + kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0},
		{name: "keepalived/missing-includem", files: map[string]string{"keepalived.conf": "includem missing.conf\n" + kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 1, findings: []want{{"LBD001", "keepalived.conf:1", `^Config files missing 'missing\.conf'\.$`}}},
		{name: "nginx/undefined-variable", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:80; return 200 $nosuchvar; } }\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:2", `^unknown "nosuchvar" variable$`}},
			bug: `parsers/nginx: a reference to an undefined variable passes; nginx -t fails with [emerg] unknown "nosuchvar" variable (report it at the directive's line)`},
		{name: "haproxy/undefined-env", files: map[string]string{"haproxy.cfg": "frontend fe\n  mode tcp\n  bind \"${LBD_HOSTILE_UNDEFINED}:80\"\n"},
			args: []string{"--haproxy", "haproxy.cfg"}, code: 0, listeners: []string{"0.0.0.0:80 haproxy.cfg:3"},
			findings: []want{{"LBD105", "haproxy.cfg:3", `^haproxy binds 0\.0\.0\.0:80 because LBD_HOSTILE_UNDEFINED expanded to nothing$`}}},
		{name: "keepalived/undefined-variable", files: map[string]string{"keepalived.conf": "vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    $NOSUCHVIP\n  }\n}\n"},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0, findings: []want{{"LBD005", "keepalived.conf:4", `^VRRP parsed invalid IP \$NOSUCHVIP\. skipping IP\.\.\.$`}}},
		{name: "keepalived/self-referencing-variable", files: map[string]string{"keepalived.conf": "$A=$A $A\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    $A\n  }\n}\n"},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0, findings: []want{{"LBD006", "keepalived.conf:5", `^parameter substitution does not terminate, lbdoctor skips this line$`}}},

		// keepalived sequences that would expand to millions of lines.
		{name: "keepalived/seq-3-million", files: map[string]string{"keepalived.conf": "vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    ~SEQ(i, 1, 3000000) 10.0.0.$i\n  }\n}\n"},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0,
			findings: []want{{"LBD006", "keepalived.conf:4", `^~SEQ "~SEQ\(i, 1, 3000000\) 10\.0\.0\.\$i" not expanded: it expands to 3000000 lines, more than lbdoctor expands \(100000\)$`}}},
		{name: "keepalived/seq-nested-billion", files: map[string]string{"keepalived.conf": kaOK + "~SEQ(i, 1, 1000) ~SEQ(j, 1, 1000) ~SEQ(k, 1, 1000) use_pid_dir $i $j $k\n"},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0,
			findings: []want{{"LBD006", "keepalived.conf:7", `^configuration expands to more than 262144 lines, lbdoctor stops reading it here$`}}},
		{name: "keepalived/multiline-definition-100000", setup: func(t *testing.T, _ *hostileEnv, dir string) {
			var b strings.Builder
			b.WriteString("$D=10.0.0.100 \\\n")
			for range 100000 {
				b.WriteString("  10.0.0.101 \\\n")
			}
			b.WriteString("  10.0.0.102\n\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    $D\n  }\n}\n")
			putFile(t, filepath.Join(dir, "keepalived.conf"), b.String())
		}, args: []string{"--keepalived", "keepalived.conf"}, code: 0, maxTime: 5 * time.Second},

		// Ports out of range, IPv6 zones that are not.
		{name: "nginx/port-out-of-range", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen 127.0.0.1:70000; } }\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:2", `^invalid port in "127\.0\.0\.1:70000" of the "listen" directive$`}}},
		{name: "haproxy/port-out-of-range", files: map[string]string{"haproxy.cfg": "frontend fe\n  mode tcp\n  bind 127.0.0.1:70000\n"},
			args: []string{"--haproxy", "haproxy.cfg"}, code: 1, findings: []want{{"LBD001", "haproxy.cfg:3", `invalid port '70000'`}}},
		{name: "snapshot/port-out-of-range", setup: snapshotWith("sockets:\n  - proto: tcp\n    address: 0.0.0.0\n    port: 70000\n    uid: 0\n"), files: map[string]string{"keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host\.yaml:\d+: port 70000 is out of range`},
		{name: "nginx/ipv6-bad-zone", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen [fe80::1%nosuch0]:80; } }\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:2", `^invalid IPv6 address in "\[fe80::1%nosuch0\]:80" of the "listen" directive$`}}},
		{name: "haproxy/ipv6-bad-zone", files: map[string]string{"haproxy.cfg": "frontend fe\n  mode tcp\n  bind fe80::1%nosuch0:80\n"},
			args: []string{"--haproxy", "haproxy.cfg"}, code: 1, findings: []want{{"LBD001", "haproxy.cfg:3", `invalid address: 'fe80::1%nosuch0'`}}},
		{name: "keepalived/ipv6-zone", files: map[string]string{"keepalived.conf": "vrrp_instance VI_1 {\n  interface eth0\n  virtual_ipaddress {\n    fe80::1%eth0/64\n  }\n}\n"},
			args: []string{"--keepalived", "keepalived.conf"}, code: 0, findings: []want{{"LBD005", "keepalived.conf:4", `^VRRP parsed invalid IP fe80::1%eth0/64\. skipping IP\.\.\.$`}}},

		// Terminal escapes and newlines in names and values: the text
		// report escapes them, JSON stays valid (checked for every case).
		{name: "nginx/escape-in-listen-host", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen \"\x1b]0;pwned\x07\x1b[2J\u202e:80\"; } }\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 0},
		{name: "nginx/escape-in-listen-port", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen \"127.0.0.1:8\x1b]0;pwned\x07\x1b[2J\u202e\"; } }\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:2", "^invalid port in \"127\\.0\\.0\\.1:8\x1b\\]0;pwned\x07\x1b\\[2J\u202e\" of the \"listen\" directive$"}}},
		{name: "nginx/newline-in-value", files: map[string]string{"nginx.conf": "events {}\nhttp { server { listen \"127.0.0.1:8\n0\"; } }\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "nginx.conf:3", "^invalid port in \"127\\.0\\.0\\.1:8\n0\" of the \"listen\" directive$"}}},
		{name: "nginx/escape-in-file-name", files: map[string]string{"nginx.conf": "events {}\ninclude \"evil\x1b[31m\n.conf\";\n", "evil\x1b[31m\n.conf": "http { server { listen 127.0.0.1:99999; } }\n"},
			args: []string{"--nginx", "nginx.conf"}, code: 1, findings: []want{{"LBD001", "evil\x1b[31m\n.conf:1", `^invalid port in "127\.0\.0\.1:99999" of the "listen" directive$`}}},
		{name: "haproxy/escape-in-names", files: map[string]string{"haproxy.cfg": "frontend fe\x1b[2J\n  mode tcp\n  bind 127.0.0.1:80\n  bind \"\x1b[31m:81\"\n"},
			args: []string{"--haproxy", "haproxy.cfg"}, code: 1, findings: []want{{"LBD001", "haproxy.cfg:4", "\x1b\\[31m"}}},
		{name: "keepalived/escape-in-names", files: map[string]string{"keepalived.conf": "vrrp_instance \"VI\x1b[2J\x07\" {\n  interface \"eth0\x1b]0;x\x07\"\n  virtual_ipaddress {\n    10.0.0.100\n    \"10.0.0.1\x1b[31m\"\n  }\n}\n"},
			args: []string{"--keepalived", "keepalived.conf"}, code: 1, findings: []want{
				{"LBD503", "keepalived.conf:1", "^interface eth0\x1b\\]0;x\x07 for vrrp_instance VI\x1b\\[2J\x07 doesn't exist on this host$"},
				{"LBD005", "keepalived.conf:5", "^VRRP parsed invalid IP 10\\.0\\.0\\.1\x1b\\[31m\\. skipping IP\\.\\.\\.$"}}},
		{name: "snapshot/escape-in-hostname", setup: snapshotWith("hostname: \"lb\\e]0;pwned\\a\\e[2J\\u202e\\n\"\n"), files: map[string]string{"keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 0},
		{name: "lbdoctor.yaml/escape-in-key", files: map[string]string{".lbdoctor.yaml": "\"\\e]0;pwned\\a\\e[2J\": 1\n", "keepalived.conf": kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 2, stderr: `line 1: field .* not found`},
		{name: "nginx/escape-in-missing-main-path", args: []string{"--nginx", "missing\x1b[2J.conf"}, code: 2, stderr: `--nginx missing.*\.conf: no such file or directory`},

		// Snapshots and .lbdoctor.yaml with wrong types or unknown fields.
		{name: "snapshot/wrong-type", setup: snapshotWith("addresses: 5\n"), files: map[string]string{"keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host\.yaml:\d+: cannot unmarshal !!int ` + "`5`" + ` into \[\]host\.Address`},
		{name: "snapshot/unknown-field", setup: snapshotWith("bogus: 1\n"), files: map[string]string{"keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host\.yaml:\d+: field bogus not found in type host\.Facts`},
		{name: "snapshot/nested-wrong-type", setup: snapshotWith("sockets:\n  - proto: tcp\n    address: 0.0.0.0\n    port: http\n"), files: map[string]string{"keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host\.yaml:\d+: cannot unmarshal !!str ` + "`http`" + ` into int`},
		{name: "snapshot/alias-bomb", files: map[string]string{"host.yaml": yamlBomb("hostname"), "keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host\.yaml`},
		{name: "snapshot/deep-nesting", files: map[string]string{"host.yaml": "hostname: " + strings.Repeat("[", 100000) + "\n", "keepalived.conf": kaOK}, raw: true,
			args: []string{"check", "--host", "host.yaml", "--keepalived", "keepalived.conf"}, code: 2, stderr: `host\.yaml`},
		{name: "lbdoctor.yaml/wrong-type", files: map[string]string{".lbdoctor.yaml": "role: backup\nnginx: 5\n", "keepalived.conf": kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 2, stderr: `\.lbdoctor\.yaml: yaml: unmarshal errors:\n.*line 2: cannot unmarshal !!int ` + "`5`" + ` into \[\]string`},
		{name: "lbdoctor.yaml/unknown-field", files: map[string]string{".lbdoctor.yaml": "role: backup\nrol: master\n", "keepalived.conf": kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 2, stderr: `line 2: field rol not found`},
		{name: "lbdoctor.yaml/alias-bomb", files: map[string]string{".lbdoctor.yaml": yamlBomb("nginx"), "keepalived.conf": kaOK},
			args: []string{"--keepalived", "keepalived.conf"}, code: 2, stderr: `\.lbdoctor\.yaml`},
	}
}

// glob100k is the pattern matching the 100,000 files hostileEnv.many
// makes; $MANY in a case's files is replaced by their directory.
const glob100k = "$MANY/*.conf"

// hostileEnv is what the cases share: a world-readable directory (so that
// the unprivileged runs can read it) holding a copy of the test binary as
// lbdoctor and the demo host snapshot.
type hostileEnv struct {
	base, bin, host string
	manyOnce        sync.Once
	manyErr         error
}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	base, err := os.MkdirTemp("", "lbd-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("LBD_HOSTILE_KEEP") == "" {
		t.Cleanup(func() { os.RemoveAll(base) })
	} else {
		t.Logf("keeping the cases in %s", base)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	env := &hostileEnv{base: base, bin: filepath.Join(base, "bin", "lbdoctor"), host: filepath.Join(base, "host.yaml")}
	makeDir(t, filepath.Join(base, "bin"))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	hostileCopy(t, self, env.bin, 0o755)
	hostileCopy(t, filepath.Join("..", "..", "testdata", "demo", "lb2.host.yaml"), env.host, 0o644)
	return env
}

// many makes, once per run, the directory of 100,000 empty files behind
// glob100k.
func (env *hostileEnv) many(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(env.base, "many")
	env.manyOnce.Do(func() {
		if env.manyErr = os.MkdirAll(dir, 0o755); env.manyErr != nil {
			return
		}
		for i := range 100000 {
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f%06d.conf", i)))
			if err != nil {
				env.manyErr = err
				return
			}
			f.Close()
		}
	})
	if env.manyErr != nil {
		t.Fatal(env.manyErr)
	}
	return dir
}

// result is what one run of lbdoctor did.
type result struct {
	code           int
	stdout, stderr []byte
	wall           time.Duration
	maxRSS         int64 // bytes
	timedOut       bool
}

// run runs lbdoctor in dir, as nobody when asked, killing it after limit.
// Linux counts in a child's ru_maxrss the RSS of the test process it was
// spawned from (they share memory until exec), so maxRSS overstates
// lbdoctor's own peak by up to the test's RSS (30-60 MB): the bounds
// allow for it.
func (env *hostileEnv) run(t *testing.T, dir string, nobody bool, limit time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	name, argv := env.bin, args
	if nobody {
		name, argv = "setpriv", append([]string{"--reuid=" + strconv.Itoa(nobodyID), "--regid=" + strconv.Itoa(nobodyID), "--clear-groups", "--", env.bin}, args...)
	}
	cmd := exec.CommandContext(ctx, name, argv...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), wall: time.Since(start), timedOut: ctx.Err() != nil}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("run lbdoctor: %v", err)
	}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.maxRSS = ru.Maxrss * 1024
		}
	}
	return res
}

// TestHostileInputs runs every hostile case. A case fails on a panic, a
// hang past its time bound, a peak RSS past its memory bound, an exit code
// or a finding other than the one asserted, invalid JSON, or a control
// character reaching the text output raw.
func TestHostileInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile inputs write 200 MB files and 100,000 files: skipped with -short")
	}
	env := newHostileEnv(t)
	root := os.Geteuid() == 0
	_, setprivErr := exec.LookPath("setpriv")
	names := map[string]bool{}
	for _, c := range hostileCases() {
		if names[c.name] {
			t.Fatalf("duplicate case %s", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			if c.noRun {
				t.Skip("KNOWN BUG (not run: it would exhaust the machine's memory): " + c.bug)
			}
			if c.nobody && root && setprivErr != nil {
				t.Skip("needs setpriv to drop root for this case")
			}
			dir := filepath.Join(env.base, "cases", strings.NewReplacer("/", "_", " ", "_").Replace(c.name))
			makeDir(t, dir)
			for name, content := range c.files {
				if strings.Contains(content, "$MANY") {
					content = strings.ReplaceAll(content, "$MANY", env.many(t))
				}
				putFile(t, filepath.Join(dir, name), content)
			}
			if c.setup != nil {
				c.setup(t, env, dir)
			}
			problems := runHostile(t, env, c, dir, root)
			switch {
			case c.bug != "" && len(problems) == 0:
				t.Errorf("case marked KNOWN BUG now passes: remove its bug mark (%s)", c.bug)
			case c.bug != "":
				t.Skipf("KNOWN BUG: %s\n  today: %s", c.bug, strings.Join(problems, "\n  today: "))
			default:
				for _, p := range problems {
					t.Error(p)
				}
			}
		})
	}
}

// runHostile runs one case in JSON and, unless c.once, in the other
// formats, and returns what differs from the case's expectations, a panic
// or a hang included.
func runHostile(t *testing.T, env *hostileEnv, c hostileCase, dir string, root bool) []string {
	t.Helper()
	maxTime, maxRSS := c.maxTime, c.maxRSS
	if maxTime == 0 {
		maxTime = defaultMaxTime
	}
	if maxRSS == 0 {
		maxRSS = defaultMaxRSS
	}
	args := c.args
	if !c.raw {
		args = append([]string{"check", "--host", env.host}, args...)
	}
	nobody := c.nobody && root
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	// The JSON run: every expectation.
	res := env.run(t, dir, nobody, 2*maxTime, withFormat(args, "json")...)
	t.Logf("%s: exit %d in %v, peak RSS %d MB", c.name, res.code, res.wall.Round(time.Millisecond), res.maxRSS>>20)
	if res.timedOut {
		return append(problems, fmt.Sprintf("killed after %v (bound %v): lbdoctor hangs on this input", res.wall.Round(time.Millisecond), maxTime))
	}
	if crashed(res.stderr) {
		return append(problems, "lbdoctor crashed:\n"+clip(res.stderr))
	}
	if err := terminalSafe(res.stderr, false); err != nil {
		bad("stderr: %v", err)
	}
	if res.wall > maxTime {
		bad("took %v, bound %v", res.wall.Round(time.Millisecond), maxTime)
	}
	if res.maxRSS > maxRSS<<20 {
		bad("peak RSS %d MB, bound %d MB", res.maxRSS>>20, maxRSS)
	}
	if res.code != c.code {
		bad("exit %d, want %d; stderr: %s", res.code, c.code, clip(res.stderr))
	}
	if c.stderr != "" && !regexp.MustCompile(c.stderr).Match(res.stderr) {
		bad("stderr %q does not match %q", clip(res.stderr), c.stderr)
	}
	if res.code == exitUsage {
		if len(res.stdout) > 0 {
			bad("exit 2 with output on stdout: %s", clip(res.stdout))
		}
	} else {
		problems = append(problems, checkReport(c, res.stdout)...)
	}
	if c.once || res.code == exitUsage {
		return problems
	}
	// The other formats: same exit code, nothing raw on the terminal.
	for _, format := range []string{"text", "github", "sarif"} {
		r := env.run(t, dir, nobody, 2*maxTime, withFormat(args, format)...)
		if r.timedOut || crashed(r.stderr) {
			return append(problems, fmt.Sprintf("--format %s: timed out or crashed:\n%s", format, clip(r.stderr)))
		}
		if r.code != res.code {
			bad("--format %s: exit %d, JSON run exited %d", format, r.code, res.code)
		}
		if format == "sarif" {
			if !json.Valid(r.stdout) || bytes.ContainsFunc(r.stdout, func(r rune) bool { return r != '\n' && r < 0x20 }) {
				bad("--format sarif: invalid JSON or a raw control character")
			}
		} else if err := terminalSafe(r.stdout, format == "text"); err != nil {
			bad("--format %s: %v", format, err)
		}
	}
	return problems
}

// withFormat puts --format F (and --no-color) right after "check".
func withFormat(args []string, format string) []string {
	out := make([]string, 0, len(args)+3)
	for i, a := range args {
		out = append(out, a)
		if i == 0 && a == "check" {
			out = append(out, "--format", format, "--no-color")
		}
	}
	return out
}

// hostileReport is the part of the lbdoctor/v1 JSON the cases look at.
type hostileReport struct {
	Services []struct {
		Listeners []struct {
			Address string `json:"address"`
			Port    int    `json:"port"`
			File    string `json:"file"`
			Line    int    `json:"line"`
		} `json:"listeners"`
	} `json:"services"`
	Findings []struct {
		ID      string `json:"id"`
		File    string `json:"file"`
		Line    int    `json:"line"`
		Message string `json:"message"`
	} `json:"findings"`
}

// checkReport compares the JSON report with the case's findings and
// listeners.
func checkReport(c hostileCase, stdout []byte) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if !json.Valid(stdout) {
		return []string{"stdout is not valid JSON: " + clip(stdout)}
	}
	// JSON may carry DEL and C1 raw; C0 controls must be escaped.
	if bytes.ContainsFunc(stdout, func(r rune) bool { return r != '\n' && r < 0x20 }) {
		bad("JSON output holds a raw control character")
	}
	var rep hostileReport
	if err := json.Unmarshal(stdout, &rep); err != nil {
		return []string{"decode JSON report: " + err.Error()}
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, fmt.Sprintf("%s %s %q", f.ID, posString(f.File, f.Line), f.Message))
	}
	count := c.count
	if count == 0 {
		count = len(c.findings)
	}
	if len(rep.Findings) != count {
		bad("%d findings, want %d:\n    %s", len(rep.Findings), count, strings.Join(clipList(got), "\n    "))
	}
	for i, w := range c.findings {
		if i >= len(rep.Findings) {
			break
		}
		f := rep.Findings[i]
		// The JSON encoder turns invalid UTF-8 into U+FFFD; compare
		// against the same.
		msgRE := regexp.MustCompile(asJSON(w.msg))
		if f.ID != w.id || posString(f.File, f.Line) != asJSON(w.pos) || !msgRE.MatchString(f.Message) {
			bad("finding %d is %s, want %s %s %q", i, clip([]byte(got[i])), w.id, w.pos, w.msg)
		}
	}
	if c.listeners != nil {
		var ls []string
		for _, s := range rep.Services {
			for _, l := range s.Listeners {
				ls = append(ls, fmt.Sprintf("%s %s", joinHostPort(l.Address, l.Port), posString(l.File, l.Line)))
			}
		}
		if strings.Join(ls, "|") != strings.Join(c.listeners, "|") {
			bad("listeners %q, want %q", ls, c.listeners)
		}
	}
	return problems
}

// asJSON is s as it comes back from the JSON report: encoding/json turns
// each byte of invalid UTF-8 into U+FFFD, as converting to runes does.
func asJSON(s string) string { return string([]rune(s)) }

func posString(file string, line int) string {
	if line == 0 {
		return file
	}
	return file + ":" + strconv.Itoa(line)
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// terminalSafe reports text that would drive a terminal: control
// characters other than newline (and tab in text), invalid UTF-8, and
// bidirectional controls.
func terminalSafe(out []byte, text bool) error {
	if !utf8.Valid(out) {
		i := 0
		for i < len(out) {
			r, size := utf8.DecodeRune(out[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return fmt.Errorf("invalid UTF-8 at byte %d: %q", i, clip(out[max(0, i-40):min(len(out), i+40)]))
	}
	for i, r := range string(out) {
		if r == '\n' || (r == '\t' && text) {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return fmt.Errorf("raw %U at byte %d: %q", r, i, clip(out[max(0, i-40):min(len(out), i+40)]))
		}
	}
	return nil
}

// crashed tells a Go panic or fatal error from an orderly exit (both may
// exit 2).
func crashed(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("panic: ")) || bytes.Contains(stderr, []byte("fatal error: ")) ||
		bytes.Contains(stderr, []byte("goroutine 1 [")) || bytes.Contains(stderr, []byte("runtime: out of memory"))
}

func clip(b []byte) string {
	const n = 600
	if len(b) > n {
		return fmt.Sprintf("%s... (%d bytes)", b[:n], len(b))
	}
	return string(b)
}

func clipList(l []string) []string {
	if len(l) > 5 {
		return append(l[:5:5], fmt.Sprintf("... (%d more)", len(l)-5))
	}
	return l
}

// Setup helpers.

func makeDir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func putFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func hostileCopy(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, mode); err != nil {
		t.Fatal(err)
	}
}

// binary writes 64 KiB of deterministic noise with an ELF header and NULs,
// as if a program had been copied over the config.
func binary(name string) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, _ *hostileEnv, dir string) {
		rng := rand.New(rand.NewPCG(1, 2))
		b := []byte("\x7fELF\x02\x01\x01\x00\x00\x00")
		for len(b) < 64<<10 {
			b = append(b, byte(rng.Uint32()))
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// padded writes head, then 2,097,152 lines of 100-byte comments (200 MiB),
// then tail: the lines of tail start at line 2,097,153 plus head's lines.
func padded(name, head, tail string) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, _ *hostileEnv, dir string) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		w.WriteString(head)
		line := "# " + strings.Repeat("x", 97) + "\n"
		for range bigSize / len(line) {
			w.WriteString(line)
		}
		w.WriteString(tail)
		if err := errors.Join(w.Flush(), f.Close()); err != nil {
			t.Fatal(err)
		}
	}
}

// sparse makes a file of size bytes that takes no disk space.
func sparse(name string, size int64) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, _ *hostileEnv, dir string) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(f.Truncate(size), f.Close()); err != nil {
			t.Fatal(err)
		}
	}
}

func symlinkLoop(t *testing.T, _ *hostileEnv, dir string) {
	t.Helper()
	if err := errors.Join(os.Symlink("loop2", filepath.Join(dir, "loop1")), os.Symlink("loop1", filepath.Join(dir, "loop2"))); err != nil {
		t.Fatal(err)
	}
}

// secret writes a file only root can read.
func secret(name, content string) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, _ *hostileEnv, dir string) {
		p := filepath.Join(dir, name)
		putFile(t, p, content)
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() != 0 {
			t.Skip("needs root to make a file another user cannot read")
		}
	}
}

func mkdirCase(name string) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, _ *hostileEnv, dir string) { makeDir(t, filepath.Join(dir, name)) }
}

func fifo(name string) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, _ *hostileEnv, dir string) {
		if err := syscall.Mkfifo(filepath.Join(dir, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshotWith writes host.yaml: the demo snapshot with extra YAML
// appended (a repeated key replaces nothing: yaml.v3 rejects it, so the
// extras use keys the demo does not have, or replace the file).
func snapshotWith(extra string) func(*testing.T, *hostileEnv, string) {
	return func(t *testing.T, env *hostileEnv, dir string) {
		data, err := os.ReadFile(env.host)
		if err != nil {
			t.Fatal(err)
		}
		var keep []string
		key := strings.SplitN(extra, ":", 2)[0]
		skipping := false
		for l := range strings.Lines(string(data)) {
			if !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "-") {
				skipping = strings.HasPrefix(l, key+":")
			}
			if !skipping {
				keep = append(keep, l)
			}
		}
		putFile(t, filepath.Join(dir, "host.yaml"), strings.Join(keep, "")+extra)
	}
}

// yamlBomb is the "billion laughs" of YAML: nine levels of aliases, each
// ten times the one before.
func yamlBomb(key string) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [\"lol\"]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	fmt.Fprintf(&b, "%s: *a9\n", key)
	return b.String()
}

// FuzzExplain feeds explain arbitrary log lines: its regexps and the
// address parsing after them must never panic, and the exit code is 0 (a
// check ID or a recognised bind error) or 2 (anything else). Lines that
// name an address are diagnosed against the live host, which only reads.
func FuzzExplain(f *testing.F) {
	for _, s := range []string{
		"LBD101", "lbd401", "",
		"nginx: [emerg] bind() to 10.0.0.100:80 failed (99: Cannot assign requested address)",
		"nginx: [emerg] bind() to [fe80::1%eth0]:80 failed (99: Cannot assign requested address)",
		"nginx: [emerg] bind() to unix:/run/x.sock failed (98: Address already in use)",
		"[ALERT]    (7530) : Binding [/etc/haproxy/haproxy.cfg:8] for frontend web: cannot bind socket (Address already in use) for [10.0.0.5:80]",
		"cannot bind socket [::]:443",
		"cannot bind socket () for []",
		"bind() to :99999999999999999999 failed (99999999999999999999: )",
		"bind() to \x1b[2J failed (13: Permission denied)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var stdout, stderr bytes.Buffer
		done := make(chan int, 1)
		go func() { done <- run([]string{"explain", line}, &stdout, &stderr) }()
		select {
		case code := <-done:
			if code != exitOK && code != exitUsage {
				t.Fatalf("explain %q: exit %d, want 0 or 2", line, code)
			}
			if code == exitOK && stdout.Len() == 0 {
				t.Fatalf("explain %q: exit 0 with no output", line)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("explain %q: no answer in 10 s", line)
		}
	})
}

// FuzzCheckKeepalived runs the whole check (parser, variable and sequence
// expansion, checks, text and JSON reports) over a fuzzed keepalived.conf
// judged against the demo snapshot: no panic, exit 0 or 1 (a config that
// does not parse is a finding, never exit 2), valid JSON, and no control
// character in the text report.
func FuzzCheckKeepalived(f *testing.F) {
	fuzzCheck(f, "--keepalived", "keepalived.conf", filepath.Join("..", "..", "testdata", "parsers", "keepalived", "*.conf"),
		"$IP=10.0.0.1\n~SEQ(i, 1, 3) $IP$i\nvrrp_instance V {\n virtual_ipaddress {\n  ${IP}0/24 dev eth0\n }\n}\n",
		"$M=a \\\nb\n\n@x $M\n~LST({a,b},{1,2},{3,4}) $a$b\n")
}

// FuzzCheckNginx is FuzzCheckKeepalived for nginx.conf.
func FuzzCheckNginx(f *testing.F) {
	fuzzCheck(f, "--nginx", "nginx.conf", filepath.Join("..", "..", "testdata", "parsers", "nginx", "*.conf"),
		"events {}\nhttp { server { listen 127.0.0.1:80; listen [::1]:81 ipv6only=on; } }\n",
		"events {}\nstream { server { listen 10.0.0.100:53 udp; } }\n")
}

// FuzzCheckHAProxy is FuzzCheckKeepalived for haproxy.cfg.
func FuzzCheckHAProxy(f *testing.F) {
	fuzzCheck(f, "--haproxy", "haproxy.cfg", filepath.Join("..", "..", "testdata", "parsers", "haproxy", "*.cfg"),
		"frontend fe\n  bind \"${X}:80\" v4v6\n  bind 10.0.0.100:8000-8002\n",
		".if defined(X)\nlisten l\n  bind :::80 v6only\n.endif\n")
}

func fuzzCheck(f *testing.F, flagName, file, seeds string, extra ...string) {
	paths, _ := filepath.Glob(seeds)
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
	host, err := filepath.Abs(filepath.Join("..", "..", "testdata", "demo", "lb2.host.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"json", "text"} {
			var stdout, stderr bytes.Buffer
			done := make(chan int, 1)
			go func() {
				done <- run([]string{"check", "--format", format, "--no-color", "--host", host, "--root", dir, flagName, "/" + file}, &stdout, &stderr)
			}()
			var code int
			select {
			case code = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("check %s: no answer in 10 s", format)
			}
			if code != exitOK && code != exitFindings {
				t.Fatalf("check %s: exit %d, want 0 or 1: %s", format, code, stderr.Bytes())
			}
			if format == "json" && !json.Valid(stdout.Bytes()) {
				t.Fatalf("invalid JSON:\n%s", stdout.Bytes())
			}
			if format == "text" {
				if err := terminalSafe(stdout.Bytes(), true); err != nil {
					t.Fatalf("text report: %v", err)
				}
			}
		}
	})
}

// envoyAliasBomb is a billion-laughs YAML around one real listener.
func envoyAliasBomb() string {
	var b strings.Builder
	b.WriteString("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("static_resources:\n  listeners:\n  - name: web\n    address:\n      socket_address: {address: 127.0.0.1, port_value: 8080}\n    metadata: *l8\n")
	return b.String()
}
