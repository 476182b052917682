package checks

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
	"github.com/lbdoctor/lbdoctor/parsers/selinux"
)

// seVerdict is what SELinux decides about one listener: the daemon's
// domain, the port's context, and whether the domain may bind it with the
// booleans as they are now and as the next boot sets them.
type seVerdict struct {
	f          *selinux.Facts
	d          *selinux.Domain
	port       selinux.Port
	now, boot  bool
	proto      string
	listenPort int
}

// seJudge is SELinux's verdict on l, ok false when SELinux has nothing to
// say: no facts, no domain recorded for the service, no IP port.
func seJudge(p *Pass, l *parsers.Listener) (seVerdict, bool) {
	f := p.Host.SELinux
	if f == nil || !opensIPSocket(l) || l.Port == 0 {
		return seVerdict{}, false
	}
	proto := string(l.Proto)
	if proto != "tcp" && proto != "udp" {
		return seVerdict{}, false
	}
	d, ok := f.Domain(l.Service)
	if !ok {
		return seVerdict{}, false
	}
	if !nameBindChecked(p, l.Port) {
		return seVerdict{}, false
	}
	pc, _ := f.PortType(proto, l.Port)
	return seVerdict{
		f: f, d: d, port: pc, proto: proto, listenPort: l.Port,
		now:  d.MayBind(proto, pc.Type, f.BoolValue(false)),
		boot: d.MayBind(proto, pc.Type, f.BoolValue(true)),
	}, true
}

// nameBindChecked reports whether SELinux checks name_bind for port at
// all: the kernel (selinux_socket_bind) asks only below
// net.ipv4.ip_unprivileged_port_start or outside
// net.ipv4.ip_local_port_range; unknown sysctls take the kernel's
// defaults (1024; 32768-60999).
func nameBindChecked(p *Pass, port int) bool {
	local, ok := portRange(p.Host.Sysctl(host.LocalPortRange))
	if !ok {
		local = [2]int{32768, 60999}
	}
	return port < unprivilegedPortStart(p.Host) || !inRange(port, local)
}

// why says the port's type and what the domain may bind.
func (v seVerdict) why() string {
	where := ""
	if v.port.Local {
		where = " (a local change: semanage port -l -C)"
	}
	return fmt.Sprintf("port %d/%s has type %s%s; %s (%s's domain: %s is %s) may bind %s",
		v.listenPort, v.proto, v.port.Type, where, v.d.Domain, v.d.Service, v.d.Exec, v.d.ExecType, v.bindable())
}

// bindable lists the port types the domain may bind for the protocol:
// always, then under a condition.
func (v seVerdict) bindable() string {
	var always, cond []string
	for _, b := range v.d.Binds {
		if b.Proto != v.proto {
			continue
		}
		for _, t := range b.Types {
			if t == "*" {
				t = "every port type"
			}
			if b.If == "" {
				if !slices.Contains(always, t) {
					always = append(always, t)
				}
				continue
			}
			cond = append(cond, fmt.Sprintf("%s if %s", t, selinux.CondText(b.If, true)))
		}
	}
	sort.Strings(always)
	if i := slices.Index(always, "http_port_t"); i > 0 {
		always = append([]string{"http_port_t"}, slices.Delete(always, i, i+1)...)
	}
	all := append(always, cond...)
	if len(all) == 0 {
		return "no " + strings.ToUpper(v.proto) + " port at all"
	}
	const most = 8
	if len(all) > most {
		return strings.Join(all[:most], ", ") + fmt.Sprintf(", … (%d in all)", len(all))
	}
	return strings.Join(all, ", ")
}

// fix are the commands that let the domain bind the port: label the port
// with a type the domain may bind, or turn on a boolean that lets it.
func (v seVerdict) fix(persisted bool) []string {
	var typ string
	for _, b := range v.d.Binds {
		if b.Proto != v.proto || b.If != "" {
			continue
		}
		for _, t := range b.Types {
			if t == "*" {
				continue
			}
			if typ == "" || t == "http_port_t" {
				typ = t
			}
		}
	}
	var fix []string
	switch {
	case typ == "":
		// No port type would do: only a local policy module helps.
		fix = append(fix, fmt.Sprintf("ausearch -m avc -c %s | audit2allow -M lbdoctor-%s && semodule -i lbdoctor-%s.pp", execName(v.d.Exec), v.d.Service, v.d.Service))
	case v.port.Local && v.port.Low != v.port.High:
		// libsemanage refuses a local port inside a local range.
		fix = append(fix, fmt.Sprintf("semanage port -m -t %s -p %s %d-%d", typ, v.proto, v.port.Low, v.port.High))
	case v.port.Low == v.listenPort && v.port.High == v.listenPort:
		fix = append(fix, fmt.Sprintf("semanage port -m -t %s -p %s %d", typ, v.proto, v.listenPort))
	default:
		fix = append(fix, fmt.Sprintf("semanage port -a -t %s -p %s %d", typ, v.proto, v.listenPort))
	}
	// A boolean that alone lets the domain bind the port: the wider fix.
	value := v.f.BoolValue(persisted)
	seen := map[string]bool{}
	for _, b := range v.d.Binds {
		for _, name := range selinux.CondNames(b.If) {
			if seen[name] {
				continue
			}
			seen[name] = true
			cur, _ := value(name)
			flipped := func(n string) (bool, bool) {
				if n == name {
					return !cur, true
				}
				return value(n)
			}
			if v.d.MayBind(v.proto, v.port.Type, flipped) {
				on := "0"
				if !cur {
					on = "1"
				}
				fix = append(fix, fmt.Sprintf("setsebool -P %s %s", name, on))
			}
		}
	}
	return fix
}

func execName(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}
