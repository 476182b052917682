package postgresql

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/parsertest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdata = "../../testdata/parsers/postgresql"

var mains = []string{"/etc/postgresql/15/main/postgresql.conf", "/etc/postgresql/16/main/postgresql.conf", "/var/lib/pgsql/data/postgresql.conf"}

func parse(root parsers.Root, main string) (*parsers.Config, error) {
	opts := Options{Root: root}
	if strings.HasPrefix(main, "/var/lib/pgsql/") {
		opts.SocketDir = "/run/postgresql,/tmp"
	}
	return Parse(main, opts)
}

// TestGolden pins the parse of each tree under testdata/parsers/postgresql:
// Debian's shipped postgresql.conf with a conf.d drop-in and ALTER SYSTEM's
// postgresql.auto.conf, the include forms, RHEL's data directory layout and
// lines the server refuses.
func TestGolden(t *testing.T) { parsertest.RunGolden(t, testdata, mains, parse, *update) }

func TestSplitLine(t *testing.T) {
	for _, tt := range []struct{ in, key, value, err string }{
		{"port = 5432", "port", "5432", ""},
		{"port 5432 # c", "port", "5432", ""},
		{"listen_addresses='a,b'", "listen_addresses", "a,b", ""},
		{`x = 'it''s'`, "x", "it's", ""},
		{`x = 'a\'b'`, "x", "a'b", ""},
		{"x = 'open", "", "", "end of line"},
		{"x = 1 2", "", "", `token "2"`},
	} {
		key, value, _, err := splitLine(tt.in)
		if key != tt.key && tt.err == "" || value != tt.value || err != tt.err {
			t.Errorf("splitLine(%q) = %q, %q, err %q; want %q, %q, err %q", tt.in, key, value, err, tt.key, tt.value, tt.err)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(testdata, "*", "etc", "postgresql", "*", "main", "*.conf"))
	f.Add("include 'postgresql.conf'\nlisten_addresses = '*,localhost'\ninclude_dir 'd'\n")
	parsertest.Fuzz(f, seeds, "/etc/postgresql/15/main/postgresql.conf", map[string]string{
		"/etc/postgresql/15/main/d/a.conf": "port = 5433\nunix_socket_directories = '/tmp'\n",
	}, parse)
}
