// Package ansible_test plays the lbdoctor role (ansible/roles/lbdoctor,
// run by ansible/lbdoctor.yml) for real: Debian's ansible-playbook over SSH
// against load balancers that are network namespaces with their own
// addresses, mount namespaces, configs, sysctls and sshd.
package ansible_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fleetHost is one load balancer of the test fleet.
type fleetHost struct {
	name, addr string
	ns         string
	dir        string // its tree: etc/, upper/ and work/ (its /etc overlay), ssh/
	keepalived string
	nginx      string // "" for none
	haproxy    string
	nonlocal   string // net.ipv4.ip_nonlocal_bind, at run time and in sysctl.d
	sshdPID    int
}

func keepalivedConf(name, inst, state string, vrid, prio, advert int, self, peer, vip string) string {
	return fmt.Sprintf(`global_defs {
    router_id %s
}

vrrp_instance %s {
    state %s
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int %d
    authentication {
        auth_type PASS
        auth_pass s3cret12
    }
    unicast_src_ip %s
    unicast_peer {
        %s
    }
    virtual_ipaddress {
        %s/24 dev eth0
    }
}
`, name, inst, state, vrid, prio, advert, self, peer, vip)
}

const fleetNginx = `events {}
http {
    server {
        listen 10.77.0.100:80;
        return 200 "ok\n";
    }
}
`

const fleetHAProxy = `global
    maxconn 100

defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 10.77.0.200:8080
    default_backend be

backend be
    server s1 127.0.0.1:9000
`

// fleetHosts: lb1+lb2 a healthy pair (nginx on VIP 10.77.0.100, nonlocal
// bind on both); lb3+lb4 a pair whose nodes disagree on advert_int, and
// whose BACKUP lb4 cannot bind HAProxy's VIP 10.77.0.200 (nonlocal bind
// off); lb9 is in the inventory but nothing answers at its address.
func fleetHosts() []*fleetHost {
	return []*fleetHost{
		{name: "lb1", addr: "10.77.0.11", nginx: fleetNginx, nonlocal: "1",
			keepalived: keepalivedConf("lb1", "VI_1", "MASTER", 51, 150, 1, "10.77.0.11", "10.77.0.12", "10.77.0.100")},
		{name: "lb2", addr: "10.77.0.12", nginx: fleetNginx, nonlocal: "1",
			keepalived: keepalivedConf("lb2", "VI_1", "BACKUP", 51, 100, 1, "10.77.0.12", "10.77.0.11", "10.77.0.100")},
		{name: "lb3", addr: "10.77.0.13", haproxy: fleetHAProxy, nonlocal: "1",
			keepalived: keepalivedConf("lb3", "VI_2", "MASTER", 52, 150, 1, "10.77.0.13", "10.77.0.14", "10.77.0.200")},
		{name: "lb4", addr: "10.77.0.14", haproxy: fleetHAProxy, nonlocal: "0",
			keepalived: keepalivedConf("lb4", "VI_2", "BACKUP", 52, 100, 2, "10.77.0.14", "10.77.0.13", "10.77.0.200")},
	}
}

// TestAnsibleFleet runs ansible/lbdoctor.yml twice, in check mode and
// not, from a controller namespace over SSH against four hosts and one
// unreachable address, and checks the play's result, the fleet report,
// and that no host changed.
func TestAnsibleFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("TestAnsibleFleet runs ansible-playbook against sshd in network namespaces: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("TestAnsibleFleet SKIPPED: needs root to create network and mount namespaces and run sshd")
	}
	for _, tool := range []string{"ip", "unshare", "nsenter", "mount", "hostname", "ansible-playbook", "ssh", "ssh-keygen", "python3", "/usr/sbin/sshd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("TestAnsibleFleet SKIPPED: %s is not installed (%v); apt-get install ansible openssh-server openssh-client", tool, err)
		}
	}
	if err := exec.Command("grep", "-qw", "overlay", "/proc/filesystems").Run(); err != nil {
		t.Skip("TestAnsibleFleet SKIPPED: the kernel has no overlay filesystem for the hosts' private /etc")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	began := time.Now()
	tmp := t.TempDir()
	bin := os.Getenv("LBDOCTOR_BIN") // a static lbdoctor already built
	if bin == "" {
		bin = filepath.Join(tmp, "lbdoctor")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "../cmd/lbdoctor")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build lbdoctor: %v\n%s", err, out)
		}
	}
	key := filepath.Join(tmp, "id_ed25519")
	run(ctx, t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lbdoctor-fleet-test", "-f", key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}

	// The network: a bridge in a namespace of its own, each host and the
	// controller a namespace with a veth into it. The machine's own
	// namespace never sees a link.
	prefix := fmt.Sprintf("lbdans%d", os.Getpid())
	br := prefix + "-br"
	addNetns(ctx, t, br)
	run(ctx, t, "ip", "-n", br, "link", "add", "br0", "type", "bridge")
	run(ctx, t, "ip", "-n", br, "link", "set", "br0", "up")
	link := func(ns, addr string, i int) {
		addNetns(ctx, t, ns)
		port := fmt.Sprintf("p%d", i)
		run(ctx, t, "ip", "-n", br, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
		run(ctx, t, "ip", "-n", br, "link", "set", port, "master", "br0", "up")
		run(ctx, t, "ip", "-n", ns, "link", "set", "lo", "up")
		run(ctx, t, "ip", "-n", ns, "addr", "add", addr+"/24", "dev", "eth0")
		run(ctx, t, "ip", "-n", ns, "link", "set", "eth0", "up")
	}
	ctl := prefix + "-ctl"
	link(ctl, "10.77.0.2", 0)

	hosts := fleetHosts()
	for i, h := range hosts {
		h.ns = prefix + "-" + h.name
		h.dir = filepath.Join(tmp, h.name)
		link(h.ns, h.addr, i+1)
		run(ctx, t, "ip", "netns", "exec", h.ns, "sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind="+h.nonlocal)
		writeFile(t, filepath.Join(h.dir, "etc", "keepalived", "keepalived.conf"), h.keepalived)
		mkdir(t, filepath.Join(h.dir, "etc", "nginx"))
		mkdir(t, filepath.Join(h.dir, "etc", "haproxy"))
		if h.nginx != "" {
			writeFile(t, filepath.Join(h.dir, "etc", "nginx", "nginx.conf"), h.nginx)
		}
		if h.haproxy != "" {
			writeFile(t, filepath.Join(h.dir, "etc", "haproxy", "haproxy.cfg"), h.haproxy)
		}
		writeFile(t, filepath.Join(h.dir, "etc", "sysctl.d", "60-lb.conf"), "net.ipv4.ip_nonlocal_bind = "+h.nonlocal+"\n")
		mkdir(t, filepath.Join(h.dir, "upper"))
		mkdir(t, filepath.Join(h.dir, "work"))
		for _, d := range []string{"upper-usr", "work-usr", "upper-var", "work-var"} {
			mkdir(t, filepath.Join(h.dir, "pkg", d)) // where a package install lands
		}
		startSSHD(ctx, t, h, string(pub))
	}

	// The machine's own root home, which ansible and ssh must not touch.
	machineRoot := machineRootState(t)
	t.Cleanup(func() {
		if got := machineRootState(t); got != machineRoot {
			t.Errorf("the machine's /root/.ansible or /root/.ssh changed:\nbefore %s\nafter  %s", machineRoot, got)
		}
	})

	t.Logf("the fleet is up after %s", time.Since(began).Round(time.Millisecond))

	// What each host is before the plays; the same after each.
	before := map[string]string{}
	for _, h := range hosts {
		before[h.name] = hostState(ctx, t, h)
	}

	// The controller: a private config, home and temp, the test's key.
	cdir := filepath.Join(tmp, "controller")
	inv := "[loadbalancers]\n"
	for _, h := range hosts {
		inv += fmt.Sprintf("%s ansible_host=%s\n", h.name, h.addr)
	}
	// healthy: the good pair and the unreachable host, for a play that
	// must pass when only warning about lb9; pair: the good pair alone.
	inv += "lb9 ansible_host=10.77.0.99\n\n[healthy]\nlb1\nlb2\nlb9\n\n[pair]\nlb1\nlb2\n\n[loadbalancers:vars]\n" +
		"ansible_user=root\n" +
		"ansible_ssh_private_key_file=" + key + "\n" +
		"ansible_ssh_common_args='-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5'\n" +
		// root su's to root without a password; the hosts have no sudo.
		"ansible_become_method=su\n" +
		"ansible_python_interpreter=/usr/bin/python3\n"
	writeFile(t, filepath.Join(cdir, "inventory.ini"), inv)
	writeFile(t, filepath.Join(cdir, "ansible.cfg"), "[defaults]\n")
	for _, d := range []string{"home", "ansible-home", "local-tmp", "cp", "tmp"} {
		mkdir(t, filepath.Join(cdir, d))
	}
	playbook, err := filepath.Abs("lbdoctor.yml")
	if err != nil {
		t.Fatal(err)
	}

	type play struct {
		out  string
		code int
		json []byte
		text string
	}
	runPlay := func(name string, extra ...string) play {
		reports := filepath.Join(tmp, "reports-"+name)
		mkdir(t, reports)
		args := append([]string{"-i", filepath.Join(cdir, "inventory.ini"), playbook,
			"-e", "lbdoctor_binary=" + bin, "-e", "lbdoctor_report_dir=" + reports}, extra...)
		// The controller in its own namespace, with a private /root
		// (ssh reads and writes below the user's home from passwd, not
		// $HOME).
		script := "mount -t tmpfs -o mode=0700 tmpfs /root && exec ansible-playbook " + shellQuote(args)
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ctl, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
		cmd.Env = append(os.Environ(),
			"HOME="+filepath.Join(cdir, "home"),
			"TMPDIR="+filepath.Join(cdir, "tmp"),
			"ANSIBLE_CONFIG="+filepath.Join(cdir, "ansible.cfg"),
			"ANSIBLE_HOME="+filepath.Join(cdir, "ansible-home"),
			"ANSIBLE_LOCAL_TEMP="+filepath.Join(cdir, "local-tmp"),
			"ANSIBLE_REMOTE_TEMP=/tmp/.ansible-remote",
			"ANSIBLE_SSH_CONTROL_PATH_DIR="+filepath.Join(cdir, "cp"),
			"ANSIBLE_HOST_KEY_CHECKING=False",
			"ANSIBLE_RETRY_FILES_ENABLED=False",
			"ANSIBLE_NOCOLOR=1",
			"ANSIBLE_PIPELINING=True",
			// Ansible's ssh_args less -C: compressing the binary costs
			// more CPU than the bridge saves.
			"ANSIBLE_SSH_ARGS=-o ControlMaster=auto -o ControlPersist=60s",
			"ANSIBLE_TIMEOUT=5",
			"ANSIBLE_FORKS=6",
			"ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
			"ANSIBLE_LOCALHOST_WARNING=False",
		)
		cmd.Dir = cdir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start).Round(time.Second)
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("ansible-playbook %s: %v\n%s", name, err, out.String())
		}
		p := play{out: out.String(), code: code}
		t.Logf("ansible-playbook %s: exit %d after %s\n%s", strings.Join(extra, " "), code, took, p.out)
		if p.json, err = os.ReadFile(filepath.Join(reports, "lbdoctor-fleet.json")); err != nil {
			t.Fatalf("the play wrote no JSON fleet report: %v", err)
		}
		text, err := os.ReadFile(filepath.Join(reports, "lbdoctor-fleet.txt"))
		if err != nil {
			t.Fatalf("the play wrote no text fleet report: %v", err)
		}
		p.text = string(text)
		return p
	}

	for _, mode := range []struct {
		name  string
		extra []string
	}{{"check", []string{"--check"}}, {"run", nil}} {
		p := runPlay(mode.name, mode.extra...)
		checkPlay(t, mode.name, p.code, p.out, p.text, p.json)
		for _, h := range hosts {
			if got := hostState(ctx, t, h); got != before[h.name] {
				t.Errorf("%s: host %s changed in the play:\nbefore:\n%s\nafter:\n%s", mode.name, h.name, before[h.name], got)
			}
		}
		if mode.name == "run" {
			t.Logf("fleet report (lbdoctor-fleet.txt, its summary):\n%s", p.text[strings.Index(p.text, "Fleet summary"):])
		}
	}

	// The healthy pair passes: exit 0, the report says so, and lb9 is
	// only a warning with lbdoctor_fail_on_unreachable=false.
	p := runPlay("healthy", "-e", "lbdoctor_hosts=healthy", "-e", "lbdoctor_fail_on_unreachable=false")
	if p.code != 0 {
		t.Errorf("healthy: ansible-playbook exited %d; want 0", p.code)
	}
	for _, want := range []string{
		`WARNING: not judged, no bundle from: lb9 \(unreachable: lb9\)`,
		`fatal: \[lb9\]: UNREACHABLE!`,
		`lb1 +: ok=\d+ +changed=2 +unreachable=0 +failed=0 `,
		`lb2 +: ok=\d+ +changed=1 +unreachable=0 +failed=0 `,
		`lb9 +: ok=\d+ +changed=0 +unreachable=0 +failed=0 +skipped=\d+ +rescued=0 +ignored=1`,
	} {
		if !regexp.MustCompile(want).MatchString(p.out) {
			t.Errorf("healthy: the play's output lacks %q", want)
		}
	}
	if strings.Contains(p.out, "would break on failover or split (") || strings.Contains(p.out, "lb3") || strings.Contains(p.out, "FAILED!") {
		t.Errorf("healthy: the play fails a task, or speaks of a breaking cluster or of lb3")
	}
	if !regexp.MustCompile(`(?m)^Fleet summary: 1 cluster, 2 nodes, 1 unreachable\n.*\nlb1\+lb2 +\* +ok +0 +0 +0 +-$`).MatchString(p.text) {
		t.Errorf("healthy: the text fleet report says:\n%s", p.text)
	}
	for _, h := range hosts {
		if got := hostState(ctx, t, h); got != before[h.name] {
			t.Errorf("healthy: host %s changed in the play:\nbefore:\n%s\nafter:\n%s", h.name, before[h.name], got)
		}
	}

	// lbdoctor_package: a .deb of the test's binary. Under --check it is
	// not installed and the binary is copied instead; then it is
	// installed, into the hosts' own /usr and /var, and runs from there.
	if _, err := os.Stat("/usr/bin/lbdoctor"); err == nil {
		t.Logf("the package plays are not run: /usr/bin/lbdoctor exists on this machine, so an install could not be told apart")
	} else if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Logf("the package plays are not run: dpkg-deb is not installed")
	} else {
		deb := buildDeb(ctx, t, tmp, bin)
		installed := func(h *fleetHost) string {
			out, _ := exec.CommandContext(ctx, "nsenter", "-t", fmt.Sprint(h.sshdPID), "-m", "sh", "-c",
				"dpkg-query -W -f '${Status} ${Version}' lbdoctor 2>&1; test -x /usr/bin/lbdoctor && echo ' /usr/bin/lbdoctor'").CombinedOutput()
			return strings.TrimSpace(string(out))
		}
		copied := regexp.MustCompile(`TASK \[lbdoctor : Copy the lbdoctor binary\][^\n]*\n(changed|ok): \[lb[12]\]\n(changed|ok): \[lb[12]\]\n`)
		notCopied := regexp.MustCompile(`TASK \[lbdoctor : Copy the lbdoctor binary\][^\n]*\nskipping: \[lb[12]\]\nskipping: \[lb[12]\]\n`)
		for _, mode := range []struct {
			name    string
			check   bool
			install string
		}{{"package-check", true, "no packages found"}, {"package", false, "install ok installed 0.0.0+fleettest1 /usr/bin/lbdoctor"}} {
			args := []string{"-e", "lbdoctor_hosts=pair", "-e", "lbdoctor_package=" + deb}
			if mode.check {
				args = append(args, "--check")
			}
			p := runPlay(mode.name, args...)
			if p.code != 0 || !regexp.MustCompile(`(?m)^lb1\+lb2 +\* +ok +0 +0 +0 +-$`).MatchString(p.text) {
				t.Errorf("%s: exit %d, fleet report:\n%s\nwant exit 0 and lb1+lb2 ok", mode.name, p.code, p.text)
			}
			if mode.check != copied.MatchString(p.out) || mode.check == notCopied.MatchString(p.out) {
				t.Errorf("%s: the binary copied: %v, want %v", mode.name, copied.MatchString(p.out), mode.check)
			}
			for _, h := range hosts[:2] {
				if got := installed(h); !strings.Contains(got, mode.install) {
					t.Errorf("%s: lbdoctor on %s: %q, want %q", mode.name, h.name, got, mode.install)
				}
				if got := hostState(ctx, t, h); got != before[h.name] {
					t.Errorf("%s: host %s changed beyond /usr and /var:\nbefore:\n%s\nafter:\n%s", mode.name, h.name, before[h.name], got)
				}
			}
		}
	}

	// The state compared sees a write to a host's /etc, or a file left
	// in its /tmp: make both on lb1 (in its private overlay and tmpfs).
	h := hosts[0]
	run(ctx, t, "nsenter", "-t", fmt.Sprint(h.sshdPID), "-m", "sh", "-c", "touch /etc/lbdoctor-canary /tmp/lbdoctor-canary")
	if got := hostState(ctx, t, h); got == before[h.name] || !strings.Contains(got, "upper/lbdoctor-canary") || !strings.Contains(got, "/tmp/lbdoctor-canary") {
		t.Errorf("hostState does not see a write to lb1's /etc and /tmp:\n%s", got)
	}
}

// machineRootState lists what /root/.ansible and /root/.ssh of the machine
// hold.
func machineRootState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, d := range []string{"/root/.ansible", "/root/.ssh"} {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				fmt.Fprintf(&b, "%s: %v\n", p, err)
				return nil
			}
			info, err := e.Info()
			if err == nil {
				fmt.Fprintf(&b, "%s %d %s\n", p, info.Size(), info.ModTime())
			}
			return nil
		})
	}
	return b.String()
}

// checkPlay holds one play to what the fleet is: lb1+lb2 healthy, lb3+lb4
// breaking (advert_int differs, lb4 cannot bind the VIP as BACKUP), lb9
// unreachable, so the play fails, saying why.
func checkPlay(t *testing.T, mode string, code int, out, text string, doc []byte) {
	t.Helper()
	if code == 0 {
		t.Errorf("%s: ansible-playbook exited 0; want a failed play", mode)
	}
	for _, want := range []string{
		`lbdoctor: lb3\+lb4 would break on failover or split`,
		`unreachable, not judged: lb9`,
		// ignore_unreachable: Ansible counts lb9's unreachable as
		// ignored; the play names it.
		`fatal: \[lb9\]: UNREACHABLE!`,
		`lb9 +: ok=\d+ +changed=0 +unreachable=0 +failed=0 +skipped=\d+ +rescued=0 +ignored=1`,
		// A host's one change is its bundle fetched to the controller;
		// the controller's tasks run once, on lb1's behalf: they make
		// the bundle directory afresh (a change, on the controller) and
		// fail the play.
		`lb1 +: ok=\d+ +changed=2 +unreachable=0 +failed=1 `,
		`lb2 +: ok=\d+ +changed=1 +unreachable=0 +failed=0 `,
		`lb3 +: ok=\d+ +changed=1 +unreachable=0 +failed=0 `,
		`lb4 +: ok=\d+ +changed=1 +unreachable=0 +failed=0 `,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("%s: the play's output lacks %q", mode, want)
		}
	}
	var fleet struct {
		Clusters []struct {
			Name     string
			Findings []struct{ ID, Severity, Node string }
		}
		Fleet struct {
			Clusters []struct {
				Name, Status  string
				Nodes, Errors int
				Worst         *struct{ ID, Node string }
			}
			Nodes []struct {
				Cluster, Node, Status string
				Errors                int
				Worst                 *struct{ ID, Severity string }
			}
			Unreachable []string
		}
	}
	if err := json.Unmarshal(doc, &fleet); err != nil {
		t.Fatalf("%s: the JSON fleet report: %v\n%s", mode, err, doc)
	}
	fl := fleet.Fleet
	status := map[string]string{}
	for _, c := range fl.Clusters {
		status[c.Name] = c.Status
	}
	for _, n := range fl.Nodes {
		status[n.Cluster+"/"+n.Node] = n.Status
	}
	want := map[string]string{
		"lb1+lb2": "ok", "lb1+lb2/lb1": "ok", "lb1+lb2/lb2": "ok",
		"lb3+lb4": "error", "lb3+lb4/lb3": "error", "lb3+lb4/lb4": "error",
	}
	for k, v := range want {
		if status[k] != v {
			t.Errorf("%s: fleet status of %s = %q, want %q (all: %v)", mode, k, status[k], v, status)
		}
	}
	if len(status) != len(want) || !slices.Equal(fl.Unreachable, []string{"lb9"}) {
		t.Errorf("%s: fleet = %v, unreachable %q; want %v and [lb9]", mode, status, fl.Unreachable, want)
	}
	var ids []string
	for _, c := range fleet.Clusters {
		for _, f := range c.Findings {
			ids = append(ids, c.Name+" "+f.Node+" "+f.ID+" "+f.Severity)
		}
	}
	if !slices.Contains(ids, "lb3+lb4 lb3 LBD507 error") {
		t.Errorf("%s: no LBD507 (advert_int differs) on lb3+lb4; cluster findings %q", mode, ids)
	}
	for _, n := range fl.Nodes {
		if n.Node == "lb4" && (n.Worst == nil || n.Worst.Severity != "error") {
			t.Errorf("%s: lb4's worst finding = %+v, want an error", mode, n.Worst)
		}
	}
	for _, re := range []string{
		`(?m)^Fleet summary: 2 clusters, 4 nodes, 1 unreachable$`,
		`(?m)^lb1\+lb2 +\* +ok +0 +`,
		`(?m)^lb3\+lb4 +\* +error +`,
		`(?m)^- +lb9 +unreachable `,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("%s: the text fleet report lacks %q", mode, re)
		}
	}
	if !strings.Contains(text, "haproxy would fail on the BACKUP node") {
		t.Errorf("%s: the text fleet report does not say that lb4's HAProxy fails as BACKUP", mode)
	}
}

// hostState is what a play must not change on a host: its config trees
// and its /etc overlay's upper layer (every write to its /etc lands
// there), file by file with modes and contents, its sysctl and addresses,
// and what is left in its private /tmp.
func hostState(ctx context.Context, t *testing.T, h *fleetHost) string {
	t.Helper()
	var b strings.Builder
	for _, sub := range []string{"etc", "upper"} {
		root := filepath.Join(h.dir, sub)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(h.dir, p)
			sum := ""
			if d.Type().IsRegular() {
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				sum = fmt.Sprintf("%x", sha256.Sum256(data))
			}
			fmt.Fprintf(&b, "%s %s %s\n", info.Mode(), rel, sum)
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", root, err)
		}
	}
	in := func(args ...string) string {
		return run(ctx, t, "nsenter", append([]string{"-t", fmt.Sprint(h.sshdPID), "-m", "-n"}, args...)...)
	}
	b.WriteString(in("sysctl", "net.ipv4.ip_nonlocal_bind"))
	b.WriteString(in("ip", "-br", "addr"))
	// Ansible's own remote temp base may stay; nothing of lbdoctor may.
	b.WriteString(in("sh", "-c", "find /tmp /root -mindepth 1 ! -path '/tmp/.ansible-remote*' ! -path '/root/.ansible' ! -path '/root/.ansible/tmp' | sort"))
	return b.String()
}

// startSSHD starts the host's sshd in its network namespace, in a mount
// namespace of its own: its config trees bound over /etc/nginx,
// /etc/haproxy, /etc/keepalived and /etc/sysctl.d on an overlay of /etc
// (the machine's /etc is the read-only lower layer), overlays of /usr and
// /var for a package to be installed into, the services it does not run
// hidden, and private /run, /tmp, /var/log and /root.
func startSSHD(ctx context.Context, t *testing.T, h *fleetHost, pub string) {
	t.Helper()
	ssh := filepath.Join(h.dir, "ssh")
	mkdir(t, ssh)
	run(ctx, t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(ssh, "host_ed25519"))
	writeFile(t, filepath.Join(ssh, "authorized_keys"), pub)
	// sshd without PAM refuses a locked account ("!" in shadow), even
	// for keys: a host whose root is locked gets its own /etc/shadow, in
	// its overlay's upper layer, with root's password field "*" (no
	// password, not locked).
	if shadow, err := os.ReadFile("/etc/shadow"); err == nil && regexp.MustCompile(`(?m)^root:!`).Match(shadow) {
		fi, err := os.Stat("/etc/shadow")
		if err != nil {
			t.Fatal(err)
		}
		own := filepath.Join(h.dir, "upper", "shadow")
		data := regexp.MustCompile(`(?m)^root:[^:]*:`).ReplaceAll(shadow, []byte("root:*:"))
		if err := os.WriteFile(own, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if err := os.Chown(own, int(st.Uid), int(st.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeFile(t, filepath.Join(ssh, "sshd_config"), fmt.Sprintf(`ListenAddress %s:22
HostKey /run/lbdhost/ssh/host_ed25519
PidFile none
PermitRootLogin prohibit-password
AuthorizedKeysFile /run/lbdhost/ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
StrictModes no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
`, h.addr))
	var hide []string
	for _, d := range []string{"apache2", "httpd", "postgresql", "redis", "envoy"} {
		if fi, err := os.Stat("/etc/" + d); err == nil && fi.IsDir() {
			hide = append(hide, "/etc/"+d)
		}
	}
	script := `set -e
hostname ` + h.name + `
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/sshd /run/lbdhost
mount --bind ` + h.dir + ` /run/lbdhost
mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/lbdhost/upper,workdir=/run/lbdhost/work /etc
for d in usr var; do mount -t overlay overlay -o lowerdir=/$d,upperdir=/run/lbdhost/pkg/upper-$d,workdir=/run/lbdhost/pkg/work-$d /$d; done
for d in nginx haproxy keepalived sysctl.d; do mount --bind /run/lbdhost/etc/$d /etc/$d; done
for d in ` + strings.Join(hide, " ") + `; do mount -t tmpfs -o mode=0755 tmpfs $d; done
for d in /tmp /var/log; do mount -t tmpfs -o mode=1777 tmpfs $d; done
mount -t tmpfs -o mode=0700 tmpfs /root
exec /usr/sbin/sshd -D -e -f /run/lbdhost/ssh/sshd_config
`
	cmd := exec.Command("ip", "netns", "exec", h.ns, "unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd in %s: %v", h.ns, err)
	}
	h.sshdPID = cmd.Process.Pid
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// The sessions sshd forked (they make sessions and process
		// groups of their own, and Ansible's ssh master keeps one open),
		// by their PIDs, then sshd by its process group.
		for _, pid := range descendants(h.sshdPID) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		syscall.Kill(-h.sshdPID, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-h.sshdPID, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("sshd of %s said:\n%s", h.name, log.String())
		}
	})
	// Up when it listens on its address.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.CommandContext(ctx, "ip", "netns", "exec", h.ns, "ss", "-Hltn", "src", h.addr+":22").Output()
		if len(bytes.TrimSpace(out)) > 0 {
			return
		}
		select {
		case <-done:
			t.Fatalf("sshd of %s exited:\n%s", h.name, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd of %s does not listen on %s:22:\n%s", h.name, h.addr, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// buildDeb packs bin as /usr/bin/lbdoctor into a minimal .deb named
// lbdoctor, version 0.0.0+fleettest1, for the role's lbdoctor_package.
func buildDeb(ctx context.Context, t *testing.T, tmp, bin string) string {
	t.Helper()
	root := filepath.Join(tmp, "deb")
	arch := strings.TrimSpace(run(ctx, t, "dpkg", "--print-architecture"))
	writeFile(t, filepath.Join(root, "DEBIAN", "control"), "Package: lbdoctor\nVersion: 0.0.0+fleettest1\nArchitecture: "+arch+
		"\nMaintainer: lbdoctor tests <tests@lbdoctor.invalid>\nDescription: lbdoctor for TestAnsibleFleet\n")
	mkdir(t, filepath.Join(root, "usr", "bin"))
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr", "bin", "lbdoctor"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(tmp, "lbdoctor_0.0.0+fleettest1_"+arch+".deb")
	run(ctx, t, "dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", root, deb)
	return deb
}

// descendants lists the processes below pid, children first, from /proc.
func descendants(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var p int
		if _, err := fmt.Sscan(e.Name(), &p); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		var state string
		var ppid int
		if _, err := fmt.Sscan(rest, &state, &ppid); err == nil {
			parent[p] = ppid
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for c, pp := range parent {
			if pp == p {
				out = append(out, c)
				walk(c)
			}
		}
	}
	walk(pid)
	return out
}

// addNetns creates a network namespace and deletes it when the test ends.
func addNetns(ctx context.Context, t *testing.T, ns string) {
	t.Helper()
	run(ctx, t, "ip", "netns", "add", ns)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	})
}

func run(ctx context.Context, t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	mkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// shellQuote quotes args for sh.
func shellQuote(args []string) string {
	var q []string
	for _, a := range args {
		q = append(q, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	return strings.Join(q, " ")
}

// syncBuffer is a bytes.Buffer for a process's output read while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
