package netcfg

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// networkdCases are systemd-networkd (and netplan) configurations that
// TestNetworkdBoot boots with the real systemd-networkd. links are the ifb
// devices of the host, "name" or "name mac".
var networkdCases = []struct {
	name  string
	links []string
	files map[string]string
}{
	{"addresses, sections and drop-ins in two directories", []string{"nd0"}, map[string]string{
		"etc/systemd/network/20-nd0.network":              "[Match]\nName=nd0\n[Network]\nAddress=10.66.0.5/24\n[Address]\nAddress=10.66.0.6/24\n[Address]\nAddress=fd66::6/64\n",
		"etc/systemd/network/20-nd0.network.d/a.conf":     "[Network]\nAddress=10.66.0.7/24\n",
		"usr/lib/systemd/network/20-nd0.network.d/b.conf": "[Address]\nAddress=10.66.0.8/24\n",
	}},
	{"the first matching file wins, across directories", []string{"nd0", "nd1"}, map[string]string{
		"usr/lib/systemd/network/05-all.network": "[Match]\nName=nd*\n[Network]\nAddress=10.66.9.1/24\n",
		"etc/systemd/network/20-nd0.network":     "[Match]\nName=nd0\n[Network]\nAddress=10.66.0.5/24\n",
	}},
	{"a link to /dev/null masks, a same-named file overrides", []string{"nd0", "nd1"}, map[string]string{
		"usr/lib/systemd/network/05-all.network": "[Match]\nName=nd*\n[Network]\nAddress=10.66.9.1/24\n",
		"etc/systemd/network/05-all.network":     "->/dev/null",
		"usr/lib/systemd/network/10-nd1.network": "[Match]\nName=nd1\n[Network]\nAddress=10.66.1.9/24\n",
		"etc/systemd/network/10-nd1.network":     "[Match]\nName=nd1\n[Network]\nAddress=10.66.1.5/24\n",
		"etc/systemd/network/20-nd0.network":     "[Match]\nName=nd0\n[Network]\nAddress=10.66.0.5/24\n",
	}},
	{"MAC, inverted and glob names", []string{"nd0 52:54:00:66:00:01", "nd1", "ne2"}, map[string]string{
		"etc/systemd/network/10-mac.network":  "[Match]\nMACAddress=52:54:00:66:00:01\n[Network]\nAddress=10.66.0.5/24\n",
		"etc/systemd/network/20-not.network":  "[Match]\nName=!nd0 nd1\n[Network]\nAddress=10.66.2.5/24\n",
		"etc/systemd/network/30-glob.network": "[Match]\nName=n?[0-9]\n[Network]\nAddress=10.66.3.5/24\n",
	}},
	{"Unmanaged first, a file without [Match] ignored", []string{"nd0", "nd1"}, map[string]string{
		"etc/systemd/network/05-nomatch.network": "[Network]\nAddress=10.66.9.9/24\n",
		"etc/systemd/network/10-un.network":      "[Match]\nName=nd0\n[Link]\nUnmanaged=yes\n[Network]\nAddress=10.66.0.9/24\n",
		"etc/systemd/network/20-all.network":     "[Match]\nName=nd*\n[Network]\nAddress=10.66.1.5/24\n",
	}},
	{"a file in /run is gone at boot", []string{"nd0"}, map[string]string{
		"run/systemd/network/10-nd0.network": "[Match]\nName=nd0\n[Network]\nAddress=10.66.0.9/24\n",
		"etc/systemd/network/20-nd0.network": "[Match]\nName=nd0\n[Network]\nAddress=10.66.0.5/24\n",
	}},
	{"netplan rendered by networkd, and a .network file sorting before it", []string{"nd0", "nd1"}, map[string]string{
		"etc/netplan/10.yaml":                "network:\n  version: 2\n  ethernets:\n    nd0:\n      addresses: [10.66.0.5/24]\n    nd1:\n      addresses: [10.66.1.5/24]\n",
		"etc/netplan/20.yaml":                "network:\n  ethernets:\n    nd0:\n      addresses: [\"fd66::5/64\", 10.66.0.6/24]\n",
		"etc/systemd/network/05-nd1.network": "[Match]\nName=nd1\n[Network]\nAddress=10.66.1.9/24\n",
	}},
	{"netplan: a name-glob match and a bond", []string{"nd0", "nd1"}, map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    all:\n      match: {name: \"nd*\"}\n      addresses: [10.66.0.5/24]\n  bridges:\n    br66:\n      addresses: [10.66.5.1/24]\n",
	}},
}

// TestNetworkdBoot boots each case with the real systemd-networkd in a
// fresh network namespace and a private mount namespace (the case's
// /etc/systemd/network and /usr/lib/systemd/network mounted over the
// machine's, an empty /run holding only what netplan generate writes at
// boot, /sys read-only so that networkd does not wait for udev), and holds
// lbdoctor's reading of the files to the addresses networkd configured.
func TestNetworkdBoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("TestNetworkdBoot SKIPPED: needs root for network and mount namespaces")
	}
	networkd := "/lib/systemd/systemd-networkd"
	if _, err := os.Stat(networkd); err != nil {
		t.Skipf("TestNetworkdBoot SKIPPED: %s is not installed", networkd)
	}
	for _, tool := range []string{"ip", "unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("TestNetworkdBoot SKIPPED: %s is not installed", tool)
		}
	}
	_, netplanErr := exec.LookPath("netplan")
	agree, total := 0, 0
	for i, tc := range networkdCases {
		t.Run(tc.name, func(t *testing.T) {
			usesNetplan := false
			for name := range tc.files {
				usesNetplan = usesNetplan || strings.HasPrefix(name, "etc/netplan/")
			}
			if usesNetplan && netplanErr != nil {
				t.Skip("SKIP: netplan is not installed")
			}
			root := t.TempDir()
			files := map[string]string{"etc/systemd/network/.keep": "", "usr/lib/systemd/network/.keep": ""}
			for k, v := range tc.files {
				files[k] = v
			}
			writeTree(t, root, files)
			// The boot: /run is empty but for what netplan's generator
			// writes from the YAML.
			boot := t.TempDir()
			if usesNetplan {
				writeTree(t, boot, onlyPrefix(tc.files, "etc/netplan/"))
				if out, err := exec.Command("netplan", "generate", "--root-dir", boot).CombinedOutput(); err != nil {
					t.Fatalf("netplan generate: %v\n%s", err, out)
				}
			}
			if err := os.MkdirAll(filepath.Join(boot, "run/systemd/network"), 0o755); err != nil {
				t.Fatal(err)
			}

			cfg := Read(parsers.Root(root))
			var ifaces []Iface
			ns := fmt.Sprintf("lbdnd%d-%d", os.Getpid(), i)
			if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
				t.Fatalf("ip netns add: %v\n%s", err, out)
			}
			t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
			for _, l := range tc.links {
				f := strings.Fields(l)
				args := []string{"-n", ns, "link", "add", f[0]}
				iface := Iface{Name: f[0]}
				if len(f) > 1 {
					args = append(args, "address", f[1])
					iface.MAC = f[1]
				}
				if out, err := exec.Command("ip", append(args, "type", "ifb")...).CombinedOutput(); err != nil {
					t.Fatalf("ip link add: %v\n%s", err, out)
				}
				ifaces = append(ifaces, iface)
			}
			// lbdoctor matches the links as Gather records them: lo too,
			// and each with its MAC (ifb makes a random one).
			ifaces = linkMACs(t, ns, ifaces)
			// A bridge netplan defines is created by networkd; lbdoctor
			// judges the links of the host as they are once booted.
			if usesNetplan && strings.Contains(tc.files["etc/netplan/50.yaml"], "br66") {
				ifaces = append(ifaces, Iface{Name: "br66"})
			}
			predicted := map[string]bool{}
			for _, ap := range cfg.AtBoot(ifaces) {
				for _, a := range ap.Profile.Addresses {
					predicted[fmt.Sprintf("%s/%d %s", a.Address, a.Prefix, ap.Iface.Name)] = true
				}
			}
			got := runNetworkd(t, ns, root, boot, networkd)
			for _, k := range unionKeys(predicted, got) {
				total++
				if predicted[k] == got[k] {
					agree++
					continue
				}
				t.Errorf("%s: lbdoctor says %v, systemd-networkd configured %v", k, predicted[k], got[k])
			}
			if len(got) == 0 {
				t.Errorf("systemd-networkd configured no address at all")
			}
		})
	}
	t.Logf("systemd-networkd boot addresses: lbdoctor and networkd agree on %d of %d in %d cases", agree, total, len(networkdCases))
}

// runNetworkd starts systemd-networkd in ns with the case's directories,
// waits until the addresses stop changing, and returns the global ones as
// "A/P IFACE". networkd is stopped by its PID.
func runNetworkd(t *testing.T, ns, root, boot, networkd string) map[string]bool {
	t.Helper()
	script := fmt.Sprintf(`set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/network /run/systemd/netif/links /run/systemd/netif/leases
cp -a %[2]s/run/systemd/network/. /run/systemd/network/
chown -R systemd-network: /run/systemd/netif 2>/dev/null || true
mount --bind %[1]s/etc/systemd/network /etc/systemd/network
mount --bind %[1]s/usr/lib/systemd/network /usr/lib/systemd/network
mount -o remount,bind,ro /sys
%[3]s >/run/networkd.log 2>&1 &
pid=$!
last= same=0 n=0
while [ $n -lt 60 ]; do
	sleep 0.2; n=$((n+1))
	now=$(ip -br addr)
	if [ "$now" = "$last" ]; then same=$((same+1)); else same=0; last=$now; fi
	[ $n -ge 10 ] && [ $same -ge 8 ] && break
done
kill $pid; wait $pid || true
ip -j addr
`, root, boot, networkd)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "unshare", "-m", "--propagation", "private", "sh", "-c", script)
	// networkd runs in the script's process group: on a timeout the whole
	// group goes, networkd with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("systemd-networkd in %s: %v", ns, err)
	}
	var links []struct {
		Ifname   string `json:"ifname"`
		AddrInfo []struct {
			Local     string `json:"local"`
			Prefixlen int    `json:"prefixlen"`
			Scope     string `json:"scope"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
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

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(body, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// networkd reads as systemd-network; netplan wants its YAML
		// private.
		mode := os.FileMode(0o644)
		if strings.Contains(name, "netplan/") {
			mode = 0o600
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func onlyPrefix(files map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

func unionKeys(a, b map[string]bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]bool{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return sorted(out)
}

// linkMACs is lo and the links of ns with the MACs ip(8) reports.
func linkMACs(t *testing.T, ns string, ifaces []Iface) []Iface {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-j", "link").Output()
	if err != nil {
		t.Fatalf("ip -j link: %v", err)
	}
	var links []struct {
		Ifname  string `json:"ifname"`
		Address string `json:"address"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		t.Fatal(err)
	}
	all := []Iface{{Name: "lo"}}
	for _, l := range links {
		for _, i := range ifaces {
			if i.Name == l.Ifname {
				all = append(all, Iface{Name: l.Ifname, MAC: l.Address})
			}
		}
	}
	return all
}
