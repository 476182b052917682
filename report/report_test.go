package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixture is one fixed result that every format renders, as golangci-lint
// tests its printers: two failing VIP listens with the same fix, a
// warning, a served-from listen, a parse error, and a name with a terminal
// escape in it.
func fixture() *checks.Result {
	nginx := &parsers.Config{Service: "nginx", Path: "/etc/nginx/nginx.conf", Listeners: []parsers.Listener{
		{Service: "nginx", Pos: parsers.Pos{File: "/etc/nginx/sites-enabled/shop", Line: 8}, Context: "http", Raw: "10.0.0.100:80", Proto: parsers.TCP, Addr: netip.MustParseAddr("10.0.0.100"), Port: 80},
		{Service: "nginx", Pos: parsers.Pos{File: "/etc/nginx/sites-enabled/shop", Line: 9}, Context: "http", Raw: "10.0.0.5:80", Proto: parsers.TCP, Addr: netip.MustParseAddr("10.0.0.5"), Port: 80, Via: "0.0.0.0:80"},
		{Service: "nginx", Pos: parsers.Pos{File: "/etc/nginx/sites-enabled/shop", Line: 10}, Context: "http", Raw: "80", Proto: parsers.TCP, Addr: netip.MustParseAddr("0.0.0.0"), Port: 80},
		{Service: "nginx", Pos: parsers.Pos{File: "/etc/nginx/sites-enabled/shop", Line: 11}, Context: "http", Raw: "10.0.0.100:443", Proto: parsers.TCP, Addr: netip.MustParseAddr("10.0.0.100"), Port: 443},
	}}
	hap := &parsers.Config{Service: "haproxy", Path: "/etc/haproxy/haproxy.cfg", Listeners: []parsers.Listener{
		{Service: "haproxy", Pos: parsers.Pos{File: "/etc/haproxy/haproxy.cfg", Line: 20}, Context: "frontend fe\x1b[31m", Raw: "[fd00::100]:443", Proto: parsers.TCP, Addr: netip.MustParseAddr("fd00::100"), Port: 443},
		{Service: "haproxy", Pos: parsers.Pos{File: "/etc/haproxy/haproxy.cfg", Line: 21}, Context: "frontend fe", Raw: "fd@3", Proto: parsers.TCP, Uncheckable: "inherited file descriptor 3"},
		{Service: "haproxy", Pos: parsers.Pos{File: "/etc/haproxy/haproxy.cfg", Line: 23}, Context: "frontend fe", Raw: "10.0.0.12:8443", Proto: parsers.TCP, Addr: netip.MustParseAddr("10.0.0.12"), Port: 8443, Conditional: ".if version_atleast(2.8) at /etc/haproxy/haproxy.cfg:22"},
	}}
	in := &checks.Input{
		Role: checks.RoleBoth,
		Host: &host.Facts{
			Hostname:  "lb2\x1b[2J",
			Source:    "hosts/lb2.yaml",
			Addresses: []host.Address{{Address: "10.0.0.12", Prefix: 24, Interface: "eth0", Family: "ipv4"}},
			Sysctls:   map[string]string{host.NonlocalBind4: "0", host.NonlocalBind6: "0"},
		},
		Services: []checks.Service{
			{Name: "nginx", Path: nginx.Path, Config: nginx},
			{Name: "haproxy", Path: hap.Path, Config: hap},
			{Name: "keepalived", Path: "/etc/keepalived/keepalived.conf"},
		},
	}
	findings := []checks.Finding{
		{ID: "LBD401", Severity: checks.Error, Service: "nginx", Pos: nginx.Listeners[0].Pos, Address: "10.0.0.100", Port: 80,
			Message:     "nginx would fail on the BACKUP node: bind() to 10.0.0.100:80 failed (99: Cannot assign requested address)",
			DaemonError: "nginx: [emerg] bind() to 10.0.0.100:80 failed (99: Cannot assign requested address)",
			Why:         "10.0.0.100 is keepalived VIP of vrrp_instance VI_1, held only by the MASTER, and net.ipv4.ip_nonlocal_bind is 0",
			Fix:         []string{"sysctl -w net.ipv4.ip_nonlocal_bind=1", "echo 'net.ipv4.ip_nonlocal_bind = 1' > /etc/sysctl.d/60-lbdoctor.conf"},
			Errno:       "EADDRNOTAVAIL", Listener: &nginx.Listeners[0]},
		{ID: "LBD401", Severity: checks.Error, Service: "nginx", Pos: nginx.Listeners[3].Pos, Address: "10.0.0.100", Port: 443,
			Message:     "nginx would fail on the BACKUP node: bind() to 10.0.0.100:443 failed (99: Cannot assign requested address)",
			DaemonError: "nginx: [emerg] bind() to 10.0.0.100:443 failed (99: Cannot assign requested address)",
			Why:         "10.0.0.100 is keepalived VIP of vrrp_instance VI_1, held only by the MASTER, and net.ipv4.ip_nonlocal_bind is 0",
			Fix:         []string{"sysctl -w net.ipv4.ip_nonlocal_bind=1", "echo 'net.ipv4.ip_nonlocal_bind = 1' > /etc/sysctl.d/60-lbdoctor.conf"},
			Errno:       "EADDRNOTAVAIL", Listener: &nginx.Listeners[3]},
		{ID: "LBD401", Severity: checks.Warning, Service: "haproxy", Pos: hap.Listeners[0].Pos, Address: "fd00::100", Port: 443,
			Message: "haproxy binds now, but would fail after a failover: cannot bind socket (Cannot assign requested address) for [fd00::100:443]",
			Why:     "fd00::100 is keepalived VIP of vrrp_instance VI_6, held only by the MASTER; this node holds it now, and net.ipv6.ip_nonlocal_bind is 0",
			Fix:     []string{"sysctl -w net.ipv6.ip_nonlocal_bind=1"},
			Errno:   "EADDRNOTAVAIL", Listener: &hap.Listeners[0]},
		{ID: "LBD001", Severity: checks.Error, Service: "haproxy", Pos: parsers.Pos{File: "/etc/haproxy/haproxy.cfg", Line: 31},
			Message: "unknown keyword 'bnid' in 'frontend' section", Why: "haproxy would refuse this configuration"},
	}
	return &checks.Result{
		Input:    in,
		Findings: findings,
		Services: []checks.ServiceResult{
			{Name: "nginx", Path: nginx.Path, Status: checks.StatusFail, Listeners: []checks.ListenerResult{
				{Listener: &nginx.Listeners[0], Status: checks.StatusFail, Errno: "EADDRNOTAVAIL", Finding: "LBD401"},
				{Listener: &nginx.Listeners[1], Status: checks.StatusOK},
				{Listener: &nginx.Listeners[2], Status: checks.StatusOK},
				{Listener: &nginx.Listeners[3], Status: checks.StatusFail, Errno: "EADDRNOTAVAIL", Finding: "LBD401"},
			}},
			{Name: "haproxy", Path: hap.Path, Status: checks.StatusFail, Listeners: []checks.ListenerResult{
				{Listener: &hap.Listeners[0], Status: checks.StatusWarn, Errno: "EADDRNOTAVAIL", Finding: "LBD401"},
				{Listener: &hap.Listeners[1], Status: checks.StatusOK},
				{Listener: &hap.Listeners[2], Status: checks.StatusOK},
			}},
			{Name: "keepalived", Path: "/etc/keepalived/keepalived.conf", Status: checks.StatusNotFound},
		},
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer, *checks.Result) error
	}{
		{"text.golden", func(b *bytes.Buffer, r *checks.Result) error { return Text(b, r, TextOptions{}) }},
		{"text-color.golden", func(b *bytes.Buffer, r *checks.Result) error { return Text(b, r, TextOptions{Color: true}) }},
		{"json.golden", func(b *bytes.Buffer, r *checks.Result) error { return JSON(b, r) }},
		{"sarif.golden", func(b *bytes.Buffer, r *checks.Result) error { return SARIF(b, "v0.0.0-test", r) }},
		{"github.golden", func(b *bytes.Buffer, r *checks.Result) error { return GitHub(b, r) }},
		{"junit.golden", func(b *bytes.Buffer, r *checks.Result) error { return JUnit(b, r) }},
		{"prometheus.golden", func(b *bytes.Buffer, r *checks.Result) error { return Prometheus(b, promRun(r)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, fixture()); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("..", "testdata", "report", tc.name)
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("%s differs; run go test ./report -update and review the diff\n--- got:\n%s", tc.name, b.String())
			}
		})
	}
}

// TestNoRawControl keeps text taken from configs from reaching the
// terminal raw, and the JSON valid.
func TestNoRawControl(t *testing.T) {
	var text, js bytes.Buffer
	if err := Text(&text, fixture(), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsRune(text.Bytes(), 0x1b) {
		t.Errorf("plain text report holds an ESC byte:\n%q", text.String())
	}
	if err := JSON(&js, fixture()); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(js.Bytes()) {
		t.Error("JSON report is not valid JSON")
	}
}

// TestJSONEmpty pins the streamed document where nothing was found: empty
// lists print as [], as encoding/json prints them.
func TestJSONEmpty(t *testing.T) {
	r := &checks.Result{Input: &checks.Input{Host: &host.Facts{Hostname: "lb1"}, Role: checks.RoleCurrent}}
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	want := `{
  "schema": "lbdoctor/v1",
  "role": "current",
  "host": {
    "hostname": "lb1",
    "source": "",
    "addresses": [],
    "sysctls": {}
  },
  "services": [],
  "findings": [],
  "summary": {
    "errors": 0,
    "warnings": 0,
    "infos": 0,
    "ignored": 0
  }
}
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestBatchesMatchOneByOne renders a result far bigger than a batch with
// every CPU and with one: big reports are rendered in parallel batches, and
// must not differ by a byte from rendering them one item after another.
func TestBatchesMatchOneByOne(t *testing.T) {
	r := fixture()
	// 3,000 copies of the fixture's listeners and findings: several batches
	// of 4,096, split unevenly between the workers.
	for i := range r.Services[:2] {
		one := r.Services[i].Listeners
		for range 3000 {
			r.Services[i].Listeners = append(r.Services[i].Listeners, one...)
		}
	}
	one := r.Findings
	for range 3000 {
		r.Findings = append(r.Findings, one...)
	}
	render := func() (text, js []byte) {
		var a, b bytes.Buffer
		if err := Text(&a, r, TextOptions{ShowIgnored: true}); err != nil {
			t.Fatal(err)
		}
		if err := JSON(&b, r); err != nil {
			t.Fatal(err)
		}
		return a.Bytes(), b.Bytes()
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	wantText, wantJSON := render()
	runtime.GOMAXPROCS(3)
	gotText, gotJSON := render()
	if !bytes.Equal(gotText, wantText) {
		t.Error("the text report rendered in batches differs from the one rendered in order")
	}
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Error("the JSON report rendered in batches differs from the one rendered in order")
	}
	if !json.Valid(gotJSON) || bytes.Count(gotText, []byte("LBD401")) < 6000 {
		t.Errorf("the big report is not what was rendered: %d bytes of JSON (valid: %v)", len(gotJSON), json.Valid(gotJSON))
	}
}
