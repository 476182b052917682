package systemd

import (
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// TestSandboxRules checks the rules of SocketBindAllow=/SocketBindDeny=
// and RestrictAddressFamilies= as systemd.resource-control(5) and
// systemd.exec(5) state them, one assignment list at a time.
func TestSandboxRules(t *testing.T) {
	unit := func(lines ...string) *Unit {
		u := &Unit{Name: "x.service", Pos: map[string]parsers.Pos{}, bounding: capAll}
		for _, l := range lines {
			as, _, _ := parse("x.service", []byte("[Service]\n"+l+"\n"))
			for _, a := range as {
				u.set(a)
			}
		}
		u.finish()
		return u
	}
	binds := []struct {
		lines []string
		ipv6  bool
		proto string
		port  int
		deny  string
	}{
		{[]string{"SocketBindDeny=any"}, false, "tcp", 80, "any"},
		{[]string{"SocketBindDeny=any", "SocketBindAllow=tcp:80"}, false, "tcp", 80, ""},
		{[]string{"SocketBindDeny=any", "SocketBindAllow=tcp:80"}, false, "udp", 80, "any"},
		{[]string{"SocketBindDeny=ipv6"}, false, "tcp", 80, ""},
		{[]string{"SocketBindDeny=ipv6"}, true, "tcp", 80, "ipv6"},
		{[]string{"SocketBindDeny=ipv4:tcp:1-1023"}, false, "tcp", 443, "ipv4:tcp:1-1023"},
		{[]string{"SocketBindDeny=ipv4:tcp:1-1023"}, false, "tcp", 8443, ""},
		{[]string{"SocketBindDeny=udp"}, false, "udp", 443, "udp"},
		{[]string{"SocketBindDeny=any", "SocketBindDeny="}, false, "tcp", 80, ""},
		{[]string{"SocketBindDeny=80"}, true, "tcp", 80, "80"},
		{[]string{"SocketBindDeny=0"}, false, "tcp", 80, ""}, // port 0 is no rule
	}
	for _, c := range binds {
		if got := unit(c.lines...).SocketBindDenied(c.ipv6, c.proto, c.port); got != c.deny {
			t.Errorf("%q: bind ipv6=%v %s %d: denied by %q, want %q", c.lines, c.ipv6, c.proto, c.port, got, c.deny)
		}
	}
	families := []struct {
		lines  []string
		family string
		ok     bool
	}{
		{nil, "AF_INET6", true},
		{[]string{"RestrictAddressFamilies=AF_UNIX AF_INET"}, "AF_INET6", false},
		{[]string{"RestrictAddressFamilies=AF_UNIX AF_INET"}, "AF_INET", true},
		{[]string{"RestrictAddressFamilies=~AF_INET6"}, "AF_INET6", false},
		{[]string{"RestrictAddressFamilies=~AF_INET6"}, "AF_UNIX", true},
		{[]string{"RestrictAddressFamilies=AF_INET AF_INET6", "RestrictAddressFamilies=~AF_INET6"}, "AF_INET6", false},
		{[]string{"RestrictAddressFamilies=~AF_INET6", "RestrictAddressFamilies=AF_INET6"}, "AF_INET6", true},
		{[]string{"RestrictAddressFamilies=none"}, "AF_INET", false},
		{[]string{"RestrictAddressFamilies=none", "RestrictAddressFamilies=~AF_INET6"}, "AF_INET", true},
		{[]string{"RestrictAddressFamilies=AF_INET", "RestrictAddressFamilies="}, "AF_INET6", true},
	}
	for _, c := range families {
		if got := unit(c.lines...).AddressFamilyAllowed(c.family); got != c.ok {
			t.Errorf("%q: %s allowed %v, want %v", c.lines, c.family, got, c.ok)
		}
	}
}

// TestFileCaps reads security.capability values as setcap(8) writes them.
func TestFileCaps(t *testing.T) {
	for _, c := range []struct {
		name      string
		b         []byte
		caps      uint64
		effective bool
	}{
		// setcap cap_net_bind_service+ep: revision 2, effective flag.
		{"v2 ep", []byte{1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1 << capNetBindService, true},
		// setcap cap_net_bind_service+p: permitted only.
		{"v2 p", []byte{0, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1 << capNetBindService, false},
		// revision 3 (written in a user namespace) carries a root uid.
		{"v3 ep", []byte{1, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe8, 3, 0, 0}, 1 << capNetBindService, true},
	} {
		caps, eff, ok := parseFileCaps(c.b)
		if !ok || caps != c.caps || eff != c.effective {
			t.Errorf("%s: caps %#x effective %v ok %v, want %#x %v", c.name, caps, eff, ok, c.caps, c.effective)
		}
	}
	if _, _, ok := parseFileCaps([]byte{1, 2}); ok {
		t.Error("a short attribute parsed")
	}
}
