// Package keepalived reads keepalived.conf the way keepalived 2.2 does and
// returns what carries an address: vrrp_instance blocks with their virtual
// addresses, source addresses and unicast peers, static_ipaddress,
// vrrp_sync_group, virtual_server and virtual_server_group (LVS), and
// net_namespace.
//
// keepalived has no grammar in the usual sense: a line-oriented
// preprocessor (comments, includes, conditional lines, $NAME definitions,
// ~SEQ/~LST sequences) feeds a keyword-directed reader that splits every
// '{' and '}' onto a line of its own. This package follows that design:
// preprocess.go turns files into logical lines, tree.go nests them into
// blocks without knowing any keyword, and this file and blocks.go pick the
// blocks above out of the tree. Other keywords are skipped structurally;
// only a word keepalived does not know outside any block is reported
// ("Unknown keyword"), since keepalived skips it with its block.
//
// Conditional lines (@id and @^id) depend on keepalived's config id, which
// defaults to the host name of the node that runs it. Options.ConfigID
// decides them as keepalived would; without it every conditional line is
// kept, whatever its condition, and what comes from one says so in its
// Conditional field. Where two kept lines set the same value, the later
// one wins.
package keepalived

import (
	"bytes"
	"fmt"
	"io"
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
	// ConfigID is keepalived's config id (its -i option, by default the
	// host name up to the first '.'), which decides the conditional lines
	// "@id ..." and "@^id ...". Empty means unknown: every conditional
	// line is kept and what comes from one carries its condition in a
	// Conditional field.
	ConfigID string
}

// Parse reads the keepalived config at path (and its includes). The error is
// non-nil only when the main file itself cannot be read (the CLI turns that
// into exit 2). Problems inside the configuration carry file and line:
// Config.Errors holds only what stops keepalived (it exits, or never gets
// past reading the file); what keepalived complains about and then runs
// with goes to Config.DaemonWarnings, and lbdoctor's own reading limits
// to Config.Unread.
func Parse(path string, opts Options) (*parsers.Config, error) {
	data, err := readConfig(opts.Root, path)
	if err != nil {
		return nil, fmt.Errorf("read keepalived config %s: %w", path, err)
	}
	return ParseBytes(path, data, opts), nil
}

// maxFileSize bounds one config file. No keepalived.conf comes near it; a
// file that does (a sparse file, a disk image named by mistake) would
// otherwise be read into memory whole.
const maxFileSize = 512 << 20

// readConfig reads a regular file of at most maxFileSize bytes. A FIFO
// would block the read forever and /dev/zero never ends, so anything but
// a regular file is refused before it is opened.
func readConfig(root parsers.Root, name string) ([]byte, error) {
	fi, err := root.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("file is %d bytes, larger than the %d lbdoctor reads", fi.Size(), maxFileSize)
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Sized from Stat, so a big file is not copied again and again as
	// io.ReadAll's buffer grows.
	buf := bytes.NewBuffer(make([]byte, 0, fi.Size()+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, maxFileSize+1)); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("file grew past the %d bytes lbdoctor reads", maxFileSize)
	}
	return data, nil
}

// ParseBytes parses one in-memory file named name (includes still resolve
// through opts.Root).
func ParseBytes(name string, data []byte, opts Options) *parsers.Config {
	cfg := &parsers.Config{Service: Service, Path: name}
	p := newPreprocessor(opts.Root, cfg, opts.ConfigID)
	p.readFile(name, data)
	cfg.Files = p.files
	nodes := buildTree(p.lines, cfg, p.stopped)
	cfg.VRRP = vrrpInstances(nodes, cfg)
	topLevel(nodes, cfg)
	sortErrors(cfg)
	return cfg
}

// maxErrors bounds the problems one parse records: a binary file or a
// million stray '}' must not turn into a million findings (or their
// memory). The first ones are the ones to fix anyway.
const maxErrors = 1000

// tooManyErrors is the last error recorded once maxErrors is reached.
const tooManyErrors = "more than %d problems in this configuration, lbdoctor lists no more"

// addError records a problem keepalived stops on, up to maxErrors of them.
func addError(cfg *parsers.Config, pos parsers.Pos, msg string) {
	cfg.Errors = appendCapped(cfg.Errors, pos, msg)
}

// addWarning records a problem keepalived reports and then runs with
// (keepalived -t exits 5, "configuration errors, but keepalived will still
// run" in keepalived's lib/parser.h), up to maxErrors of them.
func addWarning(cfg *parsers.Config, pos parsers.Pos, msg string) {
	cfg.DaemonWarnings = appendCapped(cfg.DaemonWarnings, pos, msg)
}

// addUnread records where one of lbdoctor's own limits stopped the reading.
func addUnread(cfg *parsers.Config, pos parsers.Pos, msg string) {
	cfg.Unread = appendCapped(cfg.Unread, pos, msg)
}

func appendCapped(list []parsers.Error, pos parsers.Pos, msg string) []parsers.Error {
	switch n := len(list); {
	case n < maxErrors:
		return append(list, parsers.Error{Pos: pos, Msg: msg})
	case n == maxErrors:
		return append(list, parsers.Error{Pos: pos, Msg: fmt.Sprintf(tooManyErrors, maxErrors)})
	}
	return list
}

// sortErrors orders errors, warnings and unread places by file, in the
// order the files were read, then by line; those on one line keep the
// order they were found in.
func sortErrors(cfg *parsers.Config) {
	order := make(map[string]int, len(cfg.Files))
	for i, f := range cfg.Files {
		order[f] = i
	}
	for _, list := range []*[]parsers.Error{&cfg.Errors, &cfg.DaemonWarnings, &cfg.Unread} {
		sortList(list, order)
	}
}

func sortList(list *[]parsers.Error, order map[string]int) {
	l := *list
	if len(l) > maxErrors {
		// The "no more" notice stays last, wherever it was found.
		last := l[maxErrors]
		l = l[:maxErrors]
		defer func() { *list = append(l, last) }()
	} else {
		defer func() { *list = l }()
	}
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
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
		// keepalived skips the whole block in both cases ("vrrp_instance
		// must have a name") and runs without it.
		if len(n.words) != 2 || n.words[1] == "" {
			addWarning(cfg, n.pos, "vrrp_instance must have a name")
			continue
		}
		name := n.words[1]
		if seen[name] {
			addWarning(cfg, n.pos, fmt.Sprintf("vrrp instance %s already defined", name))
			continue
		}
		seen[name] = true
		out = append(out, vrrpInstance(n, name, cfg))
	}
	return out
}

func vrrpInstance(n *node, name string, cfg *parsers.Config) parsers.VRRPInstance {
	inst := parsers.VRRPInstance{Pos: n.pos, Name: name, Conditional: n.cond}
	errorf := func(pos parsers.Pos, format string, args ...any) {
		addWarning(cfg, pos, fmt.Sprintf(format, args...))
	}
	// keepalived fixes an instance's address family with the first of
	// these it reads and drops addresses of the other family.
	family := 0 // 4 or 6 once known
	sameFamily := func(a netip.Addr) bool {
		f := 4
		if a.Is6() {
			f = 6
		}
		if family == 0 {
			family = f
		}
		return family == f
	}
	inst.Lines = map[string]parsers.Pos{}
	for _, c := range n.block {
		if c.words == nil {
			continue
		}
		inst.Lines[c.words[0]] = c.pos
		switch c.words[0] {
		case "nopreempt":
			inst.Nopreempt = true
		case "preempt":
			inst.Nopreempt = false
		case "advert_int":
			if len(c.words) < 2 {
				break
			}
			secs, err := strconv.ParseFloat(c.words[1], 64)
			if err != nil || secs <= 0 || secs > 255 {
				break
			}
			inst.AdvertInt = int(secs*1000 + 0.5)
		case "authentication":
			for _, a := range c.block {
				if len(a.words) < 2 {
					continue
				}
				switch a.words[0] {
				case "auth_type":
					inst.AuthType = strings.ToUpper(a.words[1])
				case "auth_pass":
					inst.AuthPass = a.words[1]
				}
			}
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
				errorf(c.pos, "(%s) Priority not valid! must be between 1 & 255. Using default 100", name)
				break
			}
			inst.Priority = prio
		case "virtual_router_id":
			if len(c.words) < 2 {
				break
			}
			vrid, err := strconv.Atoi(strings.TrimLeft(c.words[1], " \t"))
			if err != nil || vrid < 1 || vrid > 255 || c.words[1][0] == '+' {
				// The instance is left without a router id: keepalived
				// says "the virtual router id must be set" and its VRRP
				// process exits, taking the daemon with it (keepalived
				// -t exits 5 all the same).
				addError(cfg, c.pos, fmt.Sprintf("(%s): VRID '%s' not valid - must be between 1 & 255", name, c.words[1]))
				break
			}
			inst.VirtualRouterID = vrid
		case "native_ipv6":
			if family == 4 {
				errorf(c.pos, "(%s) Cannot specify native_ipv6 with IPv4 addresses", name)
			}
			if family == 0 {
				family = 6
			}
		case "unicast_src_ip", "mcast_src_ip":
			if len(c.words) < 2 {
				break
			}
			raw := c.words[1]
			a, ok := parseSockAddr(raw)
			if !ok {
				errorf(c.pos, "Configuration error: VRRP instance[%s] malformed src address[%s]. Skipping...", name, raw)
				break
			}
			if !sameFamily(a) {
				errorf(c.pos, "Configuration error: VRRP instance[%s] and src address[%s] MUST be of the same family !!! Skipping...", name, raw)
				break
			}
			src := parsers.VRRPAddr{Pos: c.pos, Addr: a, Raw: raw, Conditional: c.cond}
			if c.words[0] == "unicast_src_ip" {
				inst.UnicastSrcIP = src
			} else {
				inst.McastSrcIP = src
			}
		case "mcast_dst_ip":
			if len(c.words) > 1 {
				if a, ok := parseSockAddr(c.words[1]); ok {
					sameFamily(a)
				}
			}
		case "unicast_peer":
			for _, pn := range valueLines(c, cfg) {
				raw := pn.words[0]
				a, ok := parseSockAddr(raw)
				if !ok {
					errorf(pn.pos, "Configuration error: VRRP instance[%s] malformed unicast peer address[%s]. Skipping...", name, raw)
					continue
				}
				if !sameFamily(a) {
					errorf(pn.pos, "Configuration error: VRRP instance[%s] and unicast peer address[%s] MUST be of the same family !!! Skipping...", name, raw)
					continue
				}
				inst.UnicastPeers = append(inst.UnicastPeers, parsers.VRRPAddr{Pos: pn.pos, Addr: a, Raw: raw, Conditional: pn.cond})
			}
		case "virtual_ipaddress", "virtual_ipaddress_excluded":
			excluded := c.words[0] == "virtual_ipaddress_excluded"
			for _, a := range valueLines(c, cfg) {
				vip, ok := parseVIP(a, cfg, false)
				if !ok {
					continue
				}
				vip.Excluded = excluded
				if !excluded && !sameFamily(vip.Prefix.Addr()) {
					errorf(a.pos, "(%s): address family must match VRRP instance [%s] - ignoring", name, a.words[0])
					continue
				}
				inst.VIPs = append(inst.VIPs, vip)
			}
		}
	}
	inst.Family = family
	// The interface may come after the address blocks, so addresses
	// without "dev" take it only once the whole block is read.
	for i := range inst.VIPs {
		if inst.VIPs[i].Dev == "" {
			inst.VIPs[i].Dev = inst.Interface
		}
	}
	return inst
}

// valueLines returns the lines of a value block (virtual_ipaddress,
// unicast_peer, static_ipaddress...), reporting blocks nested in it, which
// keepalived does not expect there.
func valueLines(n *node, cfg *parsers.Config) []*node {
	var out []*node
	for _, a := range n.block {
		if a.words == nil {
			addWarning(cfg, a.pos, fmt.Sprintf("unexpected '{' in %s block", n.words[0]))
			continue
		}
		out = append(out, a)
	}
	return out
}

// parseSockAddr reads an address the way keepalived's inet_stosockaddr does
// for unicast_src_ip, unicast_peer and the like: IPv6 when the word has a
// ':', and whatever follows a '-' (else a '/') is ignored.
func parseSockAddr(raw string) (netip.Addr, bool) {
	text := raw
	if i := strings.IndexByte(text, '-'); i >= 0 {
		text = text[:i]
	} else if i := strings.IndexByte(text, '/'); i >= 0 {
		text = text[:i]
	}
	a, err := netip.ParseAddr(text)
	if err != nil || a.Zone() != "" || a.Is6() != strings.Contains(raw, ":") {
		return netip.Addr{}, false
	}
	return a, true
}

// scopeValue is the number of an address scope as keepalived reads it
// (iproute2's rt_scopes names, or a number).
func scopeValue(s string) (int, bool) {
	switch s {
	case "global":
		return 0, true
	case "site":
		return 200, true
	case "link":
		return 253, true
	case "host":
		return 254, true
	case "nowhere":
		return 255, true
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return int(n), err == nil
}

// parseVIP reads one line of a virtual_ipaddress or static_ipaddress block:
// ADDR[/MASK] [dev IF] [label L] [brd X] [scope S] [peer P] [no_track]
// [use_vmac] [-nodad] ... Like keepalived's alloc_ipaddress, it drops the
// address (reporting why) when the address or a keyword's parameter is
// unusable, and reports words it does not know but keeps the address.
func parseVIP(n *node, cfg *parsers.Config, static bool) (parsers.VIP, bool) {
	errorf := func(format string, args ...any) {
		addWarning(cfg, n.pos, fmt.Sprintf(format, args...))
	}
	raw := n.words[0]
	prefix, ok := parseAddress(raw, errorf)
	if !ok {
		return parsers.VIP{}, false
	}
	vip := parsers.VIP{Pos: n.pos, Prefix: prefix, Conditional: n.cond}
	v6 := prefix.Addr().Is6()
	havePeer := false
	for i := 1; i < len(n.words); i++ {
		kw := n.words[i]
		switch kw {
		case "dev", "scope", "brd", "broadcast", "label", "peer", "preferred_lft":
		case "track_group":
			if !static {
				errorf("Unknown configuration entry '%s' for ip address - ignoring", kw)
				continue
			}
		case "-nodad":
			vip.NoDAD = true
			continue
		case "no_track":
			vip.NoTrack = true
			continue
		case "use_vmac":
			if static {
				errorf("Unknown configuration entry '%s' for ip address - ignoring", kw)
			}
			continue
		case "home", "mngtmpaddr", "noprefixroute", "autojoin":
			continue
		default:
			errorf("Unknown configuration entry '%s' for ip address - ignoring", kw)
			continue
		}
		if i+1 >= len(n.words) {
			errorf("No %s parameter specified for %s", kw, raw)
			return parsers.VIP{}, false
		}
		i++
		arg := n.words[i]
		switch kw {
		case "dev":
			if vip.Dev != "" {
				errorf("Cannot specify ipaddress device more than once for %s", raw)
				return parsers.VIP{}, false
			}
			vip.Dev = arg
		case "scope":
			switch n, ok := scopeValue(arg); {
			case !ok:
				errorf("Invalid scope '%s' specified for %s - ignoring", arg, raw)
			case v6 && n != 0:
				errorf("Cannot specify scope for IPv6 addresses (%s) - ignoring scope", raw)
			case !v6:
				vip.Scope = arg
			}
		case "brd", "broadcast":
			if v6 {
				errorf("VRRP is trying to assign a broadcast %s to the IPv6 address %s !!?? WTF... skipping VIP...", kw, raw)
				return parsers.VIP{}, false
			}
			if a, err := netip.ParseAddr(arg); arg != "+" && arg != "-" && (err != nil || !a.Is4()) {
				errorf("invalid broadcast %s for %s, keepalived skips this address", arg, raw)
				return parsers.VIP{}, false
			}
			vip.Broadcast = arg
		case "label":
			if len(arg) >= 16 { // IFNAMSIZ
				errorf("Address label %s is longer than maximum length 15 - removing address", arg)
				return parsers.VIP{}, false
			}
			if v6 {
				errorf("Cannot specify label for IPv6 addresses (%s) - ignoring label", raw)
			} else {
				vip.Label = arg
			}
		case "peer":
			peer, err := netip.ParseAddr(arg)
			switch {
			case havePeer:
				errorf("Peer %s - another peer has already been specified", arg)
			case err != nil || peer.Zone() != "" || peer.Is6() != strings.Contains(arg, ":"):
				errorf("Invalid peer address %s", arg)
			case peer.Is6() != v6:
				errorf("Peer address %s does not match address family", arg)
			default:
				if vip.Prefix.Bits() != vip.Prefix.Addr().BitLen() {
					errorf("Cannot specify address prefix when specifying peer address - ignoring")
				}
				// The address is then a point-to-point one: the mask
				// applies to the peer, the local address is a host.
				havePeer = true
				vip.Prefix = netip.PrefixFrom(vip.Prefix.Addr(), vip.Prefix.Addr().BitLen())
			}
		case "preferred_lft":
			if _, err := strconv.ParseUint(arg, 10, 32); err != nil && arg != "forever" {
				errorf("preferred_lft %s is invalid", arg)
			}
		}
	}
	if havePeer && vip.Broadcast != "" {
		errorf("Cannot specify broadcast and peer addresses - ignoring broadcast address")
		vip.Broadcast = ""
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
		errorf("VRRP parsed invalid IP %s. skipping IP...", raw)
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
