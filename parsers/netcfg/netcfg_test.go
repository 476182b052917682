package netcfg

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// tree writes files (path below the root -> content; "->TARGET" makes a
// symlink) into a fresh root.
func tree(t *testing.T, files map[string]string) parsers.Root {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(body, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return parsers.Root(dir)
}

// bootAddrs is "A/P@IFACE" for every address the boot adds.
func bootAddrs(c *Config, ifaces ...Iface) []string {
	var out []string
	for _, ap := range c.AtBoot(ifaces) {
		for _, a := range ap.Profile.Addresses {
			out = append(out, fmt.Sprintf("%s/%d@%s", a.Address, a.Prefix, ap.Iface.Name))
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestReadAtBoot reads small trees of each tool and asks which addresses
// the next boot adds to which interface.
func TestReadAtBoot(t *testing.T) {
	eth0 := Iface{Name: "eth0", MAC: "52:54:00:00:00:01"}
	eth1 := Iface{Name: "eth1", MAC: "52:54:00:00:00:02"}
	lo := Iface{Name: "lo"}
	for _, tc := range []struct {
		name   string
		files  map[string]string
		ifaces []Iface
		want   []string
		errors int
	}{
		{"networkd: masked by a link to /dev/null", map[string]string{
			"usr/lib/systemd/network/10-a.network": "[Match]\nName=eth0\n[Network]\nAddress=10.0.0.6/24\n",
			"etc/systemd/network/10-a.network":     "->/dev/null",
			"etc/systemd/network/20-b.network":     "[Match]\nName=eth0\n[Network]\nAddress=10.0.0.5/24\n",
		}, []Iface{eth0}, []string{"10.0.0.5/24@eth0"}, 0},
		{"networkd: first matching file wins, by name across directories", map[string]string{
			"usr/lib/systemd/network/05-first.network": "[Match]\nName=eth*\n[Network]\nAddress=10.0.0.9/24\n",
			"etc/systemd/network/20-b.network":         "[Match]\nName=eth0\n[Network]\nAddress=10.0.0.5/24\n",
		}, []Iface{eth0, eth1}, []string{"10.0.0.9/24@eth0", "10.0.0.9/24@eth1"}, 0},
		{"networkd: drop-ins, [Address] sections, MAC match, inverted names", map[string]string{
			"etc/systemd/network/10-mac.network":          "[Match]\nMACAddress=52:54:00:00:00:02\n\n[Address]\nAddress=10.1.0.5/24\nLabel=x\n\n[Address]\nAddress=fd01::5/64\n",
			"etc/systemd/network/10-mac.network.d/a.conf": "[Network]\nAddress=10.1.0.6/24\n",
			"run/systemd/network/10-mac.network.d/b.conf": "[Network]\nAddress=10.1.0.7/24\n",
			"etc/systemd/network/90-rest.network":         "[Match]\nName=!eth1 eth2\n[Network]\nAddress=10.0.0.5/24\nAddress=0.0.0.0/24\n",
			"etc/systemd/network/95-nomatch.network":      "[Network]\nAddress=10.9.9.9/24\n",
			"etc/systemd/network/85-unmanaged.network":    "[Match]\nName=lo\n[Link]\nUnmanaged=yes\n[Network]\nAddress=10.8.8.8/32\n",
			"etc/systemd/network/97-lo.network":           "[Match]\nName=lo\n[Network]\nAddress=10.7.7.7/32\n",
		}, []Iface{eth0, eth1, lo}, []string{"10.0.0.5/24@eth0", "10.1.0.5/24@eth1", "10.1.0.6/24@eth1", "10.1.0.7/24@eth1", "fd01::5/64@eth1"}, 1},
		{"networkd: a file in /run does not count at boot", map[string]string{
			"run/systemd/network/10-a.network": "[Match]\nName=eth0\n[Network]\nAddress=10.0.0.5/24\n",
			"etc/systemd/network/20-b.network": "[Match]\nName=eth0\n[Network]\nAddress=10.0.0.6/24\n",
		}, []Iface{eth0}, []string{"10.0.0.6/24@eth0"}, 0},
		{"NetworkManager: keyfiles by name, MAC and any device; autoconnect=false; old forms", map[string]string{
			"etc/NetworkManager/system-connections/a.nmconnection": "[connection]\nid=a\ntype=ethernet\ninterface-name=eth0\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\naddress2=10.0.0.6\n[ipv6]\nmethod=manual\naddresses1=fd00::5/64;fd00::6/64;\n",
			"etc/NetworkManager/system-connections/b.nmconnection": "[connection]\nid=b\ntype=ethernet\nautoconnect=false\ninterface-name=eth1\n[ipv4]\nmethod=manual\naddress1=10.1.0.5/24\n",
			"etc/NetworkManager/system-connections/c":              "[connection]\nid=c\ntype=ethernet\n[ethernet]\nmac-address=52:54:00:00:00:02\n[ipv4]\nmethod=manual\naddresses1=10.1.0.6;24;10.1.0.1;\n",
			"etc/NetworkManager/system-connections/c.bak":          "[connection]\nid=old\n[ipv4]\nmethod=manual\naddress1=10.9.0.1/24\n",
			"etc/NetworkManager/system-connections/d.nmconnection": "[connection]\nid=d\ntype=ethernet\ninterface-name=eth0\n[ipv4]\nmethod=disabled\naddress1=10.9.0.2/24\n",
		}, []Iface{eth0, eth1}, []string{"10.0.0.5/24@eth0", "10.0.0.6/24@eth0", "10.1.0.6/24@eth1", "fd00::5/64@eth0", "fd00::6/64@eth0"}, 0},
		{"ifcfg: IPADDRn, NETMASK, IPv6 secondaries, HWADDR, ONBOOT=no, backups", map[string]string{
			"etc/sysconfig/network-scripts/ifcfg-eth0":     "DEVICE=eth0\nBOOTPROTO=none\nIPADDR=10.0.0.5\nNETMASK=255.255.255.0\nIPADDR1=\"10.0.0.6\"\nPREFIX1=25\nIPV6INIT=yes\nIPV6ADDR=fd00::5/64\nIPV6ADDR_SECONDARIES='fd00::6/64 fd00::7/64'\n",
			"etc/sysconfig/network-scripts/ifcfg-lan":      "HWADDR=52:54:00:00:00:02\nIPADDR0=10.1.0.5\nPREFIX0=24\nIPV6INIT=no\nIPV6ADDR=fd01::5/64\n",
			"etc/sysconfig/network-scripts/ifcfg-eth2":     "ONBOOT=no\nIPADDR=10.2.0.5\n",
			"etc/sysconfig/network-scripts/ifcfg-eth0.bak": "IPADDR=10.9.0.5\n",
			"etc/sysconfig/network-scripts/ifcfg-eth0:1":   "DEVICE=eth0:1\nIPADDR=10.0.0.8\nPREFIX=24\n",
		}, []Iface{eth0, eth1, {Name: "eth2", MAC: "52:54:00:00:00:03"}}, []string{"10.0.0.5/24@eth0", "10.0.0.6/25@eth0", "10.0.0.8/24@eth0", "10.1.0.5/24@eth1", "fd00::5/64@eth0", "fd00::6/64@eth0", "fd00::7/64@eth0"}, 0},
		{"ifupdown: auto and hotplug, first address only, netmask, up commands, source globs", map[string]string{
			"etc/network/interfaces": "auto lo eth0\niface lo inet loopback\n  up ip addr add 10.9.0.1/32 dev lo\n" +
				"iface eth0 inet static\n  address 10.0.0.5\n  netmask 255.255.255.0\n  address 10.0.0.66/24\n  post-up /sbin/ip -4 addr add 10.0.0.7/24 dev $IFACE; ip route add x\n" +
				"iface eth1 inet static\n  address 10.1.0.5/24\n\n# a comment\nsource interfaces.d/*\n",
			"etc/network/interfaces.d/b":     "allow-hotplug eth0:1\niface eth0:1 inet static\n  address 10.0.0.8/24\niface eth0 inet6 static\n  address fd00::5\n  netmask 64\n",
			"etc/network/interfaces.d/c.cfg": "iface eth0 inet dhcp\n",
		}, []Iface{lo, eth0, eth1}, []string{"10.0.0.5/24@eth0", "10.0.0.7/24@eth0", "10.0.0.8/24@eth0", "10.9.0.1/32@lo", "fd00::5/64@eth0"}, 0},
		{"netplan: a YAML file that is a link is read through it", map[string]string{
			"etc/netplan/50.yaml":    "->../../srv/net.yaml",
			"srv/net.yaml":           "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n",
			"etc/network/interfaces": "source /srv/ifaces\n",
			"srv/ifaces":             "->/srv/real-ifaces",
			"srv/real-ifaces":        "auto eth1\niface eth1 inet static\n  address 10.1.0.5/24\n",
		}, []Iface{eth0, eth1}, []string{"10.0.0.5/24@eth0", "10.1.0.5/24@eth1"}, 0},
		{"netplan: definitions merge across files", map[string]string{
			"etc/netplan/10.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n    lan:\n      match: {macaddress: '52:54:00:00:00:02'}\n      addresses: [10.1.0.5/24]\n",
			"etc/netplan/20.yaml": "network:\n  ethernets:\n    eth0:\n      addresses: ['fd00::5/64']\n",
		}, []Iface{eth0, eth1}, []string{"10.0.0.5/24@eth0", "10.1.0.5/24@eth1", "fd00::5/64@eth0"}, 0},
		{"netplan rendered by networkd competes with .network files by name", map[string]string{
			"etc/netplan/10.yaml":              "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n",
			"etc/systemd/network/05-a.network": "[Match]\nName=eth0\n[Network]\nAddress=10.0.0.6/24\n",
		}, []Iface{eth0}, []string{"10.0.0.6/24@eth0"}, 0},
		{"broken files are errors, not fatal", map[string]string{
			"etc/netplan/10.yaml":                      "network: [\n",
			"etc/systemd/network/a.network":            "[Match]\nName=eth0\n[Network]\nAddress=banana\nAddress=10.0.0.5/24\n",
			"etc/sysconfig/network-scripts/ifcfg-eth1": "IPADDR=300.1.1.1\n",
		}, []Iface{eth0, eth1}, []string{"10.0.0.5/24@eth0"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Read(tree(t, tc.files))
			if got := bootAddrs(c, tc.ifaces...); !slices.Equal(got, tc.want) {
				t.Errorf("at boot:\n got %v\nwant %v", got, tc.want)
			}
			if len(c.Errors) != tc.errors {
				t.Errorf("errors %v, want %d", c.Errors, tc.errors)
			}
		})
	}
}

// TestShadowingAndSources answers the questions the checks ask of a
// configuration beyond the boot addresses.
func TestShadowingAndSources(t *testing.T) {
	c := Read(tree(t, map[string]string{
		"usr/lib/systemd/network/10-all.network": "[Match]\nName=*\n[Network]\nDHCP=yes\n",
		"etc/systemd/network/50-eth0.network":    "[Match]\nName=eth0\n[Network]\nAddress=10.0.0.5/24\n",
		"etc/network/interfaces":                 "source-directory /etc/network/interfaces.d\nsource /etc/network/extra/*.conf\n",
	}))
	var p *Profile
	for k := range c.Profiles {
		if c.Profiles[k].Name == "50-eth0.network" {
			p = &c.Profiles[k]
		}
	}
	if q := c.Shadowing(p, Iface{Name: "eth0"}); q == nil || q.Name != "10-all.network" {
		t.Errorf("Shadowing = %v, want 10-all.network", q)
	}
	for file, want := range map[string]bool{
		"/etc/network/interfaces.d/60-lbdoctor-eth0": true,
		"/etc/network/interfaces.d/60-lbdoctor.eth0": false, // run-parts names only
		"/etc/network/extra/a.conf":                  true,
		"/etc/network/other/a.conf":                  false,
	} {
		if got := c.IfupdownReads(file); got != want {
			t.Errorf("IfupdownReads(%s) = %v, want %v", file, got, want)
		}
	}
}

// TestSnapshotRoundTrip holds the YAML form (the snapshot's boot_network)
// to the data: what is written reads back the same.
func TestSnapshotRoundTrip(t *testing.T) {
	c := Read(tree(t, map[string]string{
		"etc/netplan/10.yaml":                      "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n      addresses: [10.0.0.5/24]\n",
		"etc/network/interfaces":                   "iface eth1 inet static\n  address 10.1.0.5/24\n",
		"etc/sysconfig/network-scripts/ifcfg-eth2": "IPADDR1=10.2.0.5\nPREFIX1=24\n",
	}))
	b, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := yaml.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := yaml.Marshal(&back)
	if string(b) != string(b2) {
		t.Errorf("round trip differs:\n%s\n---\n%s", b, b2)
	}
	for _, want := range []string{"tool: netplan", "inactive: not marked auto or allow-hotplug", "key: IPADDR1", "- ipv4"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("snapshot YAML lacks %q:\n%s", want, b)
		}
	}
}

// FuzzRead feeds arbitrary bytes to every tool's reader: nothing panics.
func FuzzRead(f *testing.F) {
	f.Add("network:\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n")
	f.Add("auto eth0\niface eth0 inet static\n address 10.0.0.5/24\n up ip addr add 1.2.3.4 dev x\n")
	f.Add("[Match]\nName=eth0\n[Address]\nAddress=10.0.0.5/24\n")
	f.Add("IPADDR=10.0.0.5\nIPV6ADDR_SECONDARIES=\"::1/64\"\n")
	f.Fuzz(func(t *testing.T, data string) {
		dir := t.TempDir()
		for _, p := range []string{"etc/netplan/a.yaml", "etc/network/interfaces", "etc/systemd/network/a.network", "etc/NetworkManager/system-connections/a.nmconnection", "etc/sysconfig/network-scripts/ifcfg-a"} {
			full := filepath.Join(dir, p)
			os.MkdirAll(filepath.Dir(full), 0o755)
			os.WriteFile(full, []byte(data), 0o644)
		}
		c := Read(parsers.Root(dir))
		c.AtBoot([]Iface{{Name: "a"}, {Name: "eth0"}})
	})
}

// TestServices holds the reading to which tools the next boot runs: with
// /etc/systemd/system in the tree, a tool whose service is not enabled
// configures nothing; netplan enables networkd by rendering with it; udev
// brings allow-hotplug interfaces up without networking.service.
func TestServices(t *testing.T) {
	eth0, eth1 := Iface{Name: "eth0"}, Iface{Name: "eth1"}
	for _, tc := range []struct {
		name     string
		files    map[string]string
		want     []string
		disabled []string
		active   bool
	}{
		{"networkd disabled, ifupdown enabled", map[string]string{
			"etc/systemd/system/network-online.target.wants/networking.service": "->/lib/systemd/system/networking.service",
			"usr/lib/systemd/network/50-a.network":                              "[Match]\nName=eth0\n[Network]\nAddress=10.0.0.9/24\n",
			"etc/network/interfaces":                                            "auto eth1\niface eth1 inet static\n  address 10.1.0.5/24\n",
		}, []string{"10.1.0.5/24@eth1"}, []string{"systemd-networkd.service"}, true},
		{"only vendor files of a disabled networkd", map[string]string{
			"etc/systemd/system/multi-user.target.wants/ssh.service": "->/lib/systemd/system/ssh.service",
			"usr/lib/systemd/network/80-wifi-adhoc.network":          "[Match]\nType=wlan\nWLANInterfaceType=ad-hoc\n[Network]\nLinkLocalAddressing=yes\n",
		}, nil, []string{"systemd-networkd.service"}, false},
		{"netplan enables networkd for the other .network files too", map[string]string{
			"etc/systemd/system/multi-user.target.wants/ssh.service": "->/lib/systemd/system/ssh.service",
			"etc/netplan/50.yaml":                 "network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [10.0.0.5/24]\n",
			"etc/systemd/network/50-eth1.network": "[Match]\nName=eth1\n[Network]\nAddress=10.1.0.5/24\n",
		}, []string{"10.0.0.5/24@eth0", "10.1.0.5/24@eth1"}, nil, true},
		{"NetworkManager masked; hotplug without networking.service", map[string]string{
			"etc/systemd/system/NetworkManager.service":                         "->/dev/null",
			"etc/systemd/system/multi-user.target.wants/NetworkManager.service": "->/lib/systemd/system/NetworkManager.service",
			"etc/NetworkManager/system-connections/a.nmconnection":              "[connection]\nid=a\ninterface-name=eth0\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\n",
			"etc/network/interfaces":                                            "allow-hotplug eth1\niface eth1 inet static\n  address 10.1.0.5/24\nauto eth0\niface eth0 inet static\n  address 10.0.0.6/24\n",
		}, []string{"10.1.0.5/24@eth1"}, []string{"NetworkManager.service", "networking.service"}, true},
		{"a vendor file with a condition lbdoctor cannot judge does not hide the next", map[string]string{
			"usr/lib/systemd/network/05-wlan.network": "[Match]\nType=wlan\n[Network]\nAddress=10.9.9.9/24\n",
			"etc/systemd/network/20-eth0.network":     "[Match]\nName=eth0\n[Network]\nAddress=10.0.0.5/24\n",
		}, []string{"10.0.0.5/24@eth0", "10.9.9.9/24@eth0", "10.9.9.9/24@eth1"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Read(tree(t, tc.files))
			if got := bootAddrs(c, eth0, eth1); !slices.Equal(got, tc.want) {
				t.Errorf("at boot:\n got %v\nwant %v", got, tc.want)
			}
			if !slices.Equal(c.Disabled, tc.disabled) {
				t.Errorf("disabled %v, want %v", c.Disabled, tc.disabled)
			}
			if c.Active() != tc.active {
				t.Errorf("Active() = %v, want %v", c.Active(), tc.active)
			}
		})
	}
}
