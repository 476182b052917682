package checks

import (
	"fmt"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/kcmdline"
)

// LBD422 finds IPv6 listeners on a host whose next boot switches IPv6 off
// on the kernel command line.
var LBD422 = &Check{
	ID:       "LBD422",
	Name:     "ipv6-off-at-boot",
	Title:    "The next boot's kernel command line switches IPv6 off",
	Severity: Warning,
	Doc: `The boot loader's configuration gives the next boot ipv6.disable=1, and the
running kernel has IPv6: after the reboot every IPv6 socket() fails with
EAFNOSUPPORT (97: Address family not supported by protocol) and a service
with an IPv6 listen does not start (see LBD102 for now):

    nginx: [emerg] socket() [::]:80 failed (97: Address family not supported by protocol)

lbdoctor reads what the next boot gets: GRUB_CMDLINE_LINUX and
GRUB_CMDLINE_LINUX_DEFAULT from /etc/default/grub and then
/etc/default/grub.d/*.cfg (as grub-mkconfig sources them; they reach
/boot/grub/grub.cfg at the next update-grub, which every kernel update
runs), and /etc/kernel/cmdline (kernel-install, systemd-boot). The last
ipv6.disable= on the line wins.

The other way round (IPv6 off now, the configuration no longer switches
it off) is a note: the IPv6 listeners fail now and bind after the reboot.

Fix: remove the IPv6 listen lines, or remove ipv6.disable=1 from the file
named and run update-grub. To keep IPv6 out of the way without breaking
sockets, use net.ipv6.conf.all.disable_ipv6 = 1 instead (but mind ::1,
LBD420).`,
	Run: func(p *Pass) error {
		var off *parsers.Pos
		for _, c := range p.Host.BootCmdlines {
			if ipv6Disabled(c.Value) {
				off = &parsers.Pos{File: c.File, Line: c.Line}
				break
			}
		}
		if len(p.Host.BootCmdlines) == 0 {
			return nil // the next boot's command line is unknown
		}
		offNow := p.Host.NoIPv6 || ipv6Disabled(p.Host.Cmdline)
		for _, l := range p.Listeners() {
			if !opensIPSocket(l) || !l.Addr.Is6() || l.Addr.Is4In6() {
				continue
			}
			switch {
			case off != nil && !offNow:
				short, full := noIPv6Error(l)
				p.Report(Finding{
					Listener:    l,
					Message:     fmt.Sprintf("%s binds now, but would fail after the next reboot: %s", l.Service, short),
					DaemonError: full,
					Why:         fmt.Sprintf("%s gives the next boot's kernel ipv6.disable=1 (%q), and without IPv6 socket(AF_INET6) fails", *off, p.Host.BootCmdlines[0].Value),
					Fix:         []string{fmt.Sprintf("remove ipv6.disable=1 at %s, then run update-grub", *off), fmt.Sprintf("or remove the IPv6 listen at %s", l.Pos)},
					Errno:       "EAFNOSUPPORT",
				})
			case off == nil && offNow:
				p.Report(Finding{
					Listener: l,
					Severity: Info,
					Message:  fmt.Sprintf("IPv6 is off now but on after the next reboot: %s fails now and binds then", l.Socket()),
					Why:      fmt.Sprintf("the running kernel has no IPv6 (%s), and the boot loader configuration (%s) no longer gives ipv6.disable=1", cmdlineWhy(p.Host.Cmdline), cmdlineFiles(p.Host.BootCmdlines)),
					Fix:      []string{"reboot"},
				})
			}
		}
		return nil
	},
}

// ipv6Disabled reports whether a kernel command line switches IPv6 off.
func ipv6Disabled(cmdline string) bool { return kcmdline.IPv6Disabled(cmdline) }

func cmdlineWhy(now string) string {
	if ipv6Disabled(now) {
		return "booted with ipv6.disable=1"
	}
	return "/proc/sys/net/ipv6 does not exist"
}

func cmdlineFiles(cs []host.Cmdline) string {
	var fs []string
	for _, c := range cs {
		fs = append(fs, c.File)
	}
	return strings.Join(fs, ", ")
}
