package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/template"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/netcfg"
)

// netbootLink is an interface of a scenario's host: an ifb device (this
// kernel has no dummy driver) with a fixed MAC, so a "reboot" brings back
// the same hardware.
type netbootLink struct{ name, mac string }

// netbootScenario is a host whose addresses come from ifupdown, plus
// addresses added by hand, and the addresses nginx and HAProxy listen on.
type netbootScenario struct {
	name  string
	links []netbootLink
	// files are below the root: etc/network/interfaces and what it sources.
	files map[string]string
	// hand are ip(8) commands run after the boot, by hand: the state now.
	hand [][]string
	// listens are the addresses the daemons listen on (nginx on port 80,
	// HAProxy on 8080).
	listens []string
}

func netbootScenarios() []netbootScenario {
	return []netbootScenario{
		{
			name:  "stanzas-aliases-up-commands",
			links: []netbootLink{{"nb0", "52:54:00:77:00:01"}, {"nb1", "52:54:00:77:00:02"}, {"nb2", "52:54:00:77:00:03"}},
			files: map[string]string{
				"etc/network/interfaces": `auto lo
iface lo inet loopback
    up ip addr add 10.77.9.1/32 dev lo

auto nb0 nb0:1
iface nb0 inet static
    address 10.77.0.5/24
    address 10.77.0.66/24
    up ip addr add 10.77.0.7/24 dev $IFACE label nb0:x
iface nb0 inet static
    address 10.77.0.6
    netmask 255.255.255.0
iface nb0 inet6 static
    address fd77::5/64
iface nb0:1 inet static
    address 10.77.0.8/24

iface nb1 inet static
    address 10.77.1.5/24

source-directory interfaces.d
`,
				"etc/network/interfaces.d/nb2": "auto nb2\niface nb2 inet static\n    address 10.77.2.5/24\n",
				// run-parts' names only: a file with a dot is not read.
				"etc/network/interfaces.d/nb1.cfg": "auto nb1\n",
			},
			hand: [][]string{
				{"addr", "add", "10.77.0.99/24", "dev", "nb0"},
				{"link", "set", "nb1", "up"},
				{"addr", "add", "10.77.1.5/24", "dev", "nb1"},
				{"addr", "add", "fd77::99/64", "dev", "nb0", "nodad"},
			},
			listens: []string{"10.77.9.1", "10.77.0.5", "10.77.0.6", "10.77.0.7", "10.77.0.8", "10.77.2.5", "fd77::5", "10.77.0.99", "10.77.1.5", "fd77::99"},
		},
		{
			name:  "hotplug-source-glob-by-hand",
			links: []netbootLink{{"nb0", "52:54:00:78:00:01"}, {"nb1", "52:54:00:78:00:02"}},
			files: map[string]string{
				"etc/network/interfaces": `allow-hotplug nb0
iface nb0 inet static
    address 10.78.0.5/24

source conf.d/*.conf
`,
				"etc/network/conf.d/nb1.conf": "auto nb1\niface nb1 inet manual\n    up ip addr add 10.78.1.5/24 dev nb1\n    post-up ip addr add 10.78.1.6/24 dev nb1 && ip addr add 10.78.1.7/24 dev nb1\n" +
					// no netmask: ifupdown takes the class's, /16 here
					"iface nb1 inet static\n    address 172.20.0.5\n",
			},
			hand: [][]string{
				{"addr", "add", "10.78.0.99/24", "dev", "nb0"},
				{"addr", "add", "10.78.0.100/24", "dev", "nb0"},
				{"addr", "add", "fd78::99/64", "dev", "nb1", "nodad"},
			},
			listens: []string{"10.78.0.5", "10.78.1.5", "10.78.1.6", "10.78.1.7", "172.20.0.5", "10.78.0.99", "10.78.0.100", "fd78::99"},
		},
	}
}

// TestIfupdownBoot proves the ifupdown reading and the after-reboot verdict
// against the real tools. For each scenario, in a fresh network namespace
// with a private mount namespace (the root's etc/network bind-mounted on
// /etc/network, a tmpfs on /run), it boots: ifup -a, then ifup
// --allow=hotplug for every link, as Debian's boot does; then it adds
// addresses by hand and asks lbdoctor check. Then it reboots (a new
// namespace, the same links, the same boot) and holds lbdoctor to what
// happened: the addresses ifup brought up must be exactly those lbdoctor's
// reading says the boot adds, and the real nginx and HAProxy, started on
// each listen address, must bind exactly where lbdoctor's after-reboot
// verdict says they would. Last, it applies "lbdoctor fix --write" in the
// state before the reboot, reboots again, and every address must be back.
func TestIfupdownBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("TestIfupdownBoot starts ifup, nginx and HAProxy in network namespaces: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("TestIfupdownBoot SKIPPED: needs root for network and mount namespaces")
	}
	for _, tool := range []string{"ip", "ss", "ifup", "unshare", "nginx", "haproxy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("TestIfupdownBoot SKIPPED: %s is not installed (%v)", tool, err)
		}
	}
	templates, err := template.ParseGlob(filepath.Join("..", "..", "testdata", "daemon", "*.tmpl"))
	if err != nil {
		t.Fatalf("read config templates: %v", err)
	}
	bin := lbdoctorBin(t)
	var table []string
	var addrAgree, addrTotal, daemonAgree, daemonTotal, fixed, fixTotal int
	for i, sc := range netbootScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			ctx := t.Context()
			root := t.TempDir()
			for name, body := range sc.files {
				daemonWriteFile(t, filepath.Join(root, name), body)
			}
			for _, d := range []string{"if-pre-up.d", "if-up.d", "if-down.d", "if-post-down.d"} {
				if err := os.MkdirAll(filepath.Join(root, "etc/network", d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			prefix := t.TempDir()
			netbootWriteConfigs(t, templates, root, prefix, sc.listens)
			ns := fmt.Sprintf("lbdnb%d-%d", os.Getpid(), i)

			// Now: the boot, then the addresses added by hand.
			netbootBoot(ctx, t, ns, root, sc.links)
			for _, args := range sc.hand {
				daemonCmd(ctx, t, "ip", append([]string{"-n", ns}, args...)...)
			}
			verdict := netbootLbdoctor(ctx, t, bin, ns, root)

			// lbdoctor's reading: the addresses the next boot adds.
			cfg := netcfg.Read(parsers.Root(root))
			var ifaces []netcfg.Iface
			for _, l := range append([]netbootLink{{"lo", ""}}, sc.links...) {
				ifaces = append(ifaces, netcfg.Iface{Name: l.name, MAC: l.mac})
			}
			predicted := map[string]bool{}
			for _, ap := range cfg.AtBoot(ifaces) {
				for _, a := range ap.Profile.Addresses {
					predicted[fmt.Sprintf("%s/%d %s", a.Address, a.Prefix, ap.Iface.Name)] = true
				}
			}

			// Addresses the files name but the boot must not add (a stanza
			// not marked auto) are compared too.
			for _, p := range cfg.Profiles {
				for _, a := range p.Addresses {
					if k := fmt.Sprintf("%s/%d %s", a.Address, a.Prefix, p.Match.Names[0]); !predicted[k] {
						predicted[k] = false
					}
				}
			}

			// The reboot.
			netbootBoot(ctx, t, ns, root, sc.links)
			booted := netbootAddrs(ctx, t, ns)
			for _, a := range union(predicted, booted) {
				addrTotal++
				if predicted[a] == booted[a] {
					addrAgree++
				} else {
					t.Errorf("after ifup: %s: lbdoctor predicts %v, ifup brought up %v", a, predicted[a], booted[a])
				}
			}
			for _, addr := range sc.listens {
				for _, d := range []string{"nginx", "haproxy"} {
					daemonTotal++
					want := verdict[d+" "+addr]
					conf := netbootWriteOne(t, templates, prefix, d, addr)
					out, stop := daemonStart(ctx, t, ns, d, "", nil, "", conf, prefix, "tcp", netbootSocket(d, addr))
					stop()
					got := "binds"
					if !out.bound {
						got = "fails " + out.errno
					}
					lbd := "binds"
					if want != "" {
						lbd = "fails EADDRNOTAVAIL (" + want + ")"
					}
					agree := (want == "") == out.bound && (out.bound || out.errno == "EADDRNOTAVAIL")
					mark := "yes"
					if agree {
						daemonAgree++
					} else {
						mark = "NO"
						t.Errorf("%s on %s after the reboot: %s, lbdoctor said %s\n%s", d, addr, got, lbd, out.stderr)
					}
					table = append(table, fmt.Sprintf("%-28s %-8s %-12s %-34s %-22s %s", sc.name, d, addr, lbd, got, mark))
				}
			}

			// The fix: written in the state before the reboot.
			netbootBoot(ctx, t, ns, root, sc.links)
			for _, args := range sc.hand {
				daemonCmd(ctx, t, "ip", append([]string{"-n", ns}, args...)...)
			}
			fix := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "fix", "--write", "--root", root,
				"--nginx", "/etc/nginx/nginx.conf", "--haproxy", "/etc/haproxy/haproxy.cfg", "--checks", "LBD410")
			fixOut, err := fix.CombinedOutput()
			if err != nil {
				t.Fatalf("lbdoctor fix --write: %v\n%s", err, fixOut)
			}
			t.Logf("lbdoctor fix --write:\n%s", fixOut)
			netbootBoot(ctx, t, ns, root, sc.links)
			after := netbootAddrs(ctx, t, ns)
			for _, addr := range sc.listens {
				if v := verdict["nginx "+addr]; v != "LBD410" {
					continue
				}
				fixTotal++
				if slices.ContainsFunc(keysOf(after), func(k string) bool { return strings.HasPrefix(k, addr+"/") }) {
					fixed++
				} else {
					t.Errorf("after lbdoctor fix --write and a reboot, %s is still not there (addresses: %v)", addr, keysOf(after))
				}
			}
		})
	}
	t.Logf("ifupdown boot addresses: lbdoctor and ifup agree on %d of %d", addrAgree, addrTotal)
	t.Logf("after-reboot verdicts: lbdoctor and the daemons agree on %d of %d\n%-28s %-8s %-12s %-34s %-22s %s\n%s",
		daemonAgree, daemonTotal, "SCENARIO", "DAEMON", "ADDRESS", "LBDOCTOR AFTER REBOOT", "DAEMON AFTER REBOOT", "AGREE", strings.Join(table, "\n"))
	t.Logf("lbdoctor fix --write brought back %d of %d addresses added by hand", fixed, fixTotal)
	if daemonTotal < 30 || fixTotal < 3 {
		t.Errorf("only %d daemon runs and %d fixes: the scenarios shrank", daemonTotal, fixTotal)
	}
}

// netbootBoot (re)creates namespace ns with the scenario's links and boots
// it as Debian does with ifupdown, in a private mount namespace so that
// ifup reads the root's /etc/network and keeps its state in a /run of its
// own. The namespace is removed when the test ends.
func netbootBoot(ctx context.Context, t *testing.T, ns, root string, links []netbootLink) {
	t.Helper()
	exec.Command("ip", "netns", "del", ns).Run() // a previous boot's
	daemonCmd(ctx, t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	var names []string
	for _, l := range links {
		daemonCmd(ctx, t, "ip", "-n", ns, "link", "add", l.name, "address", l.mac, "type", "ifb")
		names = append(names, l.name)
	}
	script := fmt.Sprintf(`set -e
mount --bind %s/etc/network /etc/network
mount -t tmpfs tmpfs /run
ifup -a
for l in %s; do ifup --allow=hotplug "$l"; done
`, root, strings.Join(names, " "))
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "unshare", "-m", "--propagation", "private", "sh", "-c", script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("boot %s: %v\n%s", ns, err, out)
	}
}

// netbootAddrs lists the global addresses in ns as "A/P IFACE".
func netbootAddrs(ctx context.Context, t *testing.T, ns string) map[string]bool {
	t.Helper()
	out := daemonCmd(ctx, t, "ip", "-n", ns, "-j", "addr")
	var links []struct {
		Ifname   string `json:"ifname"`
		AddrInfo []struct {
			Local     string `json:"local"`
			Prefixlen int    `json:"prefixlen"`
			Scope     string `json:"scope"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		t.Fatalf("ip -j addr: %v\n%s", err, out)
	}
	got := map[string]bool{}
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Scope == "global" {
				got[fmt.Sprintf("%s/%d %s", a.Local, a.Prefixlen, l.Ifname)] = true
			}
		}
	}
	return got
}

// netbootLbdoctor runs lbdoctor check on the root's configs in ns and
// returns, by "daemon address", the ID of the finding that says the listen
// fails after a reboot (LBD410 or LBD413), or "" when it binds then.
func netbootLbdoctor(ctx context.Context, t *testing.T, bin, ns, root string) map[string]string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "check", "--json", "--root", root,
		"--nginx", "/etc/nginx/nginx.conf", "--haproxy", "/etc/haproxy/haproxy.cfg")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("lbdoctor check: %v\n%s", err, stderr.String())
		}
	}
	var r daemonReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("lbdoctor check --json: %v\n%s", err, stdout.String())
	}
	v := map[string]string{}
	for _, s := range r.Services {
		for _, l := range s.Listeners {
			if l.Status == "fail" {
				t.Errorf("lbdoctor says %s on %s fails now: %s %s", s.Service, l.Address, l.Errno, l.Finding)
			}
		}
	}
	for _, f := range r.Findings {
		if f.ID == "LBD410" || f.ID == "LBD413" {
			v[f.Service+" "+f.Address] = f.ID
		}
	}
	return v
}

// netbootWriteConfigs writes the nginx and HAProxy configs lbdoctor reads,
// every listen of the scenario in one config each.
func netbootWriteConfigs(t *testing.T, templates *template.Template, root, prefix string, listens []string) {
	t.Helper()
	for _, f := range []struct{ d, tmpl, path string }{{"nginx", "nginx.conf.tmpl", "etc/nginx/nginx.conf"}, {"haproxy", "haproxy.cfg.tmpl", "etc/haproxy/haproxy.cfg"}} {
		var socks []string
		for _, a := range listens {
			socks = append(socks, netbootSocket(f.d, a))
		}
		var b bytes.Buffer
		data := struct {
			Prefix                             string
			Listens, Stream, Frontend2, Global []string
		}{prefix, socks, nil, nil, nil}
		if err := templates.ExecuteTemplate(&b, f.tmpl, data); err != nil {
			t.Fatal(err)
		}
		daemonWriteFile(t, filepath.Join(root, f.path), b.String())
	}
}

// netbootWriteOne writes a config of daemon d listening on addr alone, for
// the daemon to run.
func netbootWriteOne(t *testing.T, templates *template.Template, prefix, d, addr string) string {
	t.Helper()
	name := map[string]string{"nginx": "nginx.conf", "haproxy": "haproxy.cfg"}[d]
	var b bytes.Buffer
	data := struct {
		Prefix                             string
		Listens, Stream, Frontend2, Global []string
	}{prefix, []string{netbootSocket(d, addr)}, nil, nil, nil}
	if err := templates.ExecuteTemplate(&b, name+".tmpl", data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(prefix, "run-"+name)
	daemonWriteFile(t, p, b.String())
	return p
}

// netbootSocket is where daemon d listens on addr: nginx on port 80,
// HAProxy on 8080, so that lbdoctor sees no clash between them.
func netbootSocket(d, addr string) string {
	port := map[string]string{"nginx": "80", "haproxy": "8080"}[d]
	if strings.Contains(addr, ":") {
		return "[" + addr + "]:" + port
	}
	return addr + ":" + port
}

func union(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		out = append(out, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
