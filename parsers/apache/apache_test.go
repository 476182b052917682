package apache

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/parsertest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdata = "../../testdata/parsers/apache"

var mains = []string{"/etc/apache2/apache2.conf", "/etc/httpd/conf/httpd.conf"}

// parse reads a case as lbdoctor check does: Debian's envvars beside the
// main config, when there is one.
func parse(root parsers.Root, main string) (*parsers.Config, error) {
	env, defines := Envvars(root, filepath.Join(filepath.Dir(main), "envvars"))
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
