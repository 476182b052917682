package systemd

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/parsertest"
)

const socketTestdata = "../../testdata/parsers/systemd-socket"

var socketMains = []string{"/etc/systemd/system/web.socket", "/lib/systemd/system/web.socket"}

func parseSocket(root parsers.Root, main string) (*parsers.Config, error) {
	return ReadSocket(root, main)
}

// TestSocketGolden pins the sockets of each tree under
// testdata/parsers/systemd-socket: every address form, the options, a
// drop-in that resets the vendor's list, a masked unit, specifiers.
func TestSocketGolden(t *testing.T) {
	parsertest.RunGolden(t, socketTestdata, socketMains, parseSocket, *update)
}

// TestSocketOptions pins what the options turn into on the listeners.
func TestSocketOptions(t *testing.T) {
	root := parsers.Root(mustAbs(t, filepath.Join(socketTestdata, "forms")))
	cfg, err := ReadSocket(root, "/etc/systemd/system/web.socket")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Listeners) == 0 {
		t.Fatal("no listeners")
	}
	for _, l := range cfg.Listeners {
		if l.Proto == parsers.Unix {
			continue
		}
		if !l.Transparent || !l.ReusePort || l.Interface != "eth0" || l.Service != SocketService {
			t.Errorf("%v: transparent %v reuseport %v interface %q service %q", l.Pos, l.Transparent, l.ReusePort, l.Interface, l.Service)
		}
		if l.Addr.Is6() && l.V6Only != parsers.V6OnlyOff {
			t.Errorf("%v: BindIPv6Only=both gives v6only %q", l.Pos, l.V6Only)
		}
	}
	// By name, the unit is found on the search path.
	byName, err := ReadSocket(root, "web.socket")
	if err != nil || len(byName.Listeners) != len(cfg.Listeners) {
		t.Errorf("by name: %v, %d listeners, want %d", err, len(byName.Listeners), len(cfg.Listeners))
	}
	if _, err := ReadSocket(root, "web.service"); err == nil {
		t.Error("web.service read as a socket unit")
	}
	if _, err := ReadSocket(root, "absent.socket"); err == nil {
		t.Error("absent.socket: no error")
	}
}

// TestEnabledSockets finds the socket units linked into .wants/ and
// .requires/ directories, as systemd does, and skips what it skips.
func TestEnabledSockets(t *testing.T) {
	dir := t.TempDir()
	mk := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln := func(target, name string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	mk("lib/systemd/system/web.socket", "[Socket]\nListenStream=80\n")
	mk("lib/systemd/system/vendor.socket", "[Socket]\nListenStream=81\n")
	mk("lib/systemd/system/off.socket", "[Socket]\nListenStream=82\n")
	ln("/lib/systemd/system/web.socket", "etc/systemd/system/sockets.target.wants/web.socket")
	ln("../vendor.socket", "lib/systemd/system/sockets.target.wants/vendor.socket")
	ln("/lib/systemd/system/web.socket", "etc/systemd/system/multi-user.target.requires/req.socket")
	// Not symlinks, masked entries and other unit types are not enabled sockets.
	mk("etc/systemd/system/sockets.target.wants/plain.socket", "[Socket]\nListenStream=83\n")
	ln("/dev/null", "etc/systemd/system/sockets.target.wants/masked.socket")
	ln("/lib/systemd/system/web.socket", "etc/systemd/system/multi-user.target.wants/web.service")
	ln("/lib/systemd/system/off.socket", "etc/systemd/system/off.socket")
	got := EnabledSockets(parsers.Root(dir))
	if want := []string{"req.socket", "vendor.socket", "web.socket"}; !slices.Equal(got, want) {
		t.Errorf("EnabledSockets = %q, want %q", got, want)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func FuzzParseSocket(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(socketTestdata, "*", "*", "systemd", "system", "*.socket"))
	f.Add("[Socket]\nListenStream=[::]:1%x\nListenDatagram=1.2.3.4:5\nListenStream=\\\n 7\nBindIPv6Only=0\n")
	parsertest.Fuzz(f, seeds, "/etc/systemd/system/web.socket", map[string]string{
		"/etc/systemd/system/web.socket.d/a.conf": "[Socket]\nListenStream=10.0.0.1:80\n",
	}, parseSocket)
}
