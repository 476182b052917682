package host

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdata = "../../testdata/parsers/host"

// TestSnapshotRoundTrip loads every snapshot under testdata and writes it
// back: the bytes must not change, so Write's format is pinned and Load
// loses nothing.
func TestSnapshotRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdata, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no snapshots under %s (%v)", testdata, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Source != path {
				t.Errorf("Source = %q, want %q", f.Source, path)
			}
			var buf bytes.Buffer
			if err := Write(&buf, f); err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("Write(Load(%s)) differs (rerun with -update if intended):\n%s", path, buf.Bytes())
			}
			// Writing again gives the same bytes: nothing depends on map order.
			var again bytes.Buffer
			if err := Write(&again, f); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
				t.Errorf("second Write differs (%v)", err)
			}
		})
	}
}

func TestLoadContent(t *testing.T) {
	f, err := Load(filepath.Join(testdata, "lb1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Hostname != "lb1" || len(f.Interfaces) != 3 || len(f.Addresses) != 8 || len(f.Routes) != 6 || len(f.Sockets) != 4 {
		t.Errorf("lb1.yaml loaded as %+v", f)
	}
	if got := f.Sysctl(NonlocalBind4); got != "0" {
		t.Errorf("%s = %q, want 0", NonlocalBind4, got)
	}
	s := f.Sockets[1]
	if s.Address != "::" || !s.V6Only || s.PID != 612 || s.Command != "sshd" || s.Inode != 18233 {
		t.Errorf("second socket = %+v", s)
	}
	g, err := Load(filepath.Join(testdata, "noipv6.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !g.NoIPv6 || g.Routes[0].Table != 0 {
		t.Errorf("noipv6.yaml loaded as %+v", g)
	}
}

// TestDecodeErrors checks that every kind of bad snapshot is refused with
// the file and the line of the problem.
func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		line     int
		msg      string
	}{
		{"unknown top-level field", "hostname: a\nhostnme: b\n", 2, "field hostnme not found"},
		{"unknown nested field", "sockets:\n  - proto: tcp\n    address: 1.2.3.4\n    port: 80\n    owner: x\n", 5, "field owner not found"},
		{"wrong type", "interfaces:\n  - name: lo\n    index: one\n", 3, "cannot unmarshal"},
		{"wrong type bool", "no_ipv6: maybe\n", 1, "cannot unmarshal"},
		{"list for map", "sysctls:\n  - a\n", 2, "cannot unmarshal"},
		{"syntax", "hostname: a\n  b: [\n", 2, ""},
		{"bad address", "addresses:\n  - address: 10.0.0.300\n    prefix: 24\n    interface: eth0\n    family: ipv4\n", 2, `"10.0.0.300" is not an IP address`},
		{"family mismatch", "addresses:\n  - address: 10.0.0.3\n    prefix: 24\n    interface: eth0\n    family: ipv6\n", 5, `family "ipv6", want "ipv4"`},
		{"prefix range", "addresses:\n  - address: 10.0.0.3\n    prefix: 33\n    interface: eth0\n    family: ipv4\n", 3, "prefix length 33"},
		{"no interface", "addresses:\n  - address: 10.0.0.3\n    prefix: 24\n    family: ipv4\n", 2, "has no interface"},
		{"bad route", "local_routes:\n  - prefix: 10.9.0.0\n", 2, "is not a prefix"},
		{"bad proto", "sockets:\n  - proto: sctp\n    address: 0.0.0.0\n    port: 80\n", 2, `proto "sctp"`},
		{"bad port", "sockets:\n  - proto: tcp\n    address: 0.0.0.0\n    port: 70000\n", 4, "port 70000"},
		{"two documents", "hostname: a\n---\nhostname: b\n", 2, "more than one YAML document"},
		{"empty", "", 0, "empty host snapshot"},
		{"selinux mode", "selinux:\n  mode: strict\n", 2, `unknown mode "strict"`},
		{"selinux port", "selinux:\n  mode: enforcing\n  ports:\n    - tcp 90-80 http_port_t\n", 4, "bad port range"},
		{"selinux condition", "selinux:\n  mode: enforcing\n  domains:\n    - {service: nginx, domain: httpd_t, binds: [{proto: tcp, types: [x], if: (a}]}\n", 2, "unbalanced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.in), "host.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			var pe parsers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %q (%T) is not a parsers.Error", err, err)
			}
			if pe.Pos.File != "host.yaml" || pe.Pos.Line != tc.line {
				t.Errorf("error at %s, want host.yaml:%d (%v)", pe.Pos, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "host.yaml") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want ErrNotExist", err)
	}
}

// FuzzDecode feeds Decode arbitrary bytes: it must never panic, and what it
// accepts must survive Write and Decode unchanged.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.yaml"))
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("sockets:\n  - proto: tcp\n    port: 70000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		facts, err := Decode(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, facts); err != nil {
			t.Fatalf("Write of decoded facts: %v", err)
		}
		again, err := Decode(bytes.NewReader(buf.Bytes()), "fuzz.yaml")
		if err != nil {
			t.Fatalf("Decode of written facts: %v\n%s", err, buf.Bytes())
		}
		var buf2 bytes.Buffer
		if err := Write(&buf2, again); err != nil || !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
			t.Fatalf("second round trip differs (%v):\n%s\n---\n%s", err, buf.Bytes(), buf2.Bytes())
		}
	})
}
