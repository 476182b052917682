package checks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// LBD423 finds listen ports inside the kernel's range of ephemeral ports
// that are not reserved: an outgoing connection can take one first.
var LBD423 = &Check{
	ID:       "LBD423",
	Name:     "ephemeral-port",
	Title:    "Listen port is in ip_local_port_range and not reserved",
	Severity: Warning,
	Doc: `A service listens on a port inside net.ipv4.ip_local_port_range (the range
the kernel picks source ports of outgoing connections from, 32768-60999 by
default; it serves IPv6 too), and net.ipv4.ip_local_reserved_ports does not
reserve it. Any outgoing connection (a health check, a resolver, a backend
connection of the service itself) can be given that port as its source,
and while it lasts the service's bind() fails with 98:

    nginx: [emerg] bind() to 0.0.0.0:50000 failed (98: Address already in use)

It happens at random, mostly at boot and on restarts, when many
connections open at once. lbdoctor judges the range and the reserved ports
now and as the next boot sets them (see LBD402 for how the sysctl.d files
are read), and warns when the port is unprotected at either moment.

Fix: reserve the port (the one line lists every port to reserve; the last
assignment wins):

    sysctl -w net.ipv4.ip_local_reserved_ports=50000
    echo 'net.ipv4.ip_local_reserved_ports = 50000' > /etc/sysctl.d/99-zz-lbdoctor-net.ipv4.ip_local_reserved_ports.conf

or move the listener out of the range.`,
	Run: func(p *Pass) error {
		nowRange, nowOK := portRange(p.Host.Sysctl(host.LocalPortRange))
		nowRes := parsePortList(p.Host.Sysctl(host.ReservedPorts))
		bootRangeV, rangeAt, bootKnown := bootValue(p.Host, host.LocalPortRange)
		bootResV, resAt, resKnown := bootValue(p.Host, host.ReservedPorts)
		bootRange, bootOK := portRange(bootRangeV)
		bootOK = bootOK && bootKnown && resKnown
		bootRes := parsePortList(bootResV)
		nowSet, bootSet := portSet(nowRes), portSet(bootRes)
		type race struct {
			l         *parsers.Listener
			now, boot bool
		}
		var races []race
		var ports []int
		for _, l := range p.Listeners() {
			if !opensIPSocket(l) || l.Port <= 0 {
				continue
			}
			r := race{l: l,
				now:  nowOK && inRange(l.Port, nowRange) && !nowSet[l.Port],
				boot: bootOK && inRange(l.Port, bootRange) && !bootSet[l.Port],
			}
			if r.now || r.boot {
				races = append(races, r)
				if !slices.Contains(ports, l.Port) {
					ports = append(ports, l.Port)
				}
			}
		}
		if len(races) == 0 {
			return nil
		}
		slices.Sort(ports)
		nowLine := joinPorts(append(slices.Clone(nowRes), ports...))
		bootLine := joinPorts(append(slices.Clone(bootRes), ports...))
		file := persistFile(host.ReservedPorts)
		for _, r := range races {
			l := r.l
			var why []string
			if r.now {
				why = append(why, fmt.Sprintf("now %s is %s and %s %s", host.LocalPortRange, p.Host.Sysctl(host.LocalPortRange), host.ReservedPorts, orEmpty(p.Host.Sysctl(host.ReservedPorts))))
			}
			if r.boot {
				why = append(why, fmt.Sprintf("after a reboot %s is %s%s and %s %s%s", host.LocalPortRange, bootRangeV, setBy(rangeAt), host.ReservedPorts, orEmpty(bootResV), setBy(resAt)))
			}
			short, full := DaemonError(l, "EADDRINUSE")
			when := "at boot"
			if !r.boot {
				when = "on a restart (until the next reboot)"
			}
			p.Report(Finding{
				Listener:    l,
				Message:     fmt.Sprintf("%s may fail %s when an outgoing connection holds port %d: %s", l.Service, when, l.Port, short),
				DaemonError: full,
				Why:         fmt.Sprintf("port %d is in the range the kernel gives outgoing connections and not reserved: %s", l.Port, strings.Join(why, "; ")),
				Fix: []string{
					"sysctl -w " + host.ReservedPorts + "=" + nowLine,
					"echo '" + host.ReservedPorts + " = " + bootLine + "' > " + file,
				},
				Persist: []FileLine{{Path: file, Line: host.ReservedPorts + " = " + bootLine}},
				Errno:   "EADDRINUSE",
			})
		}
		return nil
	},
}

func orEmpty(v string) string {
	if strings.TrimSpace(v) == "" {
		return "empty"
	}
	return v
}

func setBy(at parsers.Pos) string {
	if at.File == "" {
		return " (kernel default)"
	}
	return " (" + at.String() + ")"
}

// portRange reads ip_local_port_range's "low high".
func portRange(v string) ([2]int, bool) {
	f := strings.Fields(v)
	if len(f) != 2 {
		return [2]int{}, false
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	return [2]int{lo, hi}, err1 == nil && err2 == nil
}

func inRange(port int, r [2]int) bool { return port >= r[0] && port <= r[1] }

// parsePortList reads ip_local_reserved_ports's "8080,9000-9010" into
// the ports it names.
func parsePortList(v string) []int {
	var out []int
	for _, part := range strings.Split(strings.Join(strings.Fields(v), ""), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 65535 {
				continue
			}
		}
		for x := a; x <= b; x++ {
			out = append(out, x)
		}
	}
	return out
}

// joinPorts writes ports as ip_local_reserved_ports takes them, ranges
// folded.
func joinPorts(ports []int) string {
	slices.Sort(ports)
	ports = slices.Compact(ports)
	var parts []string
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && ports[j+1] == ports[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(ports[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", ports[i], ports[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func portSet(ports []int) map[int]bool {
	m := make(map[int]bool, len(ports))
	for _, p := range ports {
		m[p] = true
	}
	return m
}
