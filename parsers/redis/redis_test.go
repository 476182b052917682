package redis

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/parsertest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdata = "../../testdata/parsers/redis"

var mains = []string{"/etc/redis/redis.conf", "/etc/redis/sentinel.conf"}

func parse(root parsers.Root, main string) (*parsers.Config, error) {
	return Parse(main, Options{Root: root, Sentinel: strings.Contains(main, "sentinel")})
}

// TestGolden pins the parse of each tree under testdata/parsers/redis:
// Debian's shipped redis.conf and sentinel.conf, the bind forms, Sentinel's
// default port and port 0.
func TestGolden(t *testing.T) { parsertest.RunGolden(t, testdata, mains, parse, *update) }

func TestSplitArgs(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // words joined by "|", or "!" for unbalanced
	}{
		{"bind 1 2", "bind|1|2"},
		{`bind "a b" 'c'`, "bind|a b|c"},
		{`x "a\"b"`, `x|a"b`},
		{`x 'it\'s'`, "x|it's"},
		{`x "open`, "!"},
		{`x "a"b`, "!"},
	} {
		words, ok := splitArgs(tt.in)
		got := strings.Join(words, "|")
		if !ok {
			got = "!"
		}
		if got != tt.want {
			t.Errorf("splitArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(testdata, "*", "etc", "redis", "*.conf"))
	f.Add("include /etc/redis/redis.conf\nbind -::* *\nport 1\ntls-port 2\nunixsocket /x\n")
	parsertest.Fuzz(f, seeds, "/etc/redis/redis.conf", map[string]string{
		"/etc/redis/inc.conf": "bind 10.0.0.1 -10.0.0.2\n",
	}, parse)
}
