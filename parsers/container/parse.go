package container

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// ParseFile reads the containers a file defines, below root: `docker
// inspect`/`podman inspect` JSON, a Compose file, a quadlet .container unit
// or a Kubernetes manifest (kind: Pod), told apart by content and name.
func ParseFile(root parsers.Root, name string) ([]*Container, error) {
	data, err := root.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return parseData(root, name, data)
}

// parseData is ParseFile on data already read.
func parseData(root parsers.Root, name string, data []byte) ([]*Container, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case strings.HasSuffix(name, ".container"):
		return []*Container{parseQuadlet(name, data)}, nil
	case len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{'):
		return ParseInspect(name, data)
	}
	return parseYAML(root, name, data)
}

// lineOf is the 1-based line of the first occurrence of s in data, 0 if
// none.
func lineOf(data []byte, s string) int {
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// inspect is the part of `docker inspect` / `podman inspect` read here.
type inspect struct {
	Name          string
	ImageName     string // podman
	EffectiveCaps []string
	OCIRuntime    string // podman
	Config        struct {
		User       string
		Image      string
		Entrypoint json.RawMessage
		Cmd        json.RawMessage
	}
	HostConfig struct {
		CapAdd       []string
		CapDrop      []string
		Privileged   bool
		SecurityOpt  []string
		Sysctls      map[string]string
		NetworkMode  string
		PortBindings map[string][]struct{ HostIp, HostPort string }
	}
	Mounts []struct{ Type, Source, Destination string }
}

// stringsOf reads a JSON string or list of strings.
func stringsOf(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return strings.Fields(s)
	}
	return nil
}

// ParseInspect reads the JSON array `docker inspect` or `podman inspect`
// prints (a single object is accepted too). Podman's is told by its
// EffectiveCaps and OCIRuntime fields.
func ParseInspect(name string, data []byte) ([]*Container, error) {
	var list []inspect
	if err := json.Unmarshal(data, &list); err != nil {
		var one inspect
		if err2 := json.Unmarshal(data, &one); err2 != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		list = []inspect{one}
	}
	var out []*Container
	for _, in := range list {
		c := &Container{Name: strings.TrimPrefix(in.Name, "/"), Engine: Docker, Format: "inspect",
			Image: in.Config.Image, User: in.Config.User, UserFrom: "the container's Config.User",
			Privileged: in.HostConfig.Privileged, CapAdd: in.HostConfig.CapAdd, CapDrop: in.HostConfig.CapDrop,
			Sysctls: in.HostConfig.Sysctls, Network: in.HostConfig.NetworkMode}
		c.Pos = parsers.Pos{File: name, Line: lineOf(data, strconv.Quote(in.Name))}
		if in.OCIRuntime != "" || in.EffectiveCaps != nil {
			c.Engine = Podman
			c.EffectiveCaps = in.EffectiveCaps
			if in.ImageName != "" {
				c.Image = in.ImageName
			}
		}
		if c.User == "" {
			c.UserFrom = "the image (Config.User is empty: root)"
		}
		c.Command = append(stringsOf(in.Config.Entrypoint), stringsOf(in.Config.Cmd)...)
		for _, o := range in.HostConfig.SecurityOpt {
			if o == "no-new-privileges" || o == "no-new-privileges:true" || o == "no-new-privileges=true" {
				c.NoNewPrivileges = true
			}
		}
		if c.Network == "" || c.Network == "default" {
			c.Network = "bridge"
		}
		for spec, binds := range in.HostConfig.PortBindings {
			cport, proto, _ := strings.Cut(spec, "/")
			cp, _ := strconv.Atoi(cport)
			for _, b := range binds {
				hp, _ := strconv.Atoi(b.HostPort)
				if proto == "" {
					proto = "tcp"
				}
				c.Ports = append(c.Ports, Port{HostIP: b.HostIp, HostPort: hp, ContainerPort: cp, Proto: proto,
					Pos: parsers.Pos{File: name, Line: lineOf(data, strconv.Quote(spec))}})
			}
		}
		sortPorts(c.Ports)
		for _, m := range in.Mounts {
			if m.Type == "" || m.Type == "bind" {
				c.Mounts = append(c.Mounts, Mount{Source: m.Source, Destination: m.Destination})
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func sortPorts(ps []Port) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && (ps[j].HostPort < ps[j-1].HostPort || ps[j].HostPort == ps[j-1].HostPort && ps[j].Proto < ps[j-1].Proto); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// parsePublish reads "[[IP:]HOST:]CONTAINER[/PROTO]" (docker run -p,
// Compose's short syntax, quadlet's PublishPort=).
func parsePublish(s string, pos parsers.Pos) (Port, bool) {
	p := Port{Proto: "tcp", Pos: pos}
	spec, proto, ok := strings.Cut(s, "/")
	if ok {
		p.Proto = proto
	}
	// An IPv6 host IP is bracketed.
	if strings.HasPrefix(spec, "[") {
		if i := strings.Index(spec, "]:"); i > 0 {
			p.HostIP, spec = spec[1:i], spec[i+2:]
		}
	}
	parts := strings.Split(spec, ":")
	var err error
	switch len(parts) {
	case 1:
		p.ContainerPort, err = strconv.Atoi(parts[0])
	case 2:
		p.HostPort, _ = strconv.Atoi(parts[0])
		p.ContainerPort, err = strconv.Atoi(parts[1])
	case 3:
		p.HostIP = parts[0]
		p.HostPort, _ = strconv.Atoi(parts[1])
		p.ContainerPort, err = strconv.Atoi(parts[2])
	default:
		return p, false
	}
	return p, err == nil
}

// parseVolume reads "SRC:DST[:OPTS]"; only a host path (absolute or
// relative to dir) is a bind mount.
func parseVolume(s, dir string) (Mount, bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 {
		return Mount{}, false
	}
	src := parts[0]
	switch {
	case strings.HasPrefix(src, "/"):
	case strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") || src == ".":
		src = path.Join(dir, src)
	default:
		return Mount{}, false // a named volume
	}
	return Mount{Source: path.Clean(src), Destination: parts[1]}, true
}

// parseQuadlet reads a Podman quadlet .container unit's [Container] section.
func parseQuadlet(name string, data []byte) *Container {
	base := strings.TrimSuffix(path.Base(name), ".container")
	c := &Container{Name: "systemd-" + base, Engine: Podman, Format: "quadlet", Network: "bridge", Pos: parsers.Pos{File: name, Line: 1}}
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		pos := parsers.Pos{File: name, Line: i + 1}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			if section == "Container" {
				c.Pos = pos
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section != "Container" {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "ContainerName":
			c.Name = v
		case "Image":
			c.Image = v
		case "User":
			c.User, c.UserFrom = v, fmt.Sprintf("User= at %s", pos)
		case "AddCapability":
			c.CapAdd = append(c.CapAdd, strings.Fields(v)...)
		case "DropCapability":
			c.CapDrop = append(c.CapDrop, strings.Fields(v)...)
		case "NoNewPrivileges":
			c.NoNewPrivileges = v == "true" || v == "yes" || v == "1"
		case "Sysctl":
			for _, kv := range strings.Fields(v) {
				sk, sv, _ := strings.Cut(kv, "=")
				if c.Sysctls == nil {
					c.Sysctls = map[string]string{}
				}
				c.Sysctls[sk] = sv
			}
		case "Network":
			c.Network = v
		case "PublishPort":
			if p, ok := parsePublish(v, pos); ok {
				c.Ports = append(c.Ports, p)
			} else {
				c.Errors = append(c.Errors, parsers.Error{Pos: pos, Msg: "cannot read PublishPort=" + v})
			}
		case "Volume":
			if m, ok := parseVolume(v, path.Dir(name)); ok {
				c.Mounts = append(c.Mounts, m)
			}
		case "Exec":
			c.Command = strings.Fields(v)
		case "PodmanArgs":
			f := strings.Fields(v)
			for j := 0; j < len(f); j++ {
				a, val, has := strings.Cut(f[j], "=")
				if !has && j+1 < len(f) {
					val = f[j+1]
				}
				switch a {
				case "--cap-add":
					c.CapAdd = append(c.CapAdd, val)
				case "--cap-drop":
					c.CapDrop = append(c.CapDrop, val)
				case "--privileged":
					c.Privileged = true
				case "--user", "-u":
					c.User, c.UserFrom = val, fmt.Sprintf("PodmanArgs= at %s", pos)
				case "--network", "--net":
					c.Network = val
				}
			}
		}
	}
	if c.UserFrom == "" {
		c.User, c.UserFrom = imageUser(c.Image)
	}
	return c
}

// node helpers for yaml.v3 documents.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func str(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func strs(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return strings.Fields(n.Value)
	}
	var out []string
	for _, x := range n.Content {
		out = append(out, x.Value)
	}
	return out
}

func truthy(n *yaml.Node) bool { return str(n) == "true" }

// parseYAML reads a Compose file or Kubernetes manifests (several
// documents allowed).
func parseYAML(root parsers.Root, name string, data []byte) ([]*Container, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*Container
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if err.Error() == "EOF" {
				break
			}
			return out, fmt.Errorf("parse %s: %w", name, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		top := doc.Content[0]
		switch {
		case str(get(top, "kind")) == "Pod":
			out = append(out, parsePod(name, top)...)
		case get(top, "services") != nil:
			out = append(out, parseCompose(name, top)...)
		}
	}
	return out, nil
}

// parseCompose reads the services of a Compose file.
func parseCompose(name string, top *yaml.Node) []*Container {
	var out []*Container
	svcs := get(top, "services")
	dir := path.Dir(name)
	for i := 0; i+1 < len(svcs.Content); i += 2 {
		key, s := svcs.Content[i], svcs.Content[i+1]
		c := &Container{Name: key.Value, Engine: Docker, Format: "compose", Network: "bridge",
			Pos: parsers.Pos{File: name, Line: key.Line}, Image: str(get(s, "image"))}
		if n := str(get(s, "container_name")); n != "" {
			c.Name = n
		}
		if u := get(s, "user"); u != nil {
			c.User, c.UserFrom = u.Value, fmt.Sprintf("user: at %s:%d", name, u.Line)
		} else {
			c.User, c.UserFrom = imageUser(c.Image)
		}
		c.Command = append(strs(get(s, "entrypoint")), strs(get(s, "command"))...)
		c.CapAdd, c.CapDrop = strs(get(s, "cap_add")), strs(get(s, "cap_drop"))
		c.Privileged = truthy(get(s, "privileged"))
		for _, o := range strs(get(s, "security_opt")) {
			if strings.HasPrefix(o, "no-new-privileges") && !strings.HasSuffix(o, "false") {
				c.NoNewPrivileges = true
			}
		}
		if m := get(s, "network_mode"); m != nil {
			c.Network = m.Value
		}
		if sc := get(s, "sysctls"); sc != nil {
			c.Sysctls = map[string]string{}
			if sc.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(sc.Content); j += 2 {
					c.Sysctls[sc.Content[j].Value] = sc.Content[j+1].Value
				}
			} else {
				for _, kv := range strs(sc) {
					k, v, _ := strings.Cut(kv, "=")
					c.Sysctls[k] = v
				}
			}
		}
		if ps := get(s, "ports"); ps != nil {
			for _, p := range ps.Content {
				pos := parsers.Pos{File: name, Line: p.Line}
				if p.Kind == yaml.ScalarNode {
					if port, ok := parsePublish(p.Value, pos); ok {
						c.Ports = append(c.Ports, port)
					}
					continue
				}
				port := Port{HostIP: str(get(p, "host_ip")), Proto: "tcp", Pos: pos}
				port.ContainerPort, _ = strconv.Atoi(str(get(p, "target")))
				port.HostPort, _ = strconv.Atoi(str(get(p, "published")))
				if pr := str(get(p, "protocol")); pr != "" {
					port.Proto = pr
				}
				c.Ports = append(c.Ports, port)
			}
		}
		if vs := get(s, "volumes"); vs != nil {
			for _, v := range vs.Content {
				if v.Kind == yaml.ScalarNode {
					if m, ok := parseVolume(v.Value, dir); ok {
						c.Mounts = append(c.Mounts, m)
					}
				} else if str(get(v, "type")) == "bind" {
					src := str(get(v, "source"))
					if !strings.HasPrefix(src, "/") {
						src = path.Join(dir, src)
					}
					c.Mounts = append(c.Mounts, Mount{Source: path.Clean(src), Destination: str(get(v, "target"))})
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// parsePod reads the containers of a Kubernetes Pod manifest.
func parsePod(name string, top *yaml.Node) []*Container {
	spec := get(top, "spec")
	podName := str(get(get(top, "metadata"), "name"))
	network := "pod"
	if truthy(get(spec, "hostNetwork")) {
		network = "host"
	}
	podSC := get(spec, "securityContext")
	sysctls := map[string]string{}
	if sc := get(podSC, "sysctls"); sc != nil {
		for _, kv := range sc.Content {
			sysctls[str(get(kv, "name"))] = str(get(kv, "value"))
		}
	}
	hostPaths := map[string]string{}
	if vols := get(spec, "volumes"); vols != nil {
		for _, v := range vols.Content {
			if hp := get(v, "hostPath"); hp != nil {
				hostPaths[str(get(v, "name"))] = str(get(hp, "path"))
			}
		}
	}
	var out []*Container
	cs := get(spec, "containers")
	if cs == nil {
		return nil
	}
	for _, cn := range cs.Content {
		c := &Container{Name: podName + "/" + str(get(cn, "name")), Engine: Kubernetes, Format: "pod", Network: network,
			Pos: parsers.Pos{File: name, Line: cn.Line}, Image: str(get(cn, "image")), Sysctls: sysctls}
		c.Command = append(strs(get(cn, "command")), strs(get(cn, "args"))...)
		sc := get(cn, "securityContext")
		c.User, c.UserFrom = imageUser(c.Image)
		for _, ctx := range []*yaml.Node{podSC, sc} {
			if u := get(ctx, "runAsUser"); u != nil {
				c.User, c.UserFrom = u.Value, fmt.Sprintf("runAsUser at %s:%d", name, u.Line)
			}
			if truthy(get(ctx, "runAsNonRoot")) {
				c.RunAsNonRoot = true
			}
		}
		c.Privileged = truthy(get(sc, "privileged"))
		if ape := get(sc, "allowPrivilegeEscalation"); ape != nil && ape.Value == "false" {
			c.NoNewPrivileges = true
		}
		caps := get(sc, "capabilities")
		c.CapAdd, c.CapDrop = strs(get(caps, "add")), strs(get(caps, "drop"))
		if ps := get(cn, "ports"); ps != nil {
			for _, p := range ps.Content {
				hp, _ := strconv.Atoi(str(get(p, "hostPort")))
				cp, _ := strconv.Atoi(str(get(p, "containerPort")))
				proto := strings.ToLower(str(get(p, "protocol")))
				if proto == "" {
					proto = "tcp"
				}
				if hp != 0 && network != "host" {
					c.Ports = append(c.Ports, Port{HostIP: str(get(p, "hostIP")), HostPort: hp, ContainerPort: cp, Proto: proto, Pos: parsers.Pos{File: name, Line: p.Line}})
				}
			}
		}
		if vms := get(cn, "volumeMounts"); vms != nil {
			for _, vm := range vms.Content {
				src, ok := hostPaths[str(get(vm, "name"))]
				if !ok {
					continue
				}
				if sub := str(get(vm, "subPath")); sub != "" {
					src = path.Join(src, sub)
				}
				c.Mounts = append(c.Mounts, Mount{Source: src, Destination: str(get(vm, "mountPath"))})
			}
		}
		out = append(out, c)
	}
	return out
}
