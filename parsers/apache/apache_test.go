package apache

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/parsertest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdata = "../../testdata/parsers/apache"

var mains = []string{"/etc/apache2/apache2.conf", "/etc/httpd/conf/httpd.conf"}

// parse reads a case as lbdoctor check does: with Debian's envvars beside
// the main config, or RHEL's /etc/sysconfig/httpd.
func parse(root parsers.Root, main string) (*parsers.Config, error) {
	env, defines := StartEnv(root, main)
	return Parse(main, Options{Root: root, Env: env, Defines: defines})
}

// TestGolden pins the parse of each tree under testdata/parsers/apache:
// Debian's shipped /etc/apache2, every Listen form (checked against
// apache2 -t and a running apache2 2.4), the conditionals and includes,
// and RHEL's layout.
func TestGolden(t *testing.T) { parsertest.RunGolden(t, testdata, mains, parse, *update) }

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(testdata, "*", "etc", "*", "*.conf"))
	f.Add("Listen 80\nInclude inc.conf\nInclude /etc/apache2/apache2.conf\n<IfModule x>\nListen 1\n")
	parsertest.Fuzz(f, seeds, "/etc/apache2/apache2.conf", map[string]string{
		"/etc/apache2/inc.conf": "Listen 10.0.0.1:80\n<IfDefine X>\nListen [::1]:81\n</IfDefine>\n",
	}, parse)
}

// TestErrors pins the first error of small configs to what apache2 -t 2.4
// prints for them (httpd stops at the first one).
func TestErrors(t *testing.T) {
	for _, tt := range []struct{ conf, want string }{
		{"Listen 80\nListen 80\n", "2: Cannot define multiple Listeners on the same IP:port"},
		{"Listen 80\nListen *:80\n", "2: Cannot define multiple Listeners on the same IP:port"},
		{"Listen 10.0.0.5:8x\n", "1: Port must be specified"},
		{"Listen 0\n", "1: Invalid address or port"},
		{"Listen 70000\n", "1: Invalid address or port"},
		{"Listen\n", "1: Listen requires 1 or 2 arguments."},
		{"Listen 1 2 3\n", "1: Listen requires 1 or 2 arguments."},
		{"<VirtualHost *:80>\nListen 81\n</VirtualHost>\n", "2: Listen cannot occur within <VirtualHost> section"},
		{"Include missing.conf\n", "1: Could not open configuration file /etc/apache2/missing.conf: No such file or directory"},
		{"Include empty/*.conf\n", "1: Include/IncludeOptional: No matches for the wildcard '*.conf' in '/etc/apache2/empty', failing"},
		{"Include apache2.conf\nInclude apache2.conf\n", "1: Exceeded maximum include depth of 128, There appears to be a recursion."},
		{"Listen 1\nListen 1\nListen x\n", "2: Cannot define multiple Listeners on the same IP:port"},
		{"Define V 10.0.0.1\nUnDefine V\nListen ${V}:80\n", "3: Listen setup failed (AH00077: alloc_listener: failed to set up sockaddr for ${V}; AH00111: a config variable is not defined)"},
		{"Listen ${NOPE_VIP}:9000\n", "1: Listen setup failed (AH00077: alloc_listener: failed to set up sockaddr for ${NOPE_VIP}; AH00111: a config variable is not defined)"},
	} {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "etc/apache2/empty"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "etc/apache2/apache2.conf"), []byte(tt.conf), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := parse(parsers.Root(dir), "/etc/apache2/apache2.conf")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range cfg.Errors {
			got = append(got, fmt.Sprintf("%d: %s", e.Pos.Line, e.Msg))
		}
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%q: errors %q, want only %q", tt.conf, got, tt.want)
		}
	}
}
