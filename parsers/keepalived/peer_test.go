package keepalived

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPeerFields reads what lbdoctor cluster compares between nodes:
// advert_int (in milliseconds), the authentication block, nopreempt, the
// family and where each keyword is.
func TestPeerFields(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	conf := `vrrp_instance A {
    interface eth0
    virtual_router_id 51
    advert_int 0.5
    authentication {
        auth_type pass
        auth_pass s3cret12
    }
    nopreempt
    virtual_ipaddress { 10.0.0.100/24 }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 52
    native_ipv6
    nopreempt
    preempt
    virtual_ipaddress { fd00::100/64 }
}
vrrp_instance C {
    interface eth0
    virtual_router_id 53
}
`
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.VRRP) != 3 {
		t.Fatalf("%d instances, want 3", len(cfg.VRRP))
	}
	a, b, c := cfg.VRRP[0], cfg.VRRP[1], cfg.VRRP[2]
	if a.AdvertInt != 500 || a.AuthType != "PASS" || a.AuthPass != "s3cret12" || !a.Nopreempt || a.Family != 4 {
		t.Errorf("A = advert %d, auth %q %q, nopreempt %v, family %d", a.AdvertInt, a.AuthType, a.AuthPass, a.Nopreempt, a.Family)
	}
	if a.Line("authentication").Line != 5 || a.Line("nopreempt").Line != 9 || a.Line("advert_int").Line != 4 || a.Line("priority") != a.Pos {
		t.Errorf("A lines = %v", a.Lines)
	}
	if b.Family != 6 || b.Nopreempt || b.AdvertInt != 0 || b.AuthType != "" {
		t.Errorf("B = family %d, nopreempt %v (preempt comes last), advert %d, auth %q", b.Family, b.Nopreempt, b.AdvertInt, b.AuthType)
	}
	if c.Family != 0 {
		t.Errorf("C = family %d, want 0 (nothing decides it)", c.Family)
	}
}
