package checks

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/container"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// ContainerNetns is the prefix of Listener.Uncheckable for a listener that a
// container opens in its own network namespace: the host's addresses and
// sockets do not decide there, only the container's identity (LBD314).
const ContainerNetns = "opened in the own network namespace of container "

// LBD314 finds ports below ip_unprivileged_port_start for a daemon whose
// container gives it no CAP_NET_BIND_SERVICE.
var LBD314 = &Check{
	ID:       "LBD314",
	Name:     "container-privileged-port",
	Title:    "Privileged port for a daemon whose container gives it no CAP_NET_BIND_SERVICE",
	Severity: Error,
	Doc: `A daemon in a container binds a port below
net.ipv4.ip_unprivileged_port_start only with CAP_NET_BIND_SERVICE in its
effective set. Which sysctl counts depends on the network: with host
networking (--network host, network_mode: host, hostNetwork: true) the
host's; with the container's own network namespace the container's sysctl
(--sysctl, sysctls:, securityContext.sysctls), else the engine's default:
Docker sets 0 since 20.10, Podman and Kubernetes leave the kernel's 1024.

Who holds the capability: root in the container holds the engine's set
(Docker's and containerd's default include NET_BIND_SERVICE) minus
--cap-drop. A non-root user (the image's USER, --user, runAsUser) holds
nothing under Docker and Kubernetes: --cap-add NET_BIND_SERVICE only
raises the bounding set, there are no ambient capabilities. Podman makes
the added capabilities ambient for a non-root user, so there it helps.
File capabilities on the image's binary help unless no-new-privileges
(allowPrivilegeEscalation: false) is set; they are not visible in the
definitions lbdoctor reads and are not counted.

The official haproxy image runs as USER haproxy since 2.4, so

    docker run --network host -v $PWD/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro haproxy:2.8

fails on "bind :80" with:

    [ALERT] : Binding [/usr/local/etc/haproxy/haproxy.cfg:3] for frontend fe: cannot bind socket (Permission denied) for [0.0.0.0:80]

Fix: with its own network namespace, --sysctl
net.ipv4.ip_unprivileged_port_start=0 (Compose sysctls:, a pod's
securityContext.sysctls); with host networking, the host's sysctl
(net.ipv4.ip_unprivileged_port_start=80), or run the container as root
(--user root); under Podman also --cap-add NET_BIND_SERVICE.
Verified with the real daemons run as the container runtime runs them
(user, bounding set, no_new_privs, the namespace's sysctl).`,
	Run: func(p *Pass) error {
		hostStart := unprivilegedPortStart(p.Host)
		for _, s := range p.Services {
			c := s.Container
			if s.Config == nil || c == nil || c.HasCap("NET_BIND_SERVICE") {
				continue
			}
			start, from := c.UnprivilegedPortStart(hostStart)
			for i := range s.Config.Listeners {
				l := &s.Config.Listeners[i]
				if l.Proto == parsers.Unix || !l.Addr.IsValid() || l.Via != "" || l.Port == 0 || l.Port >= start {
					continue
				}
				if l.Uncheckable != "" && !strings.HasPrefix(l.Uncheckable, ContainerNetns) {
					continue
				}
				short, full := DaemonError(l, "EACCES")
				p.Report(Finding{
					Listener:    l,
					Message:     fmt.Sprintf("%s would fail: %s", l.Service, short),
					DaemonError: full,
					Why:         containerWhy(c, l.Port, start, from),
					Fix:         containerFix(c, l.Port),
					Errno:       "EACCES",
				})
			}
		}
		return nil
	},
}

// containerWhy says why the container's process may not bind port.
func containerWhy(c *container.Container, port, start int, from string) string {
	who := "root"
	if !c.RunsAsRoot() {
		who = "user " + c.User
	}
	var lacks string
	switch {
	case c.RunsAsRoot():
		lacks = "its capabilities lack NET_BIND_SERVICE (" + strings.Join(c.BoundingCaps(), " ") + ")"
	case c.Engine == container.Podman:
		lacks = "a non-root process holds only the capabilities added with --cap-add, and NET_BIND_SERVICE is not among them"
	default:
		lacks = fmt.Sprintf("a non-root process holds no capability under %s (no ambient capabilities: --cap-add only raises the bounding set)", c.Engine)
	}
	return fmt.Sprintf("%s runs as %s (from %s) and %s; port %d is below net.ipv4.ip_unprivileged_port_start=%d (%s)",
		c.Describe(), who, c.UserFrom, lacks, port, start, from)
}

// containerFix are the ways to let the container bind port.
func containerFix(c *container.Container, port int) []string {
	var fix []string
	if c.HostNetwork() {
		// Host networking shares the host's sysctls.
		fix = append(fix, fmt.Sprintf("sysctl -w %s=%d", host.UnprivilegedPortMin, port),
			fmt.Sprintf("echo '%s = %d' > /etc/sysctl.d/60-lbdoctor-ports.conf", host.UnprivilegedPortMin, port))
	} else {
		switch c.Format {
		case "compose":
			fix = append(fix, "add to the service: sysctls: {net.ipv4.ip_unprivileged_port_start: 0}")
		case "pod":
			fix = append(fix, "add to the pod's securityContext: sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: \"0\"}]")
		case "quadlet":
			fix = append(fix, "add to [Container]: Sysctl=net.ipv4.ip_unprivileged_port_start=0")
		default:
			fix = append(fix, "run it with --sysctl net.ipv4.ip_unprivileged_port_start=0")
		}
	}
	if c.Engine == container.Podman && !c.RunsAsRoot() {
		fix = append(fix, "podman: --cap-add NET_BIND_SERVICE (AddCapability=CAP_NET_BIND_SERVICE) makes it ambient for a non-root user")
	} else if c.RunsAsRoot() {
		fix = append(fix, "do not drop NET_BIND_SERVICE (--cap-drop / capabilities.drop)")
	} else {
		fix = append(fix, "or run the container as root (--user root, runAsUser: 0) and let the daemon drop privileges itself")
	}
	return fix
}

// LBD315 finds published ports that the host already uses.
var LBD315 = &Check{
	ID:       "LBD315",
	Name:     "container-published-port-taken",
	Title:    "A container publishes a host port that is already taken",
	Severity: Error,
	Doc: `A container in its own network namespace is reached through its
published ports (-p 80:8080, ports:, PublishPort=, hostPort:). The engine
binds each published port on the host when the container starts (docker-
proxy, Podman's rootlessport or conmon); when a host process already
listens there, the container does not start:

    docker: Error response from daemon: driver failed programming external connectivity on endpoint lb: Error starting userland proxy: listen tcp4 0.0.0.0:80: bind: address already in use.

Fix: publish another host port, or stop what holds it (the owner is
named).`,
	Run: func(p *Pass) error {
		seen := map[*container.Container]bool{}
		for _, s := range p.Services {
			c := s.Container
			if c == nil || seen[c] || c.HostNetwork() {
				continue
			}
			seen[c] = true
			for _, pt := range c.Ports {
				if pt.HostPort == 0 {
					continue
				}
				ip, _ := netip.ParseAddr(pt.HostIP)
				for _, sk := range p.Host.Listeners(pt.Proto, pt.HostPort) {
					a, err := netip.ParseAddr(sk.Address)
					if err != nil || !(!ip.IsValid() || ip.IsUnspecified() || a.IsUnspecified() || a == ip) {
						continue
					}
					owner := "an unknown process"
					if sk.PID != 0 {
						owner = fmt.Sprintf("%s (pid %d)", sk.Command, sk.PID)
					}
					bind := pt.HostIP
					if bind == "" {
						bind = "0.0.0.0"
					}
					sock := parsers.JoinHostPort(bind, pt.HostPort)
					p.Report(Finding{
						Service: s.Name,
						Pos:     pt.Pos,
						Address: bind,
						Port:    pt.HostPort,
						Message: fmt.Sprintf("%s %s would not start: listen %s4 %s: bind: address already in use", c.Engine, c.Name, pt.Proto, sock),
						Why:     fmt.Sprintf("%s publishes %s/%s, where %s already listens on %s", c.Describe(), sock, pt.Proto, owner, parsers.JoinHostPort(sk.Address, sk.Port)),
						Fix:     []string{fmt.Sprintf("publish another host port for container port %d, or stop %s", pt.ContainerPort, owner)},
						Errno:   "EADDRINUSE",
					})
					break
				}
			}
		}
		return nil
	},
}

// LBD520 finds keepalived containers that cannot add their VIPs.
var LBD520 = &Check{
	ID:       "LBD520",
	Name:     "keepalived-container",
	Title:    "keepalived in a container that cannot manage the host's VIPs",
	Severity: Error,
	Doc: `keepalived adds its virtual addresses with netlink, which needs
CAP_NET_ADMIN, and sends VRRP adverts on a raw socket, which needs
CAP_NET_RAW; and the VIPs must land in the host's network namespace, so
the container needs host networking. In a container without them the
VIPs never appear on the host. Without NET_ADMIN keepalived enters MASTER
and logs

    Netlink: error: Operation not permitted(1), type=RTM_NEWADDR(20), ...

without NET_RAW (Podman's default set lacks it) its VRRP process stops:

    Error 1 while registering gratuitous ARP shared channel
    pid 28946 exited with permanent error missing permission. Terminating

and in its own network namespace it adds the VIP there, where no client
sees it. Verified with the real keepalived under each engine's bounding
set, in the host's namespace or one of its own.

kubeadm's HA guide runs keepalived as a static pod with hostNetwork: true
and capabilities add: [NET_ADMIN, NET_BROADCAST, NET_RAW].

Fix: --network host --cap-add NET_ADMIN --cap-add NET_RAW (Compose:
network_mode: host, cap_add; a pod: hostNetwork: true and
securityContext.capabilities.add).`,
	Run: func(p *Pass) error {
		seen := map[*container.Container]bool{}
		for _, s := range p.Services {
			c := s.Container
			if c == nil || seen[c] || c.Daemon() != "keepalived" {
				continue
			}
			seen[c] = true
			var lacks, fix []string
			if !c.HostNetwork() {
				lacks = append(lacks, "it has its own network namespace ("+c.Network+"), so VIPs would land there, not on the host")
				fix = append(fix, "host networking (--network host, network_mode: host, hostNetwork: true)")
			}
			for _, cp := range []string{"NET_ADMIN", "NET_RAW"} {
				if !c.HasCap(cp) {
					lacks = append(lacks, "it lacks CAP_"+cp)
					fix = append(fix, "--cap-add "+cp+" (cap_add, capabilities.add)")
				}
			}
			if len(lacks) == 0 {
				continue
			}
			p.Report(Finding{
				Service: "keepalived",
				Pos:     c.Pos,
				Message: fmt.Sprintf("keepalived in %s %s cannot add its VIPs to the host", c.Engine, c.Name),
				Why:     fmt.Sprintf("%s: %s", c.Describe(), strings.Join(lacks, "; ")),
				Fix:     fix,
			})
		}
		return nil
	},
}
