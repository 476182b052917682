package kcmdline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// TestReadBoot reads GRUB's files as grub-mkconfig sources them: a
// grub.d snippet appending to the variable, quotes and comments.
func TestReadBoot(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/default/grub", "# comment\nGRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n")
	write("etc/default/grub.d/50-ipv6.cfg", "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX ipv6.disable=1\" # no IPv6 here\n")
	write("etc/kernel/cmdline", "root=/dev/sda1 ro\nipv6.disable=0\n")
	got := ReadBoot(parsers.Root(dir))
	want := []Cmdline{
		{Value: "ipv6.disable=1 quiet", Pos: parsers.Pos{File: "/etc/default/grub.d/50-ipv6.cfg", Line: 1}},
		{Value: "root=/dev/sda1 ro ipv6.disable=0", Pos: parsers.Pos{File: "/etc/kernel/cmdline", Line: 1}},
	}
	if len(got) != len(want) {
		t.Fatalf("ReadBoot = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ReadBoot[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if !IPv6Disabled(got[0].Value) || IPv6Disabled(got[1].Value) {
		t.Errorf("IPv6Disabled: %q should be off, %q on", got[0].Value, got[1].Value)
	}
	if len(ReadBoot(parsers.Root(t.TempDir()))) != 0 {
		t.Error("an empty tree has a boot command line")
	}
}
