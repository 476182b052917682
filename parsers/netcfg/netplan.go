package netcfg

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// netplanDirs are netplan's configuration directories, least important
// first: a file in a later one replaces a same-named file in an earlier one.
var netplanDirs = []string{"/lib/netplan", "/etc/netplan", "/run/netplan"}

// netplanTypes are the device types of a netplan "network:" mapping.
var netplanTypes = []string{"ethernets", "wifis", "modems", "bridges", "bonds", "vlans", "tunnels", "vrfs", "nm-devices", "dummy-devices", "virtual-ethernets"}

// netplanFiles lists the YAML files netplan generate reads: *.yaml of every
// directory, a name in a more important directory replacing the same name
// in a less important one, read in the order of their names.
func netplanFiles(root parsers.Root) []string {
	byName := map[string]string{}
	for _, dir := range netplanDirs {
		matches, _ := root.Glob(dir + "/*.yaml")
		for _, m := range matches {
			// glob(3), which netplan uses, does not match a leading dot
			// with "*"; Go's Glob does.
			if !strings.HasPrefix(path.Base(m), ".") {
				byName[path.Base(m)] = m
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = byName[n]
	}
	return out
}

// netplanDef is one device definition as merged so far.
type netplanDef struct {
	id, kind     string
	file         string
	line         int
	renderer     string
	match        Match
	setName      string
	dhcp4, dhcp6 bool
	addrs        []Addr
	files        map[string]bool
	matchGiven   bool
}

// readNetplan merges the netplan YAML files as netplan generate does: the
// definitions of one ID from several files merge, a later scalar replacing
// an earlier one and addresses appended.
func readNetplan(root parsers.Root, c *Config) {
	files := netplanFiles(root)
	if len(files) == 0 {
		return
	}
	defs := map[string]*netplanDef{}
	var order []string
	globalRenderer := ""
	for _, file := range files {
		data, err := readChased(root, file)
		if err != nil {
			c.errorf(file, 0, err.Error())
			continue
		}
		c.addFile(Netplan, file)
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			c.errorf(file, 0, "netplan: "+err.Error())
			continue
		}
		if len(doc.Content) == 0 {
			continue
		}
		network := mapGet(doc.Content[0], "network")
		if network == nil {
			continue
		}
		if r := mapGet(network, "renderer"); r != nil {
			globalRenderer = r.Value
		}
		for _, kind := range netplanTypes {
			devs := mapGet(network, kind)
			if devs == nil || devs.Kind != yaml.MappingNode {
				continue
			}
			typeRenderer := ""
			for i := 0; i+1 < len(devs.Content); i += 2 {
				if devs.Content[i].Value == "renderer" {
					typeRenderer = devs.Content[i+1].Value
				}
			}
			for i := 0; i+1 < len(devs.Content); i += 2 {
				id, body := devs.Content[i].Value, devs.Content[i+1]
				if id == "renderer" || body.Kind != yaml.MappingNode {
					continue
				}
				d := defs[id]
				if d == nil {
					d = &netplanDef{id: id, kind: kind, file: file, line: devs.Content[i].Line, files: map[string]bool{}}
					defs[id] = d
					order = append(order, id)
				} else if d.kind != kind {
					c.errorf(file, devs.Content[i].Line, fmt.Sprintf("netplan: updated definition %q changes device type", id))
					continue
				}
				if typeRenderer != "" {
					d.renderer = typeRenderer
				}
				d.files[file] = true
				mergeNetplanDef(c, d, file, body)
			}
		}
	}
	for _, id := range order {
		d := defs[id]
		renderer := d.renderer
		if renderer == "" {
			renderer = globalRenderer
		}
		p := Profile{Tool: Netplan, Name: d.id, Kind: d.kind, File: d.file, Line: d.line, Addresses: d.addrs}
		switch {
		case d.matchGiven:
			p.Match = d.match
			if d.setName != "" {
				p.Match.Names = []string{d.setName}
			}
		default:
			p.Match.Names = []string{d.id}
		}
		if d.dhcp4 {
			p.DHCP = append(p.DHCP, "ipv4")
		}
		if d.dhcp6 {
			p.DHCP = append(p.DHCP, "ipv6")
		}
		if renderer != "NetworkManager" {
			p.Order = "10-netplan-" + d.id + ".network"
		}
		// Every file of the merge is in /run only when the definition is.
		p.Runtime = true
		for f := range d.files {
			if !isRuntime(f) {
				p.Runtime = false
			}
		}
		c.Profiles = append(c.Profiles, p)
	}
}

func mergeNetplanDef(c *Config, d *netplanDef, file string, body *yaml.Node) {
	for i := 0; i+1 < len(body.Content); i += 2 {
		key, val := body.Content[i].Value, body.Content[i+1]
		switch key {
		case "renderer":
			d.renderer = val.Value
		case "dhcp4":
			d.dhcp4 = yamlBool(val.Value)
		case "dhcp6":
			d.dhcp6 = yamlBool(val.Value)
		case "set-name":
			d.setName = val.Value
		case "match":
			// A later file's match merges key by key with the earlier
			// one, as netplan generate shows.
			d.matchGiven = true
			for j := 0; j+1 < len(val.Content); j += 2 {
				k, v := val.Content[j].Value, val.Content[j+1]
				switch k {
				case "name":
					d.match.Names = []string{v.Value}
				case "macaddress":
					d.match.MACs = []string{normMAC(v.Value)}
				default:
					d.match.Other = slices.DeleteFunc(d.match.Other, func(o string) bool { return strings.HasPrefix(o, k+"=") })
					d.match.Other = append(d.match.Other, k+"="+v.Value)
				}
			}
		case "addresses":
			if val.Kind != yaml.SequenceNode {
				c.errorf(file, val.Line, "netplan: addresses is not a list")
				continue
			}
			for _, item := range val.Content {
				text, line := item.Value, item.Line
				if item.Kind == yaml.MappingNode && len(item.Content) >= 2 {
					text, line = item.Content[0].Value, item.Content[0].Line
				}
				a, ok := parseAddr(text, -1, -1)
				if !ok {
					c.errorf(file, line, fmt.Sprintf("netplan: address %q is not in the form 10.0.0.5/24", text))
					continue
				}
				a.Line = line
				if file != d.file {
					a.File = file
				}
				d.addrs = append(d.addrs, a)
			}
		}
	}
}

func yamlBool(s string) bool {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "y":
		return true
	}
	return false
}

// mapGet is the value of key in a YAML mapping node, or nil.
func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			out = n.Content[i+1]
		}
	}
	return out
}
