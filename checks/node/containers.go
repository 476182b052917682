package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/container"
	"github.com/lbdoctor/lbdoctor/parsers/haproxy"
	"github.com/lbdoctor/lbdoctor/parsers/keepalived"
	"github.com/lbdoctor/lbdoctor/parsers/nginx"
)

// Where containers are found without --container: kubeadm's static pods
// and Podman's quadlets (the system ones), below --root.
var (
	defaultPodManifests = "/etc/kubernetes/manifests/*.yaml"
	defaultQuadlets     = []string{"/etc/containers/systemd/*.container", "/usr/share/containers/systemd/*.container"}
)

// containerSources lists the container definitions to read: the --container
// files, or, when autodetecting, the static pod manifests and quadlets that
// exist below root.
func containerSources(o Options, root parsers.Root, autodetect bool) []string {
	if !autodetect {
		return o.Containers
	}
	var out []string
	for _, pat := range append([]string{defaultPodManifests}, defaultQuadlets...) {
		m, _ := root.Glob(pat)
		sort.Strings(m)
		out = append(out, m...)
	}
	return out
}

// loadContainers reads the container definitions in files and turns each
// container that runs nginx, HAProxy or keepalived into a service, its
// config read from the host path of the bind mount that carries it.
// Containers running something else are left out. live are containers
// read from an engine's socket.
func loadContainers(o Options, root parsers.Root, hostname func() string, files []string, named bool, live []*container.Container) ([]checks.Service, error) {
	var all []*container.Container
	for _, file := range files {
		cs, err := container.ParseFile(root, file)
		if err != nil {
			if named {
				if errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("--container %s: no such file or directory", root.Path(file))
				}
				return nil, fmt.Errorf("--container %s: %w", root.Path(file), err)
			}
			continue // an unreadable manifest found by autodetection is not ours to judge
		}
		all = append(all, cs...)
	}
	all = append(all, live...)
	var out []checks.Service
	for _, c := range all {
		d := c.Daemon()
		if d == "" {
			continue
		}
		inside := c.ConfigPath()
		p := c.HostPath(inside)
		svc := checks.Service{Name: d, Path: p, Container: c}
		if p == "" && !named && d != "keepalived" {
			// Found by autodetection (an ingress controller's pod, say)
			// without a config on the host: nothing to judge.
			continue
		}
		if p == "" {
			svc.Path = fmt.Sprintf("%s (in %s %s, not bind-mounted from the host)", inside, c.Engine, c.Name)
			out = append(out, svc)
			continue
		}
		if _, err := root.Stat(p); err != nil {
			out = append(out, svc)
			continue
		}
		var cfg *parsers.Config
		var err error
		switch d {
		case "nginx":
			cfg, err = nginx.Parse(p, nginx.Options{Root: root, NonRoot: !c.RunsAsRoot()})
		case "haproxy":
			opts, envErrs, oerr := haproxyOptions(o, root, hostname())
			if oerr != nil {
				return nil, oerr
			}
			cfg, err = haproxy.Parse([]string{p}, opts)
			if cfg != nil {
				// systemd starts the service without these assignments.
				cfg.DaemonWarnings = append(cfg.DaemonWarnings, envErrs...)
			}
		case "keepalived":
			id, _, _ := strings.Cut(hostname(), ".")
			if o.KeepalivedID != "" {
				id = o.KeepalivedID
			}
			cfg, err = keepalived.Parse(p, keepalived.Options{Root: root, ConfigID: id})
		}
		if err != nil {
			return nil, err
		}
		if !c.HostNetwork() && cfg != nil {
			for i := range cfg.Listeners {
				l := &cfg.Listeners[i]
				if l.Uncheckable == "" {
					l.Uncheckable = checks.ContainerNetns + c.Name + ": the host's addresses do not decide there, its published ports do"
				}
			}
		}
		svc.Config = cfg
		out = append(out, svc)
	}
	return out, nil
}

// engineSockets are the API sockets of Docker and Podman (rootful).
var engineSockets = []struct {
	path   string
	engine container.Engine
}{
	{"/run/docker.sock", container.Docker},
	{"/var/run/docker.sock", container.Docker},
	{"/run/podman/podman.sock", container.Podman},
}

// engineContainers asks the container engines of the live host, through
// their API socket when it is present and this user may connect, for the
// running containers, as `docker inspect` would print them. Engines that
// do not answer are skipped silently: they are optional.
func engineContainers() []*container.Container {
	var out []*container.Container
	seen := map[string]bool{}
	for _, s := range engineSockets {
		cs, err := engineQuery(s.path)
		if err != nil {
			continue
		}
		for _, c := range cs {
			if s.engine == container.Podman && c.Engine == container.Docker {
				c.Engine = container.Podman
			}
			if key := string(c.Engine) + "/" + c.Name; !seen[key] {
				seen[key] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// engineQuery lists the running containers of the Docker API at socket
// and inspects each.
func engineQuery(socket string) ([]*container.Container, error) {
	client := &http.Client{
		Timeout: 3 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}},
	}
	get := func(p string) ([]byte, error) {
		resp, err := client.Get("http://engine" + p)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s on %s: %s", p, socket, resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	}
	b, err := get("/containers/json")
	if err != nil {
		return nil, err
	}
	var list []struct{ Id string }
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", socket, err)
	}
	var out []*container.Container
	for _, e := range list {
		b, err := get("/containers/" + url.PathEscape(e.Id) + "/json")
		if err != nil {
			return out, err
		}
		cs, err := container.ParseInspect(socket+" "+e.Id, b)
		if err != nil {
			return out, err
		}
		out = append(out, cs...)
	}
	return out, nil
}
