package netcfg

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// netplanCases are netplan configurations (file below the root -> YAML)
// whose reading TestNetplanGenerate compares with what netplan generate
// writes.
var netplanCases = []struct {
	name  string
	files map[string]string
}{
	{"static v4 and v6", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24, \"fd00::5/64\"]\n"}},
	{"two files append addresses", map[string]string{
		"etc/netplan/10-a.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n",
		"etc/netplan/20-b.yaml": "network:\n  ethernets:\n    eth0:\n      addresses: [10.0.0.6/24]\n"}},
	{"etc shadows lib of the same name", map[string]string{
		"lib/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n",
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.6/24]\n"}},
	{"run shadows etc of the same name", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n",
		"run/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.7/24]\n"}},
	{"lexical order across directories", map[string]string{
		"lib/netplan/90-z.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.9/24]\n",
		"etc/netplan/10-a.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n    eth1:\n      addresses: [10.1.0.5/24]\n"}},
	{"match by MAC with set-name", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    lan:\n      match:\n        macaddress: \"52:54:00:AA:bb:cc\"\n      set-name: lan0\n      addresses: [10.0.0.5/24]\n"}},
	{"match by name glob", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    all-en:\n      match: {name: \"en*\"}\n      addresses: [10.0.0.5/24]\n"}},
	{"match by driver", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    nic:\n      match: {driver: ixgbe}\n      addresses: [10.0.0.5/24]\n"}},
	{"bond, bridge and vlan", map[string]string{
		"etc/netplan/50.yaml": `network:
  version: 2
  ethernets:
    eth0: {}
    eth1: {}
  bonds:
    bond0:
      interfaces: [eth0]
      addresses: [10.2.0.1/24]
  bridges:
    br0:
      interfaces: [eth1]
      addresses: [10.3.0.1/24, "fd03::1/64"]
  vlans:
    vlan.10:
      id: 10
      link: bond0
      addresses: [10.10.0.1/24]
`}},
	{"address with label and lifetime", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses:\n        - 10.0.0.5/24:\n            label: eth0:web\n            lifetime: 0\n        - 10.0.0.6/24\n"}},
	{"global renderer NetworkManager", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  renderer: NetworkManager\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n"}},
	{"per-device renderer NetworkManager", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      renderer: NetworkManager\n      addresses: [10.0.0.5/24]\n    eth1:\n      addresses: [10.1.0.5/24]\n"}},
	{"dhcp and static", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n      dhcp6: yes\n      addresses: [10.0.0.5/24]\n"}},
	{"loopback", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    lo:\n      match: {name: lo}\n      addresses: [10.9.0.1/32, \"fd09::1/128\"]\n"}},
	{"later file turns dhcp off and adds", map[string]string{
		"etc/netplan/10.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n",
		"etc/netplan/20.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: false\n      addresses: [10.0.0.5/24]\n"}},
	{"definition without addresses", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n    eth1: {}\n"}},
	{"same address in two files", map[string]string{
		"etc/netplan/10.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n",
		"etc/netplan/20.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24, 10.0.0.6/24]\n"}},
	{"hidden and non-yaml files are not read", map[string]string{
		"etc/netplan/50.yaml":          "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n",
		"etc/netplan/.60.yaml":         "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.6/24]\n",
		"etc/netplan/70.yml":           "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.7/24]\n",
		"etc/netplan/80.yaml.dpkg-old": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.8/24]\n"}},
	{"many interfaces and families", map[string]string{
		"etc/netplan/01.yaml": `network:
  version: 2
  ethernets:
    ens3:
      addresses: [192.0.2.10/24, 192.0.2.11/24, "2001:db8::10/64"]
    ens4:
      match: {macaddress: "52:54:00:00:00:04"}
      addresses: [198.51.100.4/25]
    ens5:
      dhcp4: true
`,
		"etc/netplan/99-vip.yaml": "network:\n  version: 2\n  ethernets:\n    ens3:\n      addresses: [192.0.2.100/32]\n"}},
	{"type-level renderer", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    renderer: NetworkManager\n    eth0:\n      addresses: [10.0.0.5/24]\n  bonds:\n    bond0:\n      interfaces: [eth0]\n      addresses: [10.2.0.1/24]\n"}},
	{"renderer set in a later file", map[string]string{
		"etc/netplan/10.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n",
		"etc/netplan/20.yaml": "network:\n  version: 2\n  renderer: NetworkManager\n  ethernets:\n    eth1:\n      addresses: [10.1.0.5/24]\n"}},
	{"device networkd under a global NetworkManager", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  renderer: NetworkManager\n  ethernets:\n    eth0:\n      renderer: networkd\n      addresses: [10.0.0.5/24]\n    eth1:\n      addresses: [10.1.0.5/24]\n"}},
	{"match by name and MAC together", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    nic:\n      match:\n        name: \"en*\"\n        macaddress: \"52:54:00:00:00:09\"\n      addresses: [10.0.0.5/24]\n"}},
	{"a later file replaces the match", map[string]string{
		"etc/netplan/10.yaml": "network:\n  version: 2\n  ethernets:\n    nic:\n      match: {name: \"eth*\"}\n      addresses: [10.0.0.5/24]\n",
		"etc/netplan/20.yaml": "network:\n  version: 2\n  ethernets:\n    nic:\n      match: {macaddress: \"52:54:00:00:00:0a\"}\n"}},
	{"IPv6 spelled long and upper case", map[string]string{
		"etc/netplan/50.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [\"FD00:0:0::5/64\", \"2001:DB8::1/128\"]\n"}},
}

// TestNetplanGenerate writes each case below a fresh root, runs the real
// netplan generate --root-dir on it, and holds lbdoctor's reading of the
// YAML to what netplan wrote: for every definition, the networkd file
// 10-netplan-ID.network (or the NetworkManager keyfile netplan-ID.nmconnection)
// must exist exactly when lbdoctor says that renderer applies, with the same
// set of addresses and the same name and MAC match.
func TestNetplanGenerate(t *testing.T) {
	bin, err := exec.LookPath("netplan")
	if err != nil {
		t.Skip("SKIP: netplan (Debian's netplan.io) is not installed; the netplan reading is not compared with netplan generate")
	}
	agree, total := 0, 0
	for _, tc := range netplanCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// lbdoctor reads before netplan writes into the same /run.
			ours := &Config{Files: []File{}}
			readNetplan(parsers.Root(dir), ours)
			if len(ours.Errors) > 0 {
				t.Fatalf("lbdoctor's reading has errors: %v", ours.Errors)
			}
			out, err := exec.Command(bin, "generate", "--root-dir", dir).CombinedOutput()
			if err != nil {
				t.Fatalf("netplan generate: %v\n%s", err, out)
			}
			theirs := &Config{Files: []File{}}
			readNetworkd(parsers.Root(dir), theirs)
			readNetworkManager(parsers.Root(dir), theirs)
			gen := map[string]*Profile{}
			for k := range theirs.Profiles {
				p := &theirs.Profiles[k]
				gen[p.File] = p
			}
			seen := map[string]bool{}
			for _, p := range ours.Profiles {
				total++
				file := "/run/systemd/network/" + p.Order
				if p.Order == "" {
					file = "/run/NetworkManager/system-connections/netplan-" + p.Name + ".nmconnection"
				}
				seen[file] = true
				g := gen[file]
				if g == nil {
					t.Errorf("%s: lbdoctor expects %s, netplan generate wrote %v", p.Name, file, keys(gen))
					continue
				}
				problems := []string{}
				if a, b := addrSet(p.Addresses), addrSet(g.Addresses); !slices.Equal(a, b) {
					problems = append(problems, fmt.Sprintf("addresses: lbdoctor %v, netplan %v", a, b))
				}
				if a, b := sorted(p.Match.Names), sorted(g.Match.Names); !slices.Equal(a, b) {
					problems = append(problems, fmt.Sprintf("names: lbdoctor %v, netplan %v", a, b))
				}
				if a, b := sorted(p.Match.MACs), sorted(g.Match.MACs); !slices.Equal(a, b) {
					problems = append(problems, fmt.Sprintf("MACs: lbdoctor %v, netplan %v", a, b))
				}
				if a, b := sorted(p.DHCP), sorted(g.DHCP); p.Order != "" && !slices.Equal(a, b) {
					problems = append(problems, fmt.Sprintf("DHCP: lbdoctor %v, netplan %v", a, b))
				}
				if len(problems) > 0 {
					t.Errorf("%s (%s): %s", p.Name, file, strings.Join(problems, "; "))
					continue
				}
				agree++
			}
			for file, g := range gen {
				if !seen[file] && (len(g.Addresses) > 0 || strings.Contains(file, "netplan-")) {
					total++
					t.Errorf("netplan generate wrote %s (addresses %v), which lbdoctor does not expect", file, addrSet(g.Addresses))
				}
			}
		})
	}
	t.Logf("netplan generate agreement: %d of %d definitions in %d cases", agree, total, len(netplanCases))
	if total < 25 {
		t.Errorf("only %d definitions compared; the table shrank", total)
	}
}

func addrSet(as []Addr) []string {
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s/%d", a.Address, a.Prefix))
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func keys(m map[string]*Profile) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
