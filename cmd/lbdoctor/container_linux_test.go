package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// daemonContainer is a container as TestDaemonsAgree runs it without a
// container engine: the daemon in the case's namespace (host networking)
// or in a namespace of its own with the container's sysctls, as the
// container's user, with the bounding set the engine would give it,
// ambient capabilities only where the engine sets them (Podman, for a
// non-root user's --cap-add), and no_new_privs when asked.
type daemonContainer struct {
	engine      string // docker, podman, kubernetes
	format      string // inspect, compose, quadlet, pod
	user        string // "" = root; a user of /etc/passwd
	capAdd      []string
	capDrop     []string
	nnp         bool
	hostNetwork bool
	sysctls     map[string]string
	file        string // the definition written for lbdoctor
}

// engineDefaultCaps are the engines' default capability sets, from moby's
// oci/caps/defaults.go, Podman's containers.conf and containerd's
// oci/spec.go; the test's own table, not lbdoctor's.
var engineDefaultCaps = map[string][]string{
	"docker":     {"chown", "dac_override", "fsetid", "fowner", "mknod", "net_raw", "setgid", "setuid", "setfcap", "setpcap", "net_bind_service", "sys_chroot", "kill", "audit_write"},
	"kubernetes": {"chown", "dac_override", "fsetid", "fowner", "mknod", "net_raw", "setgid", "setuid", "setfcap", "setpcap", "net_bind_service", "sys_chroot", "kill", "audit_write"},
	"podman":     {"chown", "dac_override", "fowner", "fsetid", "kill", "net_bind_service", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot"},
}

// sandbox is the setpriv command line that gives the daemon the
// container's identity.
func (c *daemonContainer) sandbox(t *testing.T) *daemonSandbox {
	t.Helper()
	set := map[string]bool{}
	for _, x := range engineDefaultCaps[c.engine] {
		set[x] = true
	}
	for _, x := range c.capDrop {
		delete(set, strings.ToLower(x))
	}
	for _, x := range c.capAdd {
		set[strings.ToLower(x)] = true
	}
	bounding := "-all"
	for _, x := range slices.Sorted(maps.Keys(set)) {
		bounding += ",+" + x
	}
	args := []string{"setpriv", "--bounding-set=" + bounding}
	if c.user != "" {
		ids, err := daemonUserIDs(c.user)
		if err != nil {
			t.Skipf("SKIPPED: user %s: %v", c.user, err)
		}
		args = append(args, fmt.Sprintf("--reuid=%d", ids[0]), fmt.Sprintf("--regid=%d", ids[1]), "--clear-groups")
		if c.engine == "podman" && len(c.capAdd) > 0 {
			var add []string
			for _, x := range c.capAdd {
				add = append(add, "+"+strings.ToLower(x))
			}
			args = append(args, "--inh-caps="+strings.Join(add, ","), "--ambient-caps="+strings.Join(add, ","))
		}
	}
	if c.nnp {
		args = append(args, "setpriv", "--nnp")
	}
	return &daemonSandbox{raw: args}
}

// containerNetns returns the namespace the container's daemon runs in: ns
// itself for host networking, else a new one with lo up and the
// container's sysctls (Docker's ip_unprivileged_port_start=0 default
// included), removed when the test ends.
func containerNetns(ctx context.Context, t *testing.T, ns string, c *daemonContainer) string {
	t.Helper()
	if c.hostNetwork {
		return ns
	}
	cns := ns + "c"
	daemonCmd(ctx, t, "ip", "netns", "add", cns)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10e9)
		defer cancel()
		daemonCmd(ctx, t, "ip", "netns", "del", cns)
	})
	daemonCmd(ctx, t, "ip", "-n", cns, "link", "set", "lo", "up")
	sysctls := map[string]string{}
	if c.engine == "docker" {
		sysctls["net.ipv4.ip_unprivileged_port_start"] = "0"
	}
	maps.Copy(sysctls, c.sysctls)
	for _, k := range slices.Sorted(maps.Keys(sysctls)) {
		daemonCmd(ctx, t, "ip", "netns", "exec", cns, "sysctl", "-q", "-w", k+"="+sysctls[k])
	}
	return cns
}

// writeContainerDef writes the case's container definition in its format,
// bind-mounting conf where the image reads its config, and records its
// path in tc.container.file.
func writeContainerDef(t *testing.T, tc daemonCase, dir, conf string) {
	t.Helper()
	c := tc.container
	inside, image := "/usr/local/etc/haproxy/haproxy.cfg", "haproxy:2.2"
	if tc.daemon == "nginx" {
		inside, image = "/etc/nginx/nginx.conf", "nginx:1.25"
	}
	network := "bridge"
	if c.hostNetwork {
		network = "host"
	}
	var name, text string
	switch c.format {
	case "inspect":
		var opts []string
		if c.nnp {
			opts = append(opts, "no-new-privileges")
		}
		doc := []map[string]any{{
			"Name":   "/lb",
			"Config": map[string]any{"User": c.user, "Image": image, "Cmd": []string{tc.daemon}},
			"HostConfig": map[string]any{"CapAdd": c.capAdd, "CapDrop": c.capDrop, "SecurityOpt": opts,
				"Sysctls": c.sysctls, "NetworkMode": network},
			"Mounts": []map[string]string{{"Type": "bind", "Source": conf, "Destination": inside}},
		}}
		if c.engine == "podman" {
			doc[0]["OCIRuntime"] = "crun"
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		name, text = "container.json", string(b)
	case "compose":
		var b strings.Builder
		fmt.Fprintf(&b, "services:\n  lb:\n    image: %s\n", image)
		if c.user != "" {
			fmt.Fprintf(&b, "    user: %s\n", c.user)
		}
		if c.hostNetwork {
			b.WriteString("    network_mode: host\n")
		}
		for key, list := range map[string][]string{"cap_add": c.capAdd, "cap_drop": c.capDrop} {
			if len(list) > 0 {
				fmt.Fprintf(&b, "    %s: [%s]\n", key, strings.Join(list, ", "))
			}
		}
		if c.nnp {
			b.WriteString("    security_opt: [\"no-new-privileges:true\"]\n")
		}
		if len(c.sysctls) > 0 {
			b.WriteString("    sysctls:\n")
			for _, k := range slices.Sorted(maps.Keys(c.sysctls)) {
				fmt.Fprintf(&b, "      %s: %q\n", k, c.sysctls[k])
			}
		}
		fmt.Fprintf(&b, "    volumes:\n      - %s:%s:ro\n", conf, inside)
		name, text = "compose.yaml", b.String()
	case "quadlet":
		var b strings.Builder
		fmt.Fprintf(&b, "[Container]\nImage=docker.io/library/%s\nNetwork=%s\nVolume=%s:%s:ro\n", image, network, conf, inside)
		if c.user != "" {
			fmt.Fprintf(&b, "User=%s\n", c.user)
		}
		for _, x := range c.capAdd {
			fmt.Fprintf(&b, "AddCapability=CAP_%s\n", strings.ToUpper(x))
		}
		for _, x := range c.capDrop {
			fmt.Fprintf(&b, "DropCapability=CAP_%s\n", strings.ToUpper(x))
		}
		if c.nnp {
			b.WriteString("NoNewPrivileges=true\n")
		}
		for _, k := range slices.Sorted(maps.Keys(c.sysctls)) {
			fmt.Fprintf(&b, "Sysctl=%s=%s\n", k, c.sysctls[k])
		}
		name, text = "lb.container", b.String()
	case "pod":
		var b strings.Builder
		b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: lb\n  namespace: kube-system\nspec:\n")
		if c.hostNetwork {
			b.WriteString("  hostNetwork: true\n")
		}
		if len(c.sysctls) > 0 {
			b.WriteString("  securityContext:\n    sysctls:\n")
			for _, k := range slices.Sorted(maps.Keys(c.sysctls)) {
				fmt.Fprintf(&b, "    - name: %s\n      value: %q\n", k, c.sysctls[k])
			}
		}
		fmt.Fprintf(&b, "  containers:\n  - name: %s\n    image: %s\n    securityContext:\n", tc.daemon, image)
		if c.user != "" {
			ids, err := daemonUserIDs(c.user)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "      runAsUser: %d\n", ids[0])
		}
		if c.nnp {
			b.WriteString("      allowPrivilegeEscalation: false\n")
		}
		fmt.Fprintf(&b, "      capabilities:\n        add: [%s]\n        drop: [%s]\n", strings.Join(c.capAdd, ", "), strings.Join(c.capDrop, ", "))
		fmt.Fprintf(&b, "    volumeMounts:\n    - name: conf\n      mountPath: %s\n  volumes:\n  - name: conf\n    hostPath:\n      path: %s\n", inside, conf)
		name, text = "pod.yaml", b.String()
	default:
		t.Fatalf("unknown container format %q", c.format)
	}
	c.file = filepath.Join(dir, name)
	if err := os.WriteFile(c.file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// containerCases are TestDaemonsAgree's container cases: the daemon run as
// each container would run it, judged from the definition alone.
func containerCases() []daemonCase {
	const (
		hapPerm80 = "cannot bind socket (Permission denied) for [10.0.0.5:80]"
		hapAny80  = "cannot bind socket (Permission denied) for [0.0.0.0:80]"
	)
	return []daemonCase{
		// The official image's USER haproxy with --network host: the
		// host's 1024 applies and --cap-add does not reach a non-root
		// process under Docker.
		{name: "container/docker-user-host-network", daemon: "haproxy", listens: []string{"10.0.0.5:80"},
			container: &daemonContainer{engine: "docker", format: "inspect", user: "haproxy", capAdd: []string{"NET_BIND_SERVICE"}, hostNetwork: true},
			addr:      "10.0.0.5", port: 80, wantStderr: hapPerm80, wantFinding: "LBD314"},
		{name: "container/docker-root-host-network", daemon: "haproxy", listens: []string{"10.0.0.5:80"},
			container: &daemonContainer{engine: "docker", format: "inspect", hostNetwork: true, nnp: true},
			addr:      "10.0.0.5", port: 80, wantBound: true, socket: "10.0.0.5:80"},
		{name: "container/compose-root-cap-drop", daemon: "haproxy", listens: []string{"10.0.0.5:80"},
			container: &daemonContainer{engine: "docker", format: "compose", capDrop: []string{"NET_BIND_SERVICE"}, hostNetwork: true},
			addr:      "10.0.0.5", port: 80, wantStderr: hapPerm80, wantFinding: "LBD314"},
		// Docker's own network namespace starts unprivileged ports at 0.
		{name: "container/compose-user-own-netns", daemon: "haproxy", listens: []string{":80"},
			container: &daemonContainer{engine: "docker", format: "compose", user: "haproxy"},
			addr:      "0.0.0.0", port: 80, wantBound: true, socket: "0.0.0.0:80"},
		// Kubernetes keeps 1024 unless the pod sets the sysctl.
		{name: "container/pod-user-own-netns", daemon: "haproxy", listens: []string{":80"},
			container: &daemonContainer{engine: "kubernetes", format: "pod", user: "haproxy", nnp: true},
			addr:      "0.0.0.0", port: 80, wantStderr: hapAny80, wantFinding: "LBD314"},
		{name: "container/pod-user-sysctl", daemon: "haproxy", listens: []string{":80"},
			container: &daemonContainer{engine: "kubernetes", format: "pod", user: "haproxy",
				sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}},
			addr: "0.0.0.0", port: 80, wantBound: true, socket: "0.0.0.0:80"},
		// kubeadm's static HAProxy pod: root, host network.
		{name: "container/pod-root-host-network", daemon: "haproxy", listens: []string{"10.0.0.5:80"},
			container: &daemonContainer{engine: "kubernetes", format: "pod", hostNetwork: true},
			addr:      "10.0.0.5", port: 80, wantBound: true, socket: "10.0.0.5:80"},
		// Podman makes a non-root user's --cap-add ambient.
		{name: "container/quadlet-user-cap-add", daemon: "haproxy", listens: []string{"10.0.0.5:80"},
			container: &daemonContainer{engine: "podman", format: "quadlet", user: "haproxy", capAdd: []string{"NET_BIND_SERVICE"}, hostNetwork: true},
			addr:      "10.0.0.5", port: 80, wantBound: true, socket: "10.0.0.5:80"},
		{name: "container/quadlet-user", daemon: "haproxy", listens: []string{"10.0.0.5:80"},
			container: &daemonContainer{engine: "podman", format: "quadlet", user: "haproxy", hostNetwork: true},
			addr:      "10.0.0.5", port: 80, wantStderr: hapPerm80, wantFinding: "LBD314"},
		// Podman keeps the kernel's 1024 in its own network namespace.
		{name: "container/podman-inspect-user-own-netns", daemon: "haproxy", listens: []string{":80"},
			container: &daemonContainer{engine: "podman", format: "inspect", user: "haproxy"},
			addr:      "0.0.0.0", port: 80, wantStderr: hapAny80, wantFinding: "LBD314"},
		{name: "container/nginx-nobody-host-network", daemon: "nginx", listens: []string{"10.0.0.5:80"},
			container: &daemonContainer{engine: "docker", format: "compose", user: "nobody", hostNetwork: true},
			addr:      "10.0.0.5", port: 80, wantStderr: "bind() to 10.0.0.5:80 failed (13: Permission denied)", wantFinding: "LBD314"},
	}
}

// TestPublishedPortTaken plays the engine's part in publishing a port:
// Docker's userland proxy (docker-proxy) listens on the published host
// port, here a listen of the test's own in the namespace, while a host
// process already holds it or not; lbdoctor, on the container's inspect
// JSON, must report LBD315 exactly when that listen fails.
func TestPublishedPortTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("TestPublishedPortTaken uses network namespaces: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("TestPublishedPortTaken SKIPPED: needs root to create network namespaces")
	}
	bin := lbdoctorBin(t)
	for i, held := range []bool{true, false} {
		t.Run(fmt.Sprintf("held=%v", held), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			ns := fmt.Sprintf("lbd-pp-%d-%d", os.Getpid(), i)
			daemonNetns(ctx, t, ns, daemonCase{})
			if held {
				c, err := daemonHoldPort(ns, "tcp4", "0.0.0.0:8080")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
			}
			dir := t.TempDir()
			daemonWriteFile(t, filepath.Join(dir, "haproxy.cfg"), "frontend fe\n    mode tcp\n    bind :80\n")
			def := filepath.Join(dir, "container.json")
			daemonWriteFile(t, def, fmt.Sprintf(`[{"Name": "/lb", "Config": {"Image": "haproxy:2.2"},
  "HostConfig": {"NetworkMode": "bridge", "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}},
  "Mounts": [{"Type": "bind", "Source": %q, "Destination": "/usr/local/etc/haproxy/haproxy.cfg"}]}]`, filepath.Join(dir, "haproxy.cfg")))
			out, _ := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "check", "--json", "--container", def).Output()
			var r daemonReport
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("lbdoctor: %v\n%s", err, out)
			}
			predicted := false
			for _, f := range r.Findings {
				predicted = predicted || f.ID == "LBD315"
			}
			// The engine's listen on the published port.
			var proxyErr error
			if c, err := daemonHoldPort(ns, "tcp4", "0.0.0.0:8080"); err != nil {
				proxyErr = err
			} else {
				c.Close()
			}
			t.Logf("host port 8080 held=%v: engine's listen: %v; lbdoctor LBD315: %v", held, proxyErr, predicted)
			if (proxyErr != nil) != predicted {
				t.Errorf("disagreement: the published port's listen failed=%v (%v), lbdoctor LBD315=%v\n%s", proxyErr != nil, proxyErr, predicted, out)
			}
		})
	}
}
