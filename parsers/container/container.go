// Package container reads how a load balancer runs in a container: the
// JSON of `docker inspect` / `podman inspect`, Compose files, Podman quadlet
// .container units and Kubernetes pod manifests (kubeadm's static pods).
// It keeps what decides whether the daemon may bind: the user, the
// capabilities, no-new-privileges, the sysctls, the network mode, the
// published ports, and the bind mounts that carry the daemon's config.
package container

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Engine is what runs the container; engines differ in default
// capabilities, sysctls and whether a non-root user keeps --cap-add.
type Engine string

// The engines lbdoctor knows.
const (
	Docker     Engine = "docker"
	Podman     Engine = "podman"
	Kubernetes Engine = "kubernetes" // containerd or CRI-O under the kubelet
)

// Port is one published port: HostPort on HostIP of the host forwards to
// ContainerPort.
type Port struct {
	HostIP        string      `json:"host_ip,omitempty"`
	HostPort      int         `json:"host_port"`
	ContainerPort int         `json:"container_port"`
	Proto         string      `json:"proto"` // "tcp" or "udp"
	Pos           parsers.Pos `json:"pos"`
}

// Mount is a bind mount: Source on the host appears at Destination.
type Mount struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

// Container is one container as its engine would run it.
type Container struct {
	Name   string      `json:"name"`
	Engine Engine      `json:"engine"`
	Format string      `json:"format"` // "inspect", "compose", "quadlet", "pod"
	Pos    parsers.Pos `json:"pos"`    // where it is defined
	Image  string      `json:"image"`
	// Command is the entrypoint and command, as far as given.
	Command []string `json:"command,omitempty"`
	// User is the user the process runs as ("" = the image's, see
	// UserFrom); UserFrom says where it was found.
	User     string `json:"user"`
	UserFrom string `json:"user_from"`
	// RunAsNonRoot is Kubernetes' runAsNonRoot.
	RunAsNonRoot bool `json:"run_as_non_root,omitempty"`
	// Privileged gives every capability.
	Privileged bool     `json:"privileged,omitempty"`
	CapAdd     []string `json:"cap_add,omitempty"`
	CapDrop    []string `json:"cap_drop,omitempty"`
	// EffectiveCaps is what the engine reports as the process's
	// effective set (podman inspect's EffectiveCaps), nil if unknown.
	EffectiveCaps []string `json:"effective_caps,omitempty"`
	// NoNewPrivileges is --security-opt no-new-privileges, or Kubernetes'
	// allowPrivilegeEscalation: false.
	NoNewPrivileges bool              `json:"no_new_privileges,omitempty"`
	Sysctls         map[string]string `json:"sysctls,omitempty"`
	// Network is "host" for the host's network namespace, else the
	// container's own ("bridge", "pasta", a network name, "none").
	Network string  `json:"network"`
	Ports   []Port  `json:"ports,omitempty"`
	Mounts  []Mount `json:"mounts,omitempty"`
	// Errors are parts of the definition lbdoctor could not read.
	Errors []parsers.Error `json:"errors,omitempty"`
}

// HostNetwork reports whether the container shares the host's network
// namespace.
func (c *Container) HostNetwork() bool { return c.Network == "host" }

// Daemon guesses the load balancer the container runs from its image and
// command: "haproxy", "nginx", "keepalived", or "".
func (c *Container) Daemon() string {
	hay := strings.ToLower(c.Image + " " + strings.Join(c.Command, " "))
	for _, d := range []string{"keepalived", "haproxy", "nginx"} {
		if strings.Contains(hay, d) {
			return d
		}
	}
	return ""
}

// ConfigPath is the daemon's config inside the container: "-f PATH" (or
// nginx's "-c PATH") in the command, else the image's default, else the
// mounted file of the same name (images put keepalived.conf in many
// places).
func (c *Container) ConfigPath() string {
	p := c.configPath()
	if p == "" || c.HostPath(p) != "" {
		return p
	}
	for _, m := range c.Mounts {
		if path.Base(m.Destination) == path.Base(p) {
			return m.Destination
		}
	}
	return p
}

func (c *Container) configPath() string {
	d := c.Daemon()
	flag := "-f"
	if d == "nginx" {
		flag = "-c"
	}
	for i, a := range c.Command {
		if a == flag && i+1 < len(c.Command) {
			return c.Command[i+1]
		}
		if strings.HasPrefix(a, "--use-file=") {
			return strings.TrimPrefix(a, "--use-file=")
		}
	}
	switch d {
	case "haproxy":
		// The official image's; Debian's package uses /etc/haproxy.
		name, _ := splitImage(c.Image)
		if strings.Contains(c.Image, "haproxytech/") || strings.HasPrefix(path.Base(name), "haproxy") && !strings.Contains(c.Image, "/") {
			return "/usr/local/etc/haproxy/haproxy.cfg"
		}
		for _, m := range c.Mounts {
			if strings.HasPrefix(m.Destination, "/usr/local/etc/haproxy") {
				return "/usr/local/etc/haproxy/haproxy.cfg"
			}
		}
		return "/etc/haproxy/haproxy.cfg"
	case "nginx":
		return "/etc/nginx/nginx.conf"
	case "keepalived":
		return "/etc/keepalived/keepalived.conf"
	}
	return ""
}

// HostPath maps a path inside the container to the host through the bind
// mounts, the most specific mount first; "" when no mount covers it.
func (c *Container) HostPath(p string) string {
	best, bestLen := "", -1
	for _, m := range c.Mounts {
		d := path.Clean(m.Destination)
		if p == d || strings.HasPrefix(p, d+"/") {
			if len(d) > bestLen {
				best, bestLen = path.Join(m.Source, strings.TrimPrefix(p, d)), len(d)
			}
		}
	}
	return best
}

// splitImage cuts an image reference into its name (without digest and
// tag) and its tag, "latest" when none is given.
func splitImage(image string) (name, tag string) {
	name, tag = image, "latest"
	if i := strings.LastIndex(name, "@"); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag
}

// imageUser is the USER of well-known load balancer images, from their
// Dockerfiles, for definitions that do not say (Compose, quadlet, pods):
// the official haproxy image runs as "haproxy" since 2.4, the unprivileged
// nginx and Bitnami images as 101 and 1001. Any other image is taken to
// run as root, as most do.
func imageUser(image string) (user, from string) {
	name, tag := splitImage(image)
	base := path.Base(name)
	switch {
	case strings.HasSuffix(name, "nginx-unprivileged"):
		return "101", "the USER of image " + image
	case strings.HasPrefix(name, "bitnami/") || strings.Contains(name, "/bitnami/"):
		return "1001", "the USER of image " + image
	case base == "haproxy" && (name == "haproxy" || name == "library/haproxy" || strings.HasSuffix(name, "docker.io/library/haproxy") || strings.HasSuffix(name, "docker.io/haproxy")):
		if v, ok := majorMinor(tag); ok && v < 204 {
			return "", "image " + image + " (before 2.4 it runs as root)"
		}
		return "haproxy", "the USER of image " + image + " (haproxy since 2.4)"
	}
	return "", "image " + image + " (assumed to run as root: the definition sets no user)"
}

// majorMinor reads "2.8.3-alpine" as 208.
func majorMinor(tag string) (int, bool) {
	f := strings.FieldsFunc(tag, func(r rune) bool { return r == '.' || r == '-' })
	if len(f) < 2 {
		return 0, false
	}
	a, err1 := strconv.Atoi(f[0])
	b, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return a*100 + b, true
}

// RunsAsRoot reports whether the container's process is root (uid 0).
func (c *Container) RunsAsRoot() bool {
	u, _, _ := strings.Cut(c.User, ":")
	return u == "" || u == "root" || u == "0"
}

// defaultCaps are the capabilities each engine grants by default (moby's
// oci/caps, Podman's containers.conf, containerd's and CRI-O's defaults).
func defaultCaps(e Engine) []string {
	switch e {
	case Podman:
		return []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
	case Kubernetes:
		// containerd's default set; CRI-O's lacks NET_RAW, MKNOD,
		// AUDIT_WRITE and SYS_CHROOT.
		return []string{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
	}
	return []string{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
}

// normCap is "NET_ADMIN" for "cap_net_admin", "CAP_NET_ADMIN" or "net_admin".
func normCap(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	return strings.TrimPrefix(s, "CAP_")
}

// BoundingCaps is the capability bounding set: the engine's defaults,
// plus CapAdd, minus CapDrop ("ALL" drops every default, and then CapAdd
// adds back), everything when privileged. Sorted.
func (c *Container) BoundingCaps() []string {
	set := map[string]bool{}
	if c.Privileged {
		return []string{"ALL"}
	}
	dropAll := false
	for _, d := range c.CapDrop {
		if normCap(d) == "ALL" {
			dropAll = true
		}
	}
	if !dropAll {
		for _, d := range defaultCaps(c.Engine) {
			set[d] = true
		}
	}
	for _, d := range c.CapDrop {
		delete(set, normCap(d))
	}
	for _, a := range c.CapAdd {
		if normCap(a) == "ALL" {
			return []string{"ALL"}
		}
		set[normCap(a)] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// HasCap reports whether the container's process holds the capability
// (without "CAP_") in its effective set when it starts: root holds the
// bounding set; a non-root user holds nothing under Docker and Kubernetes
// (no ambient capabilities: --cap-add only raises the bounding set),
// while Podman makes the added capabilities ambient for a non-root user.
// File capabilities in the image are not visible here and not counted.
func (c *Container) HasCap(name string) bool {
	name = normCap(name)
	in := func(list []string) bool {
		for _, x := range list {
			if x = normCap(x); x == name || x == "ALL" {
				return true
			}
		}
		return false
	}
	if c.EffectiveCaps != nil {
		return in(c.EffectiveCaps)
	}
	if c.RunsAsRoot() {
		return in(c.BoundingCaps())
	}
	if c.Engine == Podman {
		return in(c.CapAdd) && in(c.BoundingCaps())
	}
	return false
}

// UnprivilegedPortStart is net.ipv4.ip_unprivileged_port_start in the
// container's own network namespace: its sysctl, else the engine's
// default (Docker sets 0 since 20.10; Podman and Kubernetes keep the
// kernel's 1024). hostValue applies to host networking.
func (c *Container) UnprivilegedPortStart(hostValue int) (int, string) {
	if c.HostNetwork() {
		return hostValue, "the host's"
	}
	if v, ok := c.Sysctls["net.ipv4.ip_unprivileged_port_start"]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n, "the container's sysctl"
		}
	}
	if c.Engine == Docker {
		return 0, "Docker's default for a container's own network namespace"
	}
	return 1024, "the kernel's default in the container's network namespace"
}

// Describe says in a few words how the container runs: "container lb
// (docker, user haproxy, host network)".
func (c *Container) Describe() string {
	u := c.User
	if u == "" {
		u = "root"
	}
	net := "own network namespace"
	if c.HostNetwork() {
		net = "host network"
	}
	return fmt.Sprintf("%s container %s (user %s, %s)", c.Engine, c.Name, u, net)
}
