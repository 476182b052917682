package node

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// TestPersistedDisableIPv6 pins which line decides an interface's
// disable_ipv6 after a boot: the interface's own key for an interface udev
// announces, whichever of "all" and "default" is written last without one,
// and for lo (there before systemd-sysctl, never announced) whichever of
// its key and "all" is written last.
func TestPersistedDisableIPv6(t *testing.T) {
	facts := &host.Facts{Interfaces: []host.Interface{{Name: "lo", Index: 1}, {Name: "eth0", Index: 2}, {Name: "eth1", Index: 3}}}
	for _, tt := range []struct {
		name     string
		files    map[string]string
		lo, eth0 string // value@file:line, "" when no file sets it
		eth1     string
	}{
		{"all then lo", map[string]string{"10-a.conf": "net.ipv6.conf.all.disable_ipv6 = 1", "20-b.conf": "net.ipv6.conf.lo.disable_ipv6 = 0"},
			"0@/etc/sysctl.d/20-b.conf:1", "1@/etc/sysctl.d/10-a.conf:1", "1@/etc/sysctl.d/10-a.conf:1"},
		{"lo then all", map[string]string{"10-a.conf": "net.ipv6.conf.lo.disable_ipv6 = 0", "20-b.conf": "net.ipv6.conf.all.disable_ipv6 = 1"},
			"1@/etc/sysctl.d/20-b.conf:1", "1@/etc/sysctl.d/20-b.conf:1", "1@/etc/sysctl.d/20-b.conf:1"},
		{"default only", map[string]string{"10-a.conf": "net.ipv6.conf.default.disable_ipv6 = 1"},
			"", "1@/etc/sysctl.d/10-a.conf:1", "1@/etc/sysctl.d/10-a.conf:1"},
		{"own key beats a later all", map[string]string{"10-a.conf": "net.ipv6.conf.eth0.disable_ipv6 = 0", "20-b.conf": "net.ipv6.conf.all.disable_ipv6 = 1"},
			"1@/etc/sysctl.d/20-b.conf:1", "0@/etc/sysctl.d/10-a.conf:1", "1@/etc/sysctl.d/20-b.conf:1"},
		{"glob", map[string]string{"10-a.conf": "net.ipv6.conf.eth*.disable_ipv6 = 1"},
			"", "1@/etc/sysctl.d/10-a.conf:1", "1@/etc/sysctl.d/10-a.conf:1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, data := range tt.files {
				p := filepath.Join(root, "etc", "sysctl.d", name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]string{}
			for _, p := range persistedSysctls(parsers.Root(root), facts) {
				if p.File != "" {
					got[p.Name] = p.Value + "@" + p.File + ":" + strconv.Itoa(p.Line)
				}
			}
			for iface, want := range map[string]string{"lo": tt.lo, "eth0": tt.eth0, "eth1": tt.eth1} {
				if g := got[host.DisableIPv6(iface)]; g != want {
					t.Errorf("%s: %q, want %q", host.DisableIPv6(iface), g, want)
				}
			}
		})
	}
}
