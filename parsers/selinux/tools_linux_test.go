package selinux

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// These tests hold lbdoctor's reading of the installed policy (the module
// store's CIL, read without any SELinux tool) against the real query tools
// on the binary policy that libsemanage compiled from the same store:
// seinfo and sesearch from setools, setools' Python API for what the CLI
// does not print (the kernel's search order of port contexts), and
// matchpathcon from libselinux. Debian's
// selinux-policy-default and setools provide them; no SELinux kernel is
// needed.

const storeName = "default"

// grid are the domains asked one by one with sesearch -s.
var grid = []string{
	"httpd_t", "haproxy_t", "squid_t", "varnishd_t", "redis_t", "postgresql_t", "mysqld_t",
	"named_t", "sshd_t", "ntpd_t", "dnsmasq_t", "tor_t", "systemd_socket_proxyd_t",
	"unconfined_t", "memcached_t", "openvpn_t", "dhcpd_t", "snmpd_t", "zabbix_agent_t",
	"initrc_t", "init_t",
}

// python3 is an interpreter that has setools.
func python3(t *testing.T) string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import setools").Run() == nil {
			return p
		}
	}
	t.Skip("SKIP: no python3 with setools (apt-get install setools python3-setools)")
	return ""
}

func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"seinfo", "sesearch", "matchpathcon"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: %s not installed (apt-get install setools selinux-utils): the SELinux grid is not checked", tool)
		}
	}
	if _, err := os.ReadDir("/var/lib/selinux/" + storeName + "/active/modules"); err != nil {
		t.Skipf("SKIP: the %s policy's module store is not readable (%v): install selinux-policy-default and run as root", storeName, err)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func binaryPolicy(t *testing.T, root string) string {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(root, "/etc/selinux", storeName, "policy/policy.*"))
	if len(ms) == 0 {
		t.Fatalf("no binary policy below %s/etc/selinux/%s/policy", root, storeName)
	}
	sort.Strings(ms)
	return ms[len(ms)-1]
}

// localStore copies the installed store and /etc/selinux below a
// temporary root, adds local changes the way semanage would (ports.local,
// booleans.local, file_contexts.local, a permissive_httpd_t module, and a
// module in the shape of RHEL's haproxy_t policy) and has semodule
// rebuild the policy there.
func localStore(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("semodule"); err != nil {
		t.Skip("SKIP: semodule not installed: the local-changes grid is not checked")
	}
	root := t.TempDir()
	for _, d := range []string{"/var/lib/selinux", "/etc"} {
		if err := os.MkdirAll(root+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run(t, "cp", "-a", "/var/lib/selinux/"+storeName, root+"/var/lib/selinux/")
	run(t, "cp", "-a", "/etc/selinux", root+"/etc/")
	active := root + "/var/lib/selinux/" + storeName + "/active/"
	write := func(name, s string) {
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// semanage port -a / -m: a new port, a port the policy already types
	// (8080 is http_cache_port_t), a UDP port for QUIC, a range, a range
	// over specific policy ports (libsemanage refuses local ranges that
	// overlap each other).
	write(active+"ports.local", strings.Join([]string{
		"portcon tcp 8888 system_u:object_r:http_port_t:s0",
		"portcon tcp 8080 system_u:object_r:ssh_port_t:s0",
		"portcon udp 8443 system_u:object_r:http_port_t:s0",
		"portcon tcp 9000-9100 system_u:object_r:http_cache_port_t:s0",
		"portcon tcp 600-700 system_u:object_r:http_port_t:s0",
		"",
	}, "\n"))
	// setsebool -P; systemd_socket_proxyd_bind_any guards a false branch.
	write(active+"booleans.local", "httpd_enable_ftp_server=1\nallow_ypbind=1\nsystemd_socket_proxyd_bind_any=1\n")
	dir := t.TempDir()
	write(dir+"/permissive_httpd_t.cil", "(typepermissive httpd_t)\n")
	write(dir+"/lbd_haproxy.cil", rhelHAProxy)
	run(t, "semodule", "-p", root, "-s", storeName, "-n", "-X", "400", "-i", dir+"/permissive_httpd_t.cil", dir+"/lbd_haproxy.cil")
	write(root+"/etc/selinux/"+storeName+"/contexts/files/file_contexts.local",
		"/opt/lb/sbin/nginx\t--\tsystem_u:object_r:httpd_exec_t:s0\n/opt/lb/sbin/.*\t--\tsystem_u:object_r:haproxy_exec_t:s0\n")
	return root
}

// rhelHAProxy stands in for RHEL's haproxy_t, which Debian's reference
// policy does not have: the name_bind rules of the rhcs module of
// fedora-selinux/selinux-policy (commplex_main_port_t, http_port_t and
// http_cache_port_t; haproxy_connect_any adds every port, TCP only), a
// process transition from init_t, and two optionals, one whose
// requirement no module declares (it must not count) and one whose
// requirement exists.
const rhelHAProxy = `(type haproxy_t)
(roletype system_r haproxy_t)
(typeattributeset domain (haproxy_t))
(type haproxy_exec_t)
(roletype object_r haproxy_exec_t)
(typeattributeset file_type (haproxy_exec_t))
(typeattributeset exec_type (haproxy_exec_t))
(boolean haproxy_connect_any false)
(typetransition init_t haproxy_exec_t process haproxy_t)
(allow haproxy_t http_port_t (tcp_socket (name_bind name_connect)))
(allow haproxy_t http_cache_port_t (tcp_socket (name_bind)))
(allow haproxy_t commplex_main_port_t (tcp_socket (name_bind)))
(booleanif (haproxy_connect_any)
    (true
        (allow haproxy_t port_type (tcp_socket (name_bind)))
    )
)
(optional lbd_haproxy_optional_1
    (typeattributeset cil_gen_require lbd_no_such_t)
    (allow haproxy_t ssh_port_t (tcp_socket (name_bind)))
)
(optional lbd_haproxy_optional_2
    (typeattributeset cil_gen_require httpd_t)
    (allow haproxy_t ftp_port_t (tcp_socket (name_bind)))
)
(filecon "/usr/sbin/haproxy" file (system_u object_r haproxy_exec_t ((s0) (s0))))
`

func TestGridInstalled(t *testing.T) {
	needTools(t)
	checkGrid(t, "")
}

func TestGridLocalChanges(t *testing.T) {
	needTools(t)
	if os.Geteuid() != 0 {
		t.Skip("SKIP: semodule needs root to rebuild a copy of the store")
	}
	root := localStore(t)
	checkGrid(t, root)

	// What the grid agreed on, spelled out for the cases the checks use.
	p, err := ReadPolicy(parsers.Root(root), storeName)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		proto string
		port  int
		want  string
	}{
		{"tcp", 8888, "http_port_t"}, {"tcp", 8889, "unreserved_port_t"}, {"tcp", 8080, "ssh_port_t"},
		{"udp", 8443, "http_port_t"}, {"tcp", 8443, "http_port_t"}, {"tcp", 631, "http_port_t"}, {"udp", 631, "ipp_port_t"},
		{"tcp", 9000, "http_cache_port_t"}, {"tcp", 9100, "http_cache_port_t"}, {"tcp", 9101, "hplip_port_t"},
	} {
		if pc, _ := PortType(p.Ports, p.DefaultPortType, c.proto, c.port); pc.Type != c.want {
			t.Errorf("%d/%s: %s, want %s", c.port, c.proto, pc.Type, c.want)
		}
	}
	// The facts a snapshot records, with SELinux enforcing now.
	for _, f := range []string{"/sys/fs/selinux/booleans"} {
		if err := os.MkdirAll(root+f, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(root+"/sys/fs/selinux/enforce", []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root+"/sys/fs/selinux/booleans/haproxy_connect_any", []byte("1 1"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Read(parsers.Root(root), []string{"nginx", "haproxy"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Mode != Enforcing || f.BootMode != Permissive || f.Policy != storeName {
		t.Errorf("mode %s, boot %s, policy %s", f.Mode, f.BootMode, f.Policy)
	}
	ng, ok1 := f.Domain("nginx")
	hp, ok2 := f.Domain("haproxy")
	if !ok1 || !ok2 || ng.Domain != "httpd_t" || !ng.Permissive || hp.Domain != "haproxy_t" || hp.Permissive {
		t.Fatalf("domains: %+v", f.Domains)
	}
	now, boot := f.BoolValue(false), f.BoolValue(true)
	for _, c := range []struct {
		d         *Domain
		proto     string
		typ       string
		now, boot bool
	}{
		{ng, "tcp", "http_port_t", true, true},
		{ng, "tcp", "unreserved_port_t", false, false},
		{ng, "tcp", "ftp_port_t", true, true}, // httpd_enable_ftp_server=1 in booleans.local
		{ng, "udp", "http_port_t", false, false},
		{hp, "tcp", "commplex_main_port_t", true, true},
		{hp, "tcp", "ssh_port_t", true, false}, // only through haproxy_connect_any, on now but not persisted
		{hp, "tcp", "ftp_port_t", true, true},  // the optional whose requirement exists
		{hp, "tcp", "unreserved_port_t", true, false},
		{hp, "udp", "unreserved_port_t", false, false}, // haproxy_connect_any is TCP only
	} {
		if got := c.d.MayBind(c.proto, c.typ, now); got != c.now {
			t.Errorf("%s %s:%s now: %t, want %t", c.d.Domain, c.typ, c.proto, got, c.now)
		}
		if got := c.d.MayBind(c.proto, c.typ, boot); got != c.boot {
			t.Errorf("%s %s:%s at boot: %t, want %t", c.d.Domain, c.typ, c.proto, got, c.boot)
		}
	}
	fc, err := ReadFileContexts(parsers.Root(root), storeName)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/opt/lb/sbin/nginx": "httpd_exec_t", "/opt/lb/sbin/haproxy": "haproxy_exec_t", "/usr/sbin/haproxy": "haproxy_exec_t"} {
		if ctx, _, _ := fc.Lookup(path); contextType(ctx) != want {
			t.Errorf("%s: %s, want %s (file_contexts.local, filecon of a module)", path, ctx, want)
		}
	}
	// The executables' own labels come first: an nginx copied into place
	// without a relabel keeps bin_t, and init_t runs it in initrc_t.
	if err := os.MkdirAll(root+"/usr/sbin", 0o755); err != nil {
		t.Fatal(err)
	}
	for exe, label := range map[string]string{"/usr/sbin/nginx": "system_u:object_r:bin_t:s0", "/usr/sbin/haproxy": "system_u:object_r:haproxy_exec_t:s0"} {
		if err := os.WriteFile(root+exe, nil, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Setxattr(root+exe, "security.selinux", append([]byte(label), 0), 0); err != nil {
			t.Skipf("SKIP: this file system takes no security.selinux attribute (%v)", err)
		}
	}
	f, err = Read(parsers.Root(root), []string{"nginx", "haproxy"})
	if err != nil {
		t.Fatal(err)
	}
	ng, _ = f.Domain("nginx")
	hp, _ = f.Domain("haproxy")
	if ng == nil || ng.Label != "xattr" || ng.ExecType != "bin_t" || ng.Domain != "initrc_t" || hp == nil || hp.Label != "xattr" || hp.Domain != "haproxy_t" {
		t.Errorf("domains from xattrs: %+v", f.Domains)
	}
	for _, g := range p.Grants("haproxy_t") {
		if g.Cond == "" && g.Types["ssh_port_t"] {
			t.Errorf("haproxy_t may bind ssh_port_t without a condition: the optional that requires lbd_no_such_t was compiled in")
		}
	}
}

func checkGrid(t *testing.T, root string) {
	py := python3(t)
	bin := binaryPolicy(t, root)
	p, err := ReadPolicy(parsers.Root(root), storeName)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range p.Notes {
		t.Logf("note: %s", n)
	}

	// 1. The port contexts: the set seinfo --portcon lists, and the type
	// of every port of both protocols as the kernel finds it (the first
	// context of the binary policy's list that holds it).
	var tool []string
	for _, line := range strings.Split(run(t, "seinfo", bin, "--portcon"), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "portcon" {
			tool = append(tool, f[1]+" "+f[2]+" "+contextType(f[3]))
		}
	}
	var ours []string
	for _, pc := range p.Ports {
		s := pc
		s.Local = false
		ours = append(ours, s.String())
	}
	sort.Strings(tool)
	sort.Strings(ours)
	if strings.Join(tool, "\n") != strings.Join(ours, "\n") {
		t.Errorf("port contexts differ from seinfo --portcon:\n%s", diffLines(tool, ours))
	}
	kernel := kernelPortTypes(t, py, bin)
	cells, bad := 0, 0
	for _, proto := range []string{"tcp", "udp"} {
		for port := 1; port <= 65535; port++ {
			cells++
			pc, _ := PortType(p.Ports, p.DefaultPortType, proto, port)
			if want := kernel[proto][port]; pc.Type != want {
				if bad++; bad <= 20 {
					t.Errorf("%d/%s: lbdoctor says %s, the compiled policy %s", port, proto, pc.Type, want)
				}
			}
		}
	}
	t.Logf("port types: %d of %d (port, protocol) cells agree", cells-bad, cells)
	// seinfo --portcon=PORT lists every context holding the port: ours
	// must be the same, for edge ports.
	edge := 0
	for _, port := range []int{1, 80, 443, 511, 512, 1023, 1024, 8080, 8443, 8888, 9000, 9050, 9100, 10001, 65535} {
		var want, got []string
		for _, line := range strings.Split(run(t, "seinfo", bin, "--portcon="+strconv.Itoa(port)), "\n") {
			if f := strings.Fields(line); len(f) == 4 && f[0] == "portcon" && f[1] != "sctp" && f[1] != "dccp" {
				want = append(want, f[1]+" "+f[2]+" "+contextType(f[3]))
			}
		}
		for _, pc := range p.Ports {
			if (pc.Proto == "tcp" || pc.Proto == "udp") && pc.Low <= port && port <= pc.High {
				s := pc
				s.Local = false
				got = append(got, s.String())
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(want, "|") != strings.Join(got, "|") {
			t.Errorf("seinfo --portcon=%d:\n%s", port, diffLines(want, got))
		}
		edge++
	}

	// 2. The booleans' values at boot: seinfo -b -x.
	toolBools := map[string]bool{}
	for _, line := range strings.Split(run(t, "seinfo", bin, "-x", "-b"), "\n") {
		if f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";")); len(f) == 3 && f[0] == "bool" {
			toolBools[f[1]] = f[2] == "true"
		}
	}
	if len(toolBools) != len(p.Booleans) {
		t.Errorf("seinfo -b counts %d booleans, lbdoctor %d", len(toolBools), len(p.Booleans))
	}
	for k, v := range toolBools {
		if got, ok := p.Booleans[k]; !ok || got != v {
			t.Errorf("boolean %s: seinfo says %t, lbdoctor %t (known %t)", k, v, got, ok)
		}
	}

	// 3. Permissive types: seinfo --permissive.
	var wantPerm []string
	for _, line := range strings.Split(run(t, "seinfo", bin, "--permissive"), "\n") {
		if f := strings.Fields(line); len(f) == 1 && line != "" && strings.HasPrefix(line, "   ") {
			wantPerm = append(wantPerm, f[0])
		}
	}
	if got := sortedKeys(p.Permissive); strings.Join(got, " ") != strings.Join(wantPerm, " ") {
		t.Errorf("permissive types: setools %v, lbdoctor %v", wantPerm, got)
	}

	// 4. name_bind: for every domain, port type, protocol and boolean
	// state, sesearch's rules (their sources and targets expanded by
	// seinfo, their conditions evaluated) against lbdoctor's grants.
	universe := map[string]bool{p.DefaultPortType: true}
	for _, pc := range p.Ports {
		universe[pc.Type] = true
	}
	attrs := attributes(t, bin)
	types := map[string]bool{}
	for _, tp := range p.Types() {
		types[tp] = true
	}
	expandTool := func(name string) []string {
		if m, ok := attrs[name]; ok {
			return m
		}
		return []string{name}
	}
	all := parseSesearch(t, run(t, "sesearch", "-A", "-c", "tcp_socket,udp_socket", "-p", "name_bind", bin))
	byDomain := map[string][]toolRule{}
	for _, r := range all {
		for _, d := range expandTool(r.src) {
			byDomain[d] = append(byDomain[d], r)
		}
	}
	present := map[string]bool{}
	for _, d := range grid {
		if types[d] {
			present[d] = true
			// sesearch -s matches the domain's attributes itself.
			mine := parseSesearch(t, run(t, "sesearch", "-A", "-s", d, "-c", "tcp_socket,udp_socket", "-p", "name_bind", bin))
			if a, b := ruleKeys(mine), ruleKeys(byDomain[d]); a != b {
				t.Errorf("sesearch -s %s lists other rules than sesearch's whole list expanded by seinfo:\n%s\n--\n%s", d, a, b)
			}
		}
	}
	var domains []string
	for d := range byDomain {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	var missing []string
	for _, d := range grid {
		if !present[d] {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		t.Logf("domains of the grid this policy does not have: %v", missing)
	}
	gridCells, gridBad, states := 0, 0, 0
	domainCells := 0
	for _, d := range domains {
		rules := byDomain[d]
		grants := p.Grants(d)
		names := map[string]bool{}
		for _, r := range rules {
			for _, n := range condNames(r.cond) {
				names[n] = true
			}
		}
		for _, g := range grants {
			for _, n := range CondNames(g.Cond) {
				if !names[n] {
					t.Errorf("%s: lbdoctor's grant reads boolean %s, which no sesearch rule of the domain names", d, n)
				}
			}
		}
		for _, st := range boolStates(sortedKeys(names), p.Booleans) {
			states++
			val := func(n string) (bool, bool) {
				if v, ok := st[n]; ok {
					return v, true
				}
				v, ok := p.Booleans[n]
				return v, ok
			}
			for _, proto := range []string{"tcp", "udp"} {
				toolOK := map[string]bool{}
				for _, r := range rules {
					if r.class != proto+"_socket" || evalInfix(t, r.cond, val) != r.branch {
						continue
					}
					for _, tg := range expandTool(r.tgt) {
						toolOK[tg] = true
					}
				}
				for typ := range universe {
					ours := false
					for _, g := range grants {
						if g.Proto != proto || !g.Types[typ] {
							continue
						}
						if v, _ := EvalCond(g.Cond, val); v == g.Branch {
							ours = true
							break
						}
					}
					gridCells++
					if ours != toolOK[typ] {
						if gridBad++; gridBad <= 20 {
							t.Errorf("%s name_bind %s:%s_socket with %v: sesearch %t, lbdoctor %t", d, typ, proto, st, toolOK[typ], ours)
						}
					}
				}
			}
		}
		domainCells++
	}
	t.Logf("name_bind: %d of %d (domain, port type, protocol, boolean state) cells agree: %d domains, %d port types, %d boolean states in all",
		gridCells-gridBad, gridCells, domainCells, len(universe), states)

	// The same end to end, as the checks ask it: for the grid's domains,
	// every port of both protocols, through the facts a snapshot records
	// (Facts.PortType and Domain.MayBind) against the kernel's port type
	// and sesearch's rules, with the policy's booleans and with all on.
	facts := &Facts{Ports: p.Ports, DefaultPortType: p.DefaultPortType}
	e2e, e2eBad := 0, 0
	portTypes := map[string][]string{}
	for _, proto := range []string{"tcp", "udp"} {
		portTypes[proto] = make([]string, 65536)
		for port := 1; port <= 65535; port++ {
			pc, _ := facts.PortType(proto, port)
			portTypes[proto][port] = pc.Type
		}
	}
	for _, d := range grid {
		if !present[d] {
			continue
		}
		dom := Domain{Domain: d, Binds: p.domainBinds(d, universe, map[string]bool{})}
		for _, allOn := range []bool{false, true} {
			val := func(n string) (bool, bool) {
				if allOn {
					return true, true
				}
				v, ok := p.Booleans[n]
				return v, ok
			}
			for _, proto := range []string{"tcp", "udp"} {
				toolOK := map[string]bool{}
				for _, r := range byDomain[d] {
					if r.class == proto+"_socket" && evalInfix(t, r.cond, val) == r.branch {
						for _, tg := range expandTool(r.tgt) {
							toolOK[tg] = true
						}
					}
				}
				may := map[string]bool{} // MayBind per port type, asked once
				for port := 1; port <= 65535; port++ {
					e2e++
					typ := portTypes[proto][port]
					ok, seen := may[typ]
					if !seen {
						ok = dom.MayBind(proto, typ, val)
						may[typ] = ok
					}
					if ok != toolOK[kernel[proto][port]] {
						if e2eBad++; e2eBad <= 20 {
							t.Errorf("%s bind %d/%s (all booleans on: %t): lbdoctor %t, the tools %t", d, port, proto, allOn, !toolOK[kernel[proto][port]], toolOK[kernel[proto][port]])
						}
					}
				}
			}
		}
	}
	t.Logf("end to end: %d of %d (grid domain, port, protocol, boolean setting) cells agree", e2e-e2eBad, e2e)

	// 5. Domain transitions from init_t (systemd), for every executable
	// type sesearch -T names.
	trans := 0
	for _, line := range strings.Split(run(t, "sesearch", "-T", "-s", InitDomain, "-c", "process", bin), "\n") {
		m := regexp.MustCompile(`^type_transition (\S+) (\S+):process (\S+);$`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, src := range expandTool(m[1]) {
			if src != InitDomain {
				continue
			}
			for _, ex := range expandTool(m[2]) {
				trans++
				if got, ok := p.Transition(InitDomain, ex); !ok || got != m[3] {
					t.Errorf("init_t executing %s: sesearch -T says %s, lbdoctor %s (%t)", ex, m[3], got, ok)
				}
			}
		}
	}
	t.Logf("transitions: %d init_t process transitions checked", trans)

	// 6. The label of executables: matchpathcon against lbdoctor's reading
	// of file_contexts, for every file of /usr/sbin and /usr/bin and the
	// daemons' paths.
	fc, err := ReadFileContexts(parsers.Root(root), storeName)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/usr/sbin/nginx", "/usr/sbin/haproxy", "/sbin/nginx", "/usr/sbin/httpd", "/usr/sbin/apache2", "/usr/bin/redis-server", "/opt/lb/sbin/nginx", "/opt/lb/sbin/haproxy", "/usr/local/sbin/nginx"}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			paths = append(paths, dir+"/"+e.Name())
		}
	}
	fcFile := filepath.Join(root, "/etc/selinux", storeName, "contexts/files/file_contexts")
	out := run(t, "matchpathcon", append([]string{"-m", "file", "-f", fcFile}, paths...)...)
	fcBad := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		n++
		got, _, ok := fc.Lookup(f[0])
		want := f[1]
		if want == "<<none>>" {
			want = ""
		}
		if !ok {
			got = ""
		}
		if contextType(got) != contextType(want) {
			if fcBad++; fcBad <= 20 {
				t.Errorf("%s: matchpathcon %s, lbdoctor %s", f[0], want, got)
			}
		}
	}
	if n != len(paths) {
		t.Errorf("matchpathcon answered %d of %d paths", n, len(paths))
	}
	t.Logf("file contexts: %d of %d executables' types agree with matchpathcon", n-fcBad, n)
	t.Logf("seinfo --portcon=PORT: %d edge ports compared", edge)
}

// kernelPortTypes is the type of every port of tcp and udp as the kernel
// finds it: the first port context of the binary policy that holds it,
// else the port initial SID's.
func kernelPortTypes(t *testing.T, py, bin string) map[string][]string {
	out := run(t, py, "-c", `import setools,sys
p=setools.SELinuxPolicy(sys.argv[1])
dflt=[str(s.context.type_) for s in p.initialsids() if str(s)=="port"][0]
for proto in ("tcp","udp"):
    pr=getattr(setools.PortconProtocol, proto)
    tab=[None]*65536
    for pc in p.portcons():
        if pc.protocol!=pr: continue
        for port in range(pc.ports.low, pc.ports.high+1):
            if tab[port] is None: tab[port]=str(pc.context.type_)
    for port in range(1,65536):
        print(proto, port, tab[port] or dflt)`, bin)
	res := map[string][]string{"tcp": make([]string, 65536), "udp": make([]string, 65536)}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		port, _ := strconv.Atoi(f[1])
		res[f[0]][port] = f[2]
	}
	return res
}

// attributes are the binary policy's attributes and their types (seinfo
// -a -x).
func attributes(t *testing.T, bin string) map[string][]string {
	out := map[string][]string{}
	cur := ""
	for _, line := range strings.Split(run(t, "seinfo", bin, "-x", "-a"), "\n") {
		s := strings.TrimSpace(line)
		if strings.HasPrefix(s, "attribute ") {
			cur = strings.TrimSuffix(strings.TrimPrefix(s, "attribute "), ";")
			out[cur] = []string{}
			continue
		}
		if cur != "" && s != "" && strings.HasPrefix(line, "\t") {
			out[cur] = append(out[cur], s)
		}
	}
	return out
}

type toolRule struct {
	src, tgt, class, cond string
	branch                bool
}

var sesearchLine = regexp.MustCompile(`^allow (\S+) (\S+):(\S+) (?:\{[^}]*\}|\S+);(?: \[ (.*) \]:(True|False))?$`)

func parseSesearch(t *testing.T, out string) []toolRule {
	var rs []toolRule
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		m := sesearchLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("sesearch line not understood: %q", line)
		}
		for _, cls := range strings.Fields(strings.Trim(m[3], "{}")) {
			rs = append(rs, toolRule{src: m[1], tgt: m[2], class: cls, cond: m[4], branch: m[5] != "False"})
		}
	}
	return rs
}

func ruleKeys(rs []toolRule) string {
	var ks []string
	for _, r := range rs {
		ks = append(ks, fmt.Sprintf("%s %s %s [%s]:%t", r.src, r.tgt, r.class, r.cond, r.branch))
	}
	sort.Strings(ks)
	return strings.Join(ks, "\n")
}

// boolStates are the boolean settings tried for a domain: the policy's,
// all on, all off, and each one flipped alone.
func boolStates(names []string, def map[string]bool) []map[string]bool {
	states := []map[string]bool{{}}
	if len(names) == 0 {
		return states
	}
	on, off := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		on[n], off[n] = true, false
	}
	states = append(states, on, off)
	for _, n := range names {
		states = append(states, map[string]bool{n: !def[n]})
	}
	return states
}

// condNames and evalInfix read sesearch's infix conditions
// ("a && ! b", "( a || b )"): the test's own reader, independent of the
// package's CIL one.
func condNames(cond string) []string {
	var out []string
	for _, tok := range strings.Fields(cond) {
		switch tok {
		case "!", "&&", "||", "^", "==", "!=", "(", ")":
		default:
			out = append(out, tok)
		}
	}
	return out
}

func evalInfix(t *testing.T, cond string, val func(string) (bool, bool)) bool {
	if cond == "" {
		return true
	}
	toks := strings.Fields(cond)
	i := 0
	var or func() bool
	unary := func() bool {
		neg := false
		for i < len(toks) && toks[i] == "!" {
			neg = !neg
			i++
		}
		var v bool
		if i < len(toks) && toks[i] == "(" {
			i++
			v = or()
			i++ // ")"
		} else if i < len(toks) {
			v, _ = val(toks[i])
			i++
		}
		return v != neg
	}
	cmp := func() bool {
		v := unary()
		for i < len(toks) && (toks[i] == "==" || toks[i] == "!=" || toks[i] == "^") {
			op := toks[i]
			i++
			w := unary()
			if op == "==" {
				v = v == w
			} else {
				v = v != w
			}
		}
		return v
	}
	and := func() bool {
		v := cmp()
		for i < len(toks) && toks[i] == "&&" {
			i++
			w := cmp()
			v = v && w
		}
		return v
	}
	or = func() bool {
		v := and()
		for i < len(toks) && toks[i] == "||" {
			i++
			w := and()
			v = v || w
		}
		return v
	}
	v := or()
	if i != len(toks) {
		t.Fatalf("condition %q not understood", cond)
	}
	return v
}

func diffLines(want, got []string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, s := range want {
		w[s] = true
	}
	for _, s := range got {
		g[s] = true
	}
	var b strings.Builder
	for _, s := range want {
		if !g[s] {
			fmt.Fprintf(&b, "  only the tool: %s\n", s)
		}
	}
	for _, s := range got {
		if !w[s] {
			fmt.Fprintf(&b, "  only lbdoctor: %s\n", s)
		}
	}
	return b.String()
}
