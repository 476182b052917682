package systemd

import (
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// SocketService is the name of the listeners of socket units: systemd
// itself binds them (services[].service in the JSON contract).
const SocketService = parsers.SocketService

// Socket is what a .socket unit's [Socket] section says about how systemd
// (252) binds its sockets, in socket_address_listen(): IPV6_V6ONLY when
// BindIPv6Only= is not "default", then SO_BINDTODEVICE, SO_REUSEPORT,
// IP_FREEBIND/IPV6_FREEBIND and IP_TRANSPARENT on IP sockets, then
// SO_REUSEADDR, bind() and listen().
type Socket struct {
	// Listen are the ListenStream=, ListenDatagram= and
	// ListenSequentialPacket= lines in effect, in order (an empty value
	// resets the list).
	Listen []SocketListen `json:"listen"`
	// FreeBind and Transparent let a non-local address bind.
	FreeBind    bool `json:"free_bind,omitempty"`
	Transparent bool `json:"transparent,omitempty"`
	ReusePort   bool `json:"reuse_port,omitempty"`
	// BindIPv6Only is "default" (net.ipv6.bindv6only decides), "both"
	// (IPV6_V6ONLY off) or "ipv6-only".
	BindIPv6Only string `json:"bind_ipv6_only"`
	BindToDevice string `json:"bind_to_device,omitempty"`
	// SocketMode is the unix socket files' mode (default 0666).
	SocketMode os.FileMode `json:"socket_mode"`
}

// SocketListen is one Listen*= line.
type SocketListen struct {
	Key   string      `json:"key"` // "ListenStream"
	Value string      `json:"value"`
	Pos   parsers.Pos `json:"pos"`
}

// The Listen*= keys read, with the protocol an IP address gets.
var listenKeys = map[string]parsers.Proto{
	"ListenStream":           parsers.TCP,
	"ListenDatagram":         parsers.UDP,
	"ListenSequentialPacket": "",
}

// setSocket applies one [Socket] assignment as systemd's parsers for those
// keys do: a bad value is ignored with a warning.
func (u *Unit) setSocket(a assignment) {
	s := u.Socket
	warn := func(format string, args ...any) {
		u.Errors = append(u.Errors, parsers.Error{Pos: a.pos, Msg: fmt.Sprintf(format, args...)})
	}
	boolean := func(dst *bool) {
		v, ok := parseBool(a.value)
		if !ok {
			warn("failed to parse boolean value, ignoring: %s", a.value)
			return
		}
		*dst = v
	}
	switch a.key {
	case "ListenStream", "ListenDatagram", "ListenSequentialPacket":
		if a.value == "" {
			s.Listen = nil
			return
		}
		v, ok := expandListen(a.value, u.Name)
		if !ok {
			warn("failed to resolve unit specifiers in '%s', ignoring: Invalid slot", a.value)
			return
		}
		s.Listen = append(s.Listen, SocketListen{Key: a.key, Value: v, Pos: a.pos})
	case "FreeBind":
		boolean(&s.FreeBind)
	case "Transparent":
		boolean(&s.Transparent)
	case "ReusePort":
		boolean(&s.ReusePort)
	case "BindIPv6Only":
		switch v := strings.ToLower(a.value); v {
		case "default", "both", "ipv6-only":
			s.BindIPv6Only = v
		default:
			b, ok := parseBool(a.value)
			switch {
			case !ok:
				warn("failed to parse bind IPv6 only value, ignoring: %s", a.value)
			case b:
				s.BindIPv6Only = "ipv6-only"
			default:
				s.BindIPv6Only = "both"
			}
		}
	case "BindToDevice":
		v := expand(a.value, u.Name)
		switch {
		case v == "" || v == "*":
			s.BindToDevice = ""
		case len(v) >= 16 || strings.ContainsAny(v, "/: \t%") || v == "." || v == "..":
			warn("invalid interface name, ignoring: %s", v)
		default:
			s.BindToDevice = v
		}
	case "SocketMode":
		n, err := strconv.ParseUint(a.value, 8, 32)
		if err != nil || n > 0o7777 {
			warn("failed to parse mode value, ignoring: %s", a.value)
			return
		}
		s.SocketMode = os.FileMode(n)
	}
}

// knownSpecifiers are the specifiers systemd 252 resolves in a unit's
// Listen*= values; any other makes it ignore the line.
const knownSpecifiers = "aAbBCdEfgGhHiIjJlLmMnNopPqsStTuUvVwWyY%"

// systemDirs are the system manager's directory specifiers.
var systemDirs = map[byte]string{'t': "/run", 'S': "/var/lib", 'C': "/var/cache", 'L': "/var/log", 'E': "/etc", 'T': "/tmp", 'V': "/var/tmp"}

// expandListen resolves the specifiers of a Listen*= value for unit id;
// false when one is unknown (or "%" ends the value), as systemd refuses it.
func expandListen(v, id string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 == len(v) || !strings.ContainsRune(knownSpecifiers, rune(v[i+1])) {
			return "", false
		}
		i++
		if d, ok := systemDirs[v[i]]; ok {
			b.WriteString(d)
			continue
		}
		b.WriteString(expand("%"+string(v[i]), id))
	}
	return b.String(), true
}

// EnabledSockets lists, sorted, the socket units enabled below root: those
// linked into a .wants/ or .requires/ directory of a unit (sockets.target
// and the like) in one of systemd's unit directories. A link to /dev/null
// or a name that is no socket unit is skipped, as systemd skips it.
func EnabledSockets(root parsers.Root) []string {
	seen := map[string]bool{}
	for _, dir := range searchPaths() {
		// A directory absent, unreadable or no directory gives no
		// entries: systemd finds nothing there either.
		resolved, des, _, _ := root.ReadConfDir(dir)
		for _, de := range des {
			n := de.Name()
			if !strings.HasSuffix(n, ".wants") && !strings.HasSuffix(n, ".requires") {
				continue
			}
			subResolved, entries, _, _ := root.ReadConfDir(path.Join(resolved, n))
			for _, e := range entries {
				name := e.Name()
				if unitType(name) != "socket" || !validName(name) || e.Type()&fs.ModeSymlink == 0 || seen[name] {
					continue
				}
				if r, _ := root.Chase(path.Join(subResolved, name)); r == "/dev/null" {
					continue
				}
				seen[name] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ReadSocket loads a socket unit, named as a unit ("web.socket") or as the
// path of its unit file, and returns the sockets systemd binds for it. A
// unit file outside systemd's unit directories is read as it is, with the
// drop-ins of its name.
func ReadSocket(root parsers.Root, nameOrPath string) (*parsers.Config, error) {
	name := path.Base(nameOrPath)
	if unitType(name) != "socket" || !validName(name) {
		return nil, fmt.Errorf("read socket unit %s: not a .socket unit name", nameOrPath)
	}
	var u *Unit
	var err error
	if strings.Contains(nameOrPath, "/") {
		u, err = readUnitFile(root, name, nameOrPath)
	} else {
		u, err = ReadUnit(root, name)
	}
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("read socket unit %s: %w", nameOrPath, fs.ErrNotExist)
	}
	return u.SocketConfig(nameOrPath), nil
}

// ReadSocketFile loads the socket unit whose unit file is file (a path as
// given, relative ones included), with the drop-ins of its name.
func ReadSocketFile(root parsers.Root, file string) (*parsers.Config, error) {
	name := path.Base(file)
	if unitType(name) != "socket" || !validName(name) {
		return nil, fmt.Errorf("read socket unit %s: not a .socket unit name", file)
	}
	u, err := readUnitFile(root, name, file)
	if err != nil {
		return nil, err
	}
	return u.SocketConfig(file), nil
}

// readUnitFile loads the unit name from file: the fragment systemd would
// find on its search path when file is that one, otherwise file itself.
func readUnitFile(root parsers.Root, name, file string) (*Unit, error) {
	u, err := ReadUnit(root, name)
	if err != nil {
		return nil, err
	}
	if u != nil && (u.Masked || (len(u.Files) > 0 && u.Files[0] == file)) {
		return u, nil
	}
	if _, err := root.Stat(file); err != nil {
		return nil, fmt.Errorf("read unit %s: %w", file, err)
	}
	u = newUnit(name)
	if filepath.IsAbs(file) {
		u.apply(root, file)
	} else {
		// A relative name is the user's, from the working directory.
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read unit %s: %w", file, err)
		}
		u.applyData(file, data)
	}
	dropins, err := u.confFiles(root, dropinDirs([]string{name}, ".d"), ".conf")
	if err != nil {
		return nil, err
	}
	for _, f := range dropins {
		u.apply(root, f)
	}
	u.finish()
	return u, nil
}

// SocketConfig turns a socket unit into the listeners systemd opens for it,
// with path as the config's name. A masked unit opens none.
func (u *Unit) SocketConfig(configPath string) *parsers.Config {
	cfg := &parsers.Config{Service: SocketService, Path: configPath, Files: u.Files}
	if len(u.Files) > 0 {
		cfg.Path = u.Files[0]
	}
	// systemd ignores a line it cannot use with a warning (LBD004: it
	// changes what is listened on); a broken section header makes it refuse
	// the whole unit (LBD001).
	for _, e := range u.Errors {
		switch {
		case e.Pos.Line == 0:
		case strings.HasSuffix(e.Msg, "systemd refuses to load the unit"):
			cfg.Errors = append(cfg.Errors, e)
		default:
			cfg.Warnings = append(cfg.Warnings, e)
		}
	}
	if u.Masked || u.Socket == nil || u.BadSetting {
		return cfg
	}
	s := u.Socket
	for _, l := range s.Listen {
		lis, err := s.listener(u.Name, l)
		if err != "" {
			cfg.Warnings = append(cfg.Warnings, parsers.Error{Pos: l.Pos, Msg: err})
			continue
		}
		cfg.Listeners = append(cfg.Listeners, lis)
	}
	order := map[string]int{}
	for i, f := range cfg.Files {
		order[f] = i
	}
	sort.SliceStable(cfg.Warnings, func(i, j int) bool {
		a, b := cfg.Warnings[i].Pos, cfg.Warnings[j].Pos
		if order[a.File] != order[b.File] {
			return order[a.File] < order[b.File]
		}
		return a.Line < b.Line
	})
	return cfg
}

// listener is one Listen*= line as systemd's socket_address_parse() reads
// it: "/path" a unix socket, "@name" an abstract one, "vsock:CID:PORT", a
// bare port (IPv6 [::], dual-stack unless BindIPv6Only= says otherwise),
// "A.B.C.D:PORT" or "[IPV6]:PORT" (with "%IFNAME" after the address or
// the port). systemd resolves no host names. The error is systemd's
// warning when it ignores the line.
func (s *Socket) listener(unit string, l SocketListen) (parsers.Listener, string) {
	base := parsers.Listener{
		Service: SocketService, Pos: l.Pos, Context: unit + " " + l.Key, Raw: l.Value,
		Transparent: s.FreeBind || s.Transparent, ReusePort: s.ReusePort, Interface: s.BindToDevice,
		InOrder: true,
	}
	bad := fmt.Sprintf("failed to parse address value in '%s', ignoring: Invalid argument", l.Value)
	v := l.Value
	switch {
	case strings.HasPrefix(v, "/"):
		if len(v) > 108 {
			return base, bad
		}
		base.Proto, base.Path = parsers.Unix, path.Clean(v)
		base.UnixMode = s.SocketMode
		if base.UnixMode == 0 {
			base.UnixMode = 0o666
		}
		return base, ""
	case strings.HasPrefix(v, "@"):
		base.Proto, base.Path, base.Uncheckable = parsers.Unix, v, "abstract unix socket"
		return base, ""
	case strings.HasPrefix(v, "vsock:"):
		base.Proto, base.Path, base.Uncheckable = parsers.Unix, v, "AF_VSOCK socket"
		return base, ""
	}
	proto := listenKeys[l.Key]
	if proto == "" {
		// SOCK_SEQPACKET is for AF_UNIX only.
		return base, fmt.Sprintf("address family not supported, ignoring: %s", v)
	}
	base.Proto = proto
	if strings.Trim(v, "0123456789") == "" {
		p, ok := parsePort(v)
		if !ok {
			if n, err := strconv.Atoi(v); err != nil || n > 65535 {
				return base, fmt.Sprintf("failed to parse address value in '%s', ignoring: Numerical result out of range", v)
			}
			return base, bad
		}
		base.Addr, base.Port = netip.IPv6Unspecified(), p
		base.V6Only = s.v6only()
		return base, ""
	}
	hostPart, portPart, ok := cutPort(v)
	if !ok {
		return base, bad
	}
	p, ok := parsePort(portPart)
	if !ok {
		return base, bad
	}
	a, err := netip.ParseAddr(hostPart)
	if err != nil {
		return base, bad
	}
	base.Addr, base.Port = a, p
	if a.Is6() {
		base.V6Only = s.v6only()
	}
	return base, ""
}

// v6only is what BindIPv6Only= sets on an IPv6 socket.
func (s *Socket) v6only() parsers.V6Only {
	switch s.BindIPv6Only {
	case "both":
		return parsers.V6OnlyOff
	case "ipv6-only":
		return parsers.V6OnlyOn
	}
	return parsers.V6OnlyDefault
}

// cutPort splits "A.B.C.D:P", "[V6]:P", "[V6%IF]:P" and "[V6]:P%IF" into
// the address (with the interface as its zone) and the port.
func cutPort(v string) (host, port string, ok bool) {
	if strings.HasPrefix(v, "[") {
		end := strings.Index(v, "]:")
		if end < 0 {
			return "", "", false
		}
		host, port = v[1:end], v[end+2:]
		if p, zone, found := strings.Cut(port, "%"); found {
			if strings.Contains(host, "%") || zone == "" {
				return "", "", false
			}
			host, port = host+"%"+zone, p
		}
		if !strings.Contains(host, ":") {
			return "", "", false
		}
		return host, port, true
	}
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return "", "", false
	}
	host, port = v[:i], v[i+1:]
	if strings.Contains(host, ":") {
		return "", "", false
	}
	return host, port, true
}

// parsePort is systemd's parse_ip_port(): 1 to 65535.
func parsePort(s string) (int, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, false
	}
	return n, true
}
