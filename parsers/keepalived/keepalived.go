// Package keepalived reads keepalived.conf the way keepalived 2.2 does and
// returns its vrrp_instance blocks with their virtual addresses.
//
// keepalived has no grammar in the usual sense: a line-oriented
// preprocessor (comments, includes, conditional lines, $NAME definitions,
// ~SEQ/~LST sequences) feeds a keyword-directed reader that splits every
// '{' and '}' onto a line of its own. This package follows that design:
// preprocess.go turns files into logical lines, tree.go nests them into
// blocks without knowing any keyword, and this file picks the VRRP
// instances out of the tree. Keywords other than vrrp_instance are skipped
// structurally, never reported.
//
// Conditional lines (@id and @^id) depend on keepalived's config id, which
// defaults to the host name of the node that runs it. A parser cannot know
// which node a configuration is meant for, so every conditional line is
// kept, whatever its condition; where two conditional lines set the same
// value, the later one wins.
package keepalived

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Service is the name this package puts in Config.Service.
const Service = "keepalived"

// Options tells the parser where to read files from.
type Options struct {
	// Root is where absolute paths (the main file, absolute includes)
	// resolve; positions keep the service's own view of the paths.
	Root parsers.Root
}

// Parse reads the keepalived config at path (and its includes). The error is
// non-nil only when the main file itself cannot be read (the CLI turns that
// into exit 2); every problem inside the configuration goes into
// Config.Errors with file and line.
func Parse(path string, opts Options) (*parsers.Config, error) {
	data, err := opts.Root.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read keepalived config %s: %w", path, err)
	}
	return ParseBytes(path, data, opts), nil
}

// ParseBytes parses one in-memory file named name (includes still resolve
// through opts.Root).
func ParseBytes(name string, data []byte, opts Options) *parsers.Config {
	cfg := &parsers.Config{Service: Service, Path: name}
	p := newPreprocessor(opts.Root, cfg)
	p.readFile(name, data)
	cfg.Files = p.files
	nodes := buildTree(p.lines, cfg)
	cfg.VRRP = vrrpInstances(nodes, cfg)
	sortErrors(cfg)
	return cfg
}

// sortErrors orders errors by file, in the order the files were read, then
// by line; errors on one line keep the order they were found in.
func sortErrors(cfg *parsers.Config) {
	order := make(map[string]int, len(cfg.Files))
	for i, f := range cfg.Files {
		order[f] = i
	}
	sort.SliceStable(cfg.Errors, func(i, j int) bool {
		a, b := cfg.Errors[i].Pos, cfg.Errors[j].Pos
		if order[a.File] != order[b.File] {
			return order[a.File] < order[b.File]
		}
		return a.Line < b.Line
	})
}

// vrrpInstances collects the top-level vrrp_instance blocks in file order.
func vrrpInstances(nodes []*node, cfg *parsers.Config) []parsers.VRRPInstance {
	var out []parsers.VRRPInstance
	seen := map[string]bool{}
	for _, n := range nodes {
		if n.words == nil || n.words[0] != "vrrp_instance" {
			continue
		}
		// keepalived refuses both cases and skips the whole block.
		if len(n.words) != 2 || n.words[1] == "" {
			cfg.Errors = append(cfg.Errors, parsers.Error{Pos: n.pos, Msg: "vrrp_instance must have exactly one name"})
			continue
		}
		name := n.words[1]
		if seen[name] {
			cfg.Errors = append(cfg.Errors, parsers.Error{Pos: n.pos, Msg: fmt.Sprintf("vrrp instance %s already defined, keepalived ignores this block", name)})
			continue
		}
		seen[name] = true
		out = append(out, vrrpInstance(n, name, cfg))
	}
	return out
}

func vrrpInstance(n *node, name string, cfg *parsers.Config) parsers.VRRPInstance {
	inst := parsers.VRRPInstance{Pos: n.pos, Name: name}
	// keepalived fixes an instance's address family with the first of
	// these it reads and drops virtual addresses of the other family.
	family := 0 // 4 or 6 once known
	setFamily := func(text string) {
		if a, err := netip.ParseAddr(text); err == nil && family == 0 {
			family = 4
			if a.Is6() {
				family = 6
			}
		}
	}
	for _, c := range n.block {
		if c.words == nil {
			continue
		}
		switch c.words[0] {
		case "state":
			if len(c.words) > 1 {
				inst.State = c.words[1]
			}
		case "interface":
			if len(c.words) > 1 {
				inst.Interface = c.words[1]
			}
		case "priority":
			if len(c.words) < 2 {
				break
			}
			prio, err := strconv.Atoi(c.words[1])
			if err != nil || prio < 1 || prio > 255 {
				cfg.Errors = append(cfg.Errors, parsers.Error{Pos: c.pos, Msg: fmt.Sprintf("(%s) priority %s is not valid, it must be between 1 and 255", name, c.words[1])})
				break
			}
			inst.Priority = prio
		case "native_ipv6":
			if family == 0 {
				family = 6
			}
		case "unicast_src_ip", "mcast_src_ip":
			if len(c.words) > 1 {
				setFamily(c.words[1])
			}
		case "virtual_ipaddress", "virtual_ipaddress_excluded":
			excluded := c.words[0] == "virtual_ipaddress_excluded"
			for _, a := range c.block {
				if a.words == nil {
					cfg.Errors = append(cfg.Errors, parsers.Error{Pos: a.pos, Msg: fmt.Sprintf("unexpected '{' in %s block", c.words[0])})
					continue
				}
				vip, ok := parseVIP(a, cfg)
				if !ok {
					continue
				}
				vip.Excluded = excluded
				if !excluded {
					setFamily(vip.Prefix.Addr().String())
					if (family == 6) != vip.Prefix.Addr().Is6() {
						cfg.Errors = append(cfg.Errors, parsers.Error{Pos: a.pos, Msg: fmt.Sprintf("(%s) address family of %s must match the VRRP instance (IPv%d), keepalived ignores it; use virtual_ipaddress_excluded for it", name, a.words[0], family)})
						continue
					}
				}
				inst.VIPs = append(inst.VIPs, vip)
			}
		}
	}
	// The interface may come after the address blocks, so addresses
	// without "dev" take it only once the whole block is read.
	for i := range inst.VIPs {
		if inst.VIPs[i].Dev == "" {
			inst.VIPs[i].Dev = inst.Interface
		}
	}
	return inst
}

// parseVIP reads one line of a virtual_ipaddress block:
// ADDR[/MASK] [dev IF] [label L] [brd X] [scope S] [no_track] [use_vmac] ...
// Like keepalived, it drops the address (reporting why) when the address or
// a keyword's parameter is unusable, and ignores words it does not know.
func parseVIP(n *node, cfg *parsers.Config) (parsers.VIP, bool) {
	errorf := func(format string, args ...any) {
		cfg.Errors = append(cfg.Errors, parsers.Error{Pos: n.pos, Msg: fmt.Sprintf(format, args...)})
	}
	raw := n.words[0]
	prefix, ok := parseAddress(raw, errorf)
	if !ok {
		return parsers.VIP{}, false
	}
	vip := parsers.VIP{Pos: n.pos, Prefix: prefix}
	v6 := prefix.Addr().Is6()
	for i := 1; i < len(n.words); i++ {
		kw := n.words[i]
		switch kw {
		case "dev", "scope", "brd", "broadcast", "label", "peer", "preferred_lft", "track_group":
		default:
			// no_track, use_vmac, home, -nodad, mngtmpaddr, noprefixroute,
			// autojoin and anything newer take no parameter.
			continue
		}
		if i+1 >= len(n.words) {
			errorf("no %s parameter specified for %s, keepalived skips this address", kw, raw)
			return parsers.VIP{}, false
		}
		i++
		arg := n.words[i]
		switch kw {
		case "dev":
			if vip.Dev != "" {
				errorf("cannot specify ipaddress device more than once for %s, keepalived skips this address", raw)
				return parsers.VIP{}, false
			}
			vip.Dev = arg
		case "scope":
			if !v6 { // keepalived ignores a scope on IPv6 addresses
				vip.Scope = arg
			}
		case "brd", "broadcast":
			if v6 {
				errorf("broadcast %s given for IPv6 address %s, keepalived skips this address", arg, raw)
				return parsers.VIP{}, false
			}
			if a, err := netip.ParseAddr(arg); arg != "+" && arg != "-" && (err != nil || !a.Is4()) {
				errorf("invalid broadcast %s for %s, keepalived skips this address", arg, raw)
				return parsers.VIP{}, false
			}
		case "label":
			if len(arg) >= 16 { // IFNAMSIZ
				errorf("address label %s is longer than 15 characters, keepalived skips %s", arg, raw)
				return parsers.VIP{}, false
			}
			if !v6 { // keepalived ignores a label on IPv6 addresses
				vip.Label = arg
			}
		}
	}
	return vip, true
}

// parseAddress reads ADDR[/MASK] as keepalived's parse_ipaddress does: the
// family is IPv6 when the text has a ':', a bad mask falls back to the full
// length with an error, and a bad address is an error that drops the line.
func parseAddress(raw string, errorf func(string, ...any)) (netip.Prefix, bool) {
	text, mask, hasMask := strings.Cut(raw, "/")
	v6 := strings.Contains(text, ":")
	addr, err := netip.ParseAddr(text)
	if err != nil || addr.Zone() != "" || addr.Is6() != v6 {
		errorf("VRRP parsed invalid IP %s, keepalived skips it", raw)
		return netip.Prefix{}, false
	}
	bits := addr.BitLen()
	if hasMask {
		n, err := strconv.ParseUint(mask, 10, 8)
		if err != nil || int(n) > addr.BitLen() {
			errorf("invalid address prefix length %s for address %s, keepalived uses /%d", mask, raw, bits)
		} else {
			bits = int(n)
		}
	}
	return netip.PrefixFrom(addr, bits), true
}
