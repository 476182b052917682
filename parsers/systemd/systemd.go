// Package systemd reads the few settings of a system unit that decide
// whether its daemon may bind a privileged port (the user it runs as and its
// capabilities) and what it starts after, the way systemd 252 (Debian 12)
// loads the unit: the first unit file found on the search path, then its
// drop-ins.
package systemd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// searchPaths are the directories systemd searches for system units, most
// important first, as `systemd-analyze unit-paths` prints them on Debian 12:
// /lib/systemd/system precedes /usr/lib/systemd/system there (the two are the
// same directory on a merged-/usr tree).
func searchPaths() []string {
	return []string{
		"/etc/systemd/system.control",
		"/run/systemd/system.control",
		"/run/systemd/transient",
		"/run/systemd/generator.early",
		"/etc/systemd/system",
		"/etc/systemd/system.attached",
		"/run/systemd/system",
		"/run/systemd/system.attached",
		"/run/systemd/generator",
		"/usr/local/lib/systemd/system",
		"/lib/systemd/system",
		"/usr/lib/systemd/system",
		"/run/systemd/generator.late",
	}
}

// The keys Unit records, as unit files spell them.
const (
	keyUser                  = "User"
	keyGroup                 = "Group"
	keyDynamicUser           = "DynamicUser"
	keyAmbientCapabilities   = "AmbientCapabilities"
	keyCapabilityBoundingSet = "CapabilityBoundingSet"
	keyAfter                 = "After"
	keyWants                 = "Wants"
	keyRequires              = "Requires"
	keyPrivateUsers          = "PrivateUsers"
	keyNoNewPrivileges       = "NoNewPrivileges"
	keyRestrictAddressFam    = "RestrictAddressFamilies"
	keySocketBindAllow       = "SocketBindAllow"
	keySocketBindDeny        = "SocketBindDeny"
	keyIPAddressDeny         = "IPAddressDeny"
	keyExecStart             = "ExecStart"
)

// Unit is what systemd would load for one system unit, reduced to the
// settings lbdoctor's checks need.
type Unit struct {
	// Name is the unit's name: for an alias, a link to another unit's
	// file, the name of the unit it links to, as systemd loads it.
	Name string `json:"name"` // "nginx.service"
	// Masked is set when the unit file is empty or links to /dev/null:
	// systemd refuses to start the unit, and nothing else is read.
	Masked bool `json:"masked,omitempty"`
	// Files are the unit file then the drop-ins, in the order applied,
	// each by the name of the file finally read.
	Files []string `json:"files"`
	User  string   `json:"user"`  // "" = root
	Group string   `json:"group"` // "" = the user's group
	// BadSetting is set when a setting makes systemd refuse to load the
	// unit (a broken section header, an invalid DynamicUser= or User=):
	// the unit would not start at all. Errors says which line.
	BadSetting bool `json:"bad_setting,omitempty"`
	// DynamicUser runs the daemon as a transient non-root user.
	DynamicUser bool `json:"dynamic_user,omitempty"`
	// AmbientCapabilities are the capability names in effect after all
	// files, lower numbers first ("CAP_NET_BIND_SERVICE").
	AmbientCapabilities []string `json:"ambient_capabilities"`
	// CapabilityBoundingSet is nil when unrestricted.
	CapabilityBoundingSet []string `json:"capability_bounding_set"`
	// PrivateUsers runs the daemon in a user namespace of its own: its
	// capabilities, root's included, do not count in the host's network
	// namespace, which the init user namespace owns.
	PrivateUsers bool `json:"private_users,omitempty"`
	// NoNewPrivileges keeps execve() from granting file capabilities.
	NoNewPrivileges bool `json:"no_new_privileges,omitempty"`
	// RestrictAddressFamilies is the seccomp filter on socket(): nil when
	// unrestricted, else the families allowed (AddressFamiliesDeny false)
	// or denied (true), sorted ("AF_INET", "AF_INET6", "AF_UNIX").
	RestrictAddressFamilies []string `json:"restrict_address_families,omitempty"`
	AddressFamiliesDeny     bool     `json:"address_families_deny,omitempty"`
	// SocketBindAllow and SocketBindDeny are the cgroup BPF bind rules
	// in the order given ("ipv4:tcp:80-90", "any").
	SocketBindAllow []string `json:"socket_bind_allow,omitempty"`
	SocketBindDeny  []string `json:"socket_bind_deny,omitempty"`
	// IPAddressDeny filters packets, not bind(): recorded so that a
	// finding can say it is not the cause.
	IPAddressDeny []string `json:"ip_address_deny,omitempty"`
	// ExecStart is the program of the first ExecStart= ("/usr/sbin/nginx").
	ExecStart string `json:"exec_start,omitempty"`
	// FileCapabilities are the capabilities the program's file grants
	// (its security.capability attribute, permitted set), lower numbers
	// first, and FileCapabilitiesEffective says they are raised at exec.
	FileCapabilities          []string `json:"file_capabilities,omitempty"`
	FileCapabilitiesEffective bool     `json:"file_capabilities_effective,omitempty"`

	// After, Wants and Requires list unit names in the order first met;
	// Wants and Requires include the .wants/ and .requires/ directories.
	After    []string `json:"after"`
	Wants    []string `json:"wants"`
	Requires []string `json:"requires"`
	// Pos says where each of the keys above was last set, by its name in
	// unit files ("User", "AmbientCapabilities").
	Pos map[string]parsers.Pos `json:"pos"`
	// Errors are lines systemd ignores with a warning, and files it
	// cannot read.
	Errors []parsers.Error `json:"errors,omitempty"`
	// Socket holds a .socket unit's [Socket] settings; nil for other
	// units.
	Socket *Socket `json:"socket,omitempty"`

	ambient, bounding uint64
	// families is the RestrictAddressFamilies= list (nil before any
	// assignment), an allow list when familiesAllow is set.
	families      map[string]bool
	familiesAllow bool
	allow, deny   []bindRule
	fileCaps      uint64
}

// ReadUnit loads the system unit name ("nginx.service"; "nginx" means
// "nginx.service") below root. It returns nil, nil when no unit file exists.
// The error is for a name that cannot be a unit and for I/O failures other
// than absence or a permission problem.
func ReadUnit(root parsers.Root, name string) (*Unit, error) {
	if !strings.Contains(name, ".") {
		name += ".service"
	}
	if !validName(name) {
		return nil, fmt.Errorf("read unit %q: not a unit name", name)
	}
	u := newUnit(name)
	id, fragment, masked, err := u.findFragment(root, name)
	if err != nil {
		return nil, err
	}
	if masked {
		u.Masked = true
		u.finish()
		return u, nil
	}
	if fragment == "" {
		return nil, nil
	}
	// Drop-ins are read for the unit's own name first, then for each
	// alias: a link in a unit directory to the unit's file under another
	// name, name itself when it is one.
	u.Name = id
	aliases, err := u.aliases(root, id)
	if err != nil {
		return nil, err
	}
	names := append([]string{id}, aliases...)
	u.apply(root, fragment)
	dropins, err := u.confFiles(root, dropinDirs(names, ".d"), ".conf")
	if err != nil {
		return nil, err
	}
	for _, f := range dropins {
		u.apply(root, f)
	}
	u.readFileCaps(root)
	for _, d := range []struct {
		suffix string
		list   *[]string
	}{{".wants", &u.Wants}, {".requires", &u.Requires}} {
		entries, err := u.confFiles(root, dropinDirs(names, d.suffix), "")
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if n, ok := u.depLink(root, e, id); ok {
				*d.list = appendNew(*d.list, n)
			}
		}
	}
	u.finish()
	return u, nil
}

// newUnit is a unit named name before any file is read.
func newUnit(name string) *Unit {
	u := &Unit{Name: name, Files: []string{}, Pos: map[string]parsers.Pos{}, bounding: capAll}
	if unitType(name) == "socket" {
		u.Socket = &Socket{BindIPv6Only: "default"}
	}
	return u
}

// UserUnit is a unit that says only User=user: a daemon declared to run
// as user without a unit file lbdoctor can read.
func UserUnit(name, user string) *Unit {
	u := newUnit(name)
	u.User = user
	u.finish()
	return u
}

// depLink returns the unit a .wants/ or .requires/ entry adds, as systemd's
// process_deps() takes it: only a link counts, a link to /dev/null hides the
// entry, and a template is instantiated with the unit's own instance.
func (u *Unit) depLink(root parsers.Root, entry, id string) (string, bool) {
	n := path.Base(entry)
	if r, _ := root.Chase(entry); r == "/dev/null" {
		return "", false
	}
	dir, err := root.Chase(path.Dir(entry))
	if err != nil {
		return "", false
	}
	fi, err := os.Lstat(root.Path(path.Join(dir, n)))
	if err != nil {
		return "", false
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		u.Errors = append(u.Errors, parsers.Error{Pos: parsers.Pos{File: entry}, Msg: "dependency entry is not a symlink, ignoring"})
		return "", false
	}
	if !validName(n) {
		u.Errors = append(u.Errors, parsers.Error{Pos: parsers.Pos{File: entry}, Msg: "dependency entry is not a unit name, ignoring"})
		return "", false
	}
	if _, inst, ok := strings.Cut(strings.TrimSuffix(id, path.Ext(id)), "@"); ok && inst != "" && template(n) == "" && strings.HasSuffix(n, "@"+path.Ext(n)) {
		n = strings.TrimSuffix(n, path.Ext(n)) + inst + path.Ext(n)
	}
	return n, true
}

// CanBindPrivileged reports whether the unit's settings let its daemon bind
// a port below net.ipv4.ip_unprivileged_port_start: PrivilegedPortBlock
// finds nothing in the way. A nil or masked unit restricts nothing.
func (u *Unit) CanBindPrivileged() bool {
	return u.PrivilegedPortBlock() == ""
}

// The reasons PrivilegedPortBlock gives.
const (
	// BlockPrivateUsers: PrivateUsers= puts the daemon in a user
	// namespace whose capabilities do not reach the host's network.
	BlockPrivateUsers = "private-users"
	// BlockNoNewPrivileges: the program's file capability would grant
	// CAP_NET_BIND_SERVICE, but NoNewPrivileges= voids it.
	BlockNoNewPrivileges = "no-new-privileges"
	// BlockCapability: no root, no ambient or file capability, or the
	// bounding set takes CAP_NET_BIND_SERVICE away.
	BlockCapability = "capability"
)

// PrivilegedPortBlock says why the unit's daemon may not bind a port below
// net.ipv4.ip_unprivileged_port_start, or "" when it may: it runs as root,
// holds CAP_NET_BIND_SERVICE as an ambient capability, or its program has
// it as an effective file capability and NoNewPrivileges= is off; the
// bounding set must keep the capability, and PrivateUsers= must be off.
func (u *Unit) PrivilegedPortBlock() string {
	if u == nil || u.Masked {
		return ""
	}
	if u.PrivateUsers {
		return BlockPrivateUsers
	}
	if u.bounding&(1<<capNetBindService) == 0 {
		return BlockCapability
	}
	if u.RunsAsRoot() || u.ambient&(1<<capNetBindService) != 0 {
		return ""
	}
	if u.fileCaps&(1<<capNetBindService) != 0 && u.FileCapabilitiesEffective {
		if u.NoNewPrivileges {
			return BlockNoNewPrivileges
		}
		return ""
	}
	return BlockCapability
}

// RunsAsRoot reports whether the daemon's user is root.
func (u *Unit) RunsAsRoot() bool {
	return !u.DynamicUser && (u.User == "" || u.User == "root" || u.User == "0")
}

// finish fills the exported views of the capability masks.
func (u *Unit) finish() {
	u.AmbientCapabilities = capNames(u.ambient)
	u.FileCapabilities = capNames(u.fileCaps)
	if u.familiesRestricted() {
		u.AddressFamiliesDeny = !u.familiesAllow
		u.RestrictAddressFamilies = []string{}
		for f := range u.families {
			u.RestrictAddressFamilies = append(u.RestrictAddressFamilies, f)
		}
		sort.Strings(u.RestrictAddressFamilies)
	}
	if u.bounding&capKnown != capKnown {
		u.CapabilityBoundingSet = capNames(u.bounding)
		if u.CapabilityBoundingSet == nil {
			u.CapabilityBoundingSet = []string{}
		}
	}
}

// findFragment finds the unit file for name: the first search path that has
// it, a link being followed inside root. id is the name systemd loads the
// unit under, which differs from name when name links to another unit's file
// (an alias); the target's own name is then looked up again, since a more
// important directory may have its own file.
func (u *Unit) findFragment(root parsers.Root, name string) (id, fragment string, masked bool, err error) {
	id = name
	for range parsers.MaxSymlinks {
		var resolved string
		fragment, resolved, masked, err = u.lookup(root, id)
		if err != nil || fragment == "" || masked {
			return id, fragment, masked, err
		}
		target := path.Base(resolved)
		if target == id || target == template(id) || !validName(target) || unitType(target) != unitType(id) {
			return id, fragment, false, nil
		}
		id = target
	}
	return id, fragment, false, nil
}

// aliases returns, sorted, the names of the links in the unit directories
// that lead to a file named id, as systemd's unit_file_build_name_map()
// collects them.
func (u *Unit) aliases(root parsers.Root, id string) ([]string, error) {
	seen := map[string]bool{id: true}
	var out []string
	for _, dir := range searchPaths() {
		resolved, err := root.Chase(dir)
		if err != nil {
			continue // reported, if at all, by lookup
		}
		des, err := os.ReadDir(root.Path(resolved))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOTDIR) {
				continue
			}
			return nil, fmt.Errorf("list %s: %w", dir, err)
		}
		for _, de := range des {
			n := de.Name()
			if seen[n] || de.Type()&fs.ModeSymlink == 0 || !validName(n) || unitType(n) != unitType(id) {
				continue
			}
			if target, err := root.Chase(path.Join(resolved, n)); err == nil && path.Base(target) == id {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// lookup returns the first unit file on the search path named name, or, for
// an instance ("getty@tty1.service"), its template's: the name to show for
// it and the file it resolves to.
func (u *Unit) lookup(root parsers.Root, name string) (file, resolved string, masked bool, err error) {
	names := []string{name}
	if t := template(name); t != "" {
		names = append(names, t)
	}
	for _, n := range names {
		for _, dir := range searchPaths() {
			listed := dir + "/" + n
			resolved, err := root.Chase(listed)
			if resolved == "/dev/null" {
				return listed, resolved, true, nil
			}
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
					continue
				}
				if errors.Is(err, parsers.ErrLoop) || errors.Is(err, syscall.ENOTDIR) {
					u.Errors = append(u.Errors, parsers.Error{Pos: parsers.Pos{File: listed}, Msg: err.Error()})
					continue
				}
				return "", "", false, fmt.Errorf("read unit %s: %w", name, err)
			}
			fi, err := os.Stat(root.Path(resolved))
			if err != nil || fi.IsDir() {
				continue
			}
			// An empty unit file masks the unit as /dev/null does.
			shown := root.ShownName(listed, resolved)
			if fi.Mode().IsRegular() && fi.Size() == 0 {
				return shown, resolved, true, nil
			}
			return shown, resolved, false, nil
		}
	}
	return "", "", false, nil
}

// dropinDirs lists the directories systemd reads drop-ins (suffix ".d") or
// dependency links (".wants", ".requires") from for a unit known by names:
// for each name in every search path its own directory, its template's and
// its dash prefixes' ("foo-bar-.service.d", "foo-.service.d"); then the
// directory for every unit of the type ("service.d"), least specific last.
func dropinDirs(names []string, suffix string) []string {
	var out []string
	for _, n := range names {
		for _, p := range searchPaths() {
			out = append(out, nameDirs(p, n, suffix, 0)...)
		}
	}
	if t := unitType(names[0]); t != "" {
		for _, p := range searchPaths() {
			out = append(out, p+"/"+t+suffix)
		}
	}
	return out
}

// nameDirs is systemd's unit_file_find_dirs() for one search path, without
// the I/O: it names the candidate directories for name, most specific first.
func nameDirs(dir, name, suffix string, depth int) []string {
	if depth > 16 { // a name has finitely many dashes; this only bounds the recursion
		return nil
	}
	out := []string{dir + "/" + name + suffix}
	if t := template(name); t != "" {
		out = append(out, nameDirs(dir, t, suffix, depth+1)...)
	}
	ext := path.Ext(name)
	prefix, instance, _ := strings.Cut(strings.TrimSuffix(name, ext), "@")
	chopped := false
	for {
		i := strings.LastIndexByte(prefix, '-')
		if i <= 0 {
			return out
		}
		if i+1 < len(prefix) || chopped {
			prefix = prefix[:i+1]
			break
		}
		prefix, chopped = prefix[:i], true
	}
	// A template's prefixes are plain names: "a-b@.service" gives
	// "a-.service", while "a-b@c.service" gives "a-@c.service".
	built := prefix + ext
	if instance != "" {
		built = prefix + "@" + instance + ext
	}
	return append(out, nameDirs(dir, built, suffix, depth+1)...)
}

// confFiles lists the files in dirs ending in suffix, each name taken from
// the first directory that has it, sorted by name, as systemd's
// conf_files_list_strv() does. Entries that resolve to /dev/null are dropped:
// they only hide a file of the same name.
func (u *Unit) confFiles(root parsers.Root, dirs []string, suffix string) ([]string, error) {
	seen := map[string]string{}
	visited := map[string]bool{}
	for _, dir := range dirs {
		resolved, des, problem, err := root.ReadConfDir(dir)
		if resolved != "" {
			// A directory reached twice is read (and reported) once.
			if visited[resolved] {
				continue
			}
			visited[resolved] = true
		}
		switch {
		case err != nil:
			return nil, fmt.Errorf("list %s: %w", dir, err)
		case problem != "":
			u.Errors = append(u.Errors, parsers.Error{Pos: parsers.Pos{File: dir}, Msg: problem})
			continue
		}
		for _, de := range des {
			n := de.Name()
			if !strings.HasSuffix(n, suffix) || hiddenOrBackup(n) {
				continue
			}
			// Named through the resolved directory, as systemd does.
			if _, ok := seen[n]; !ok {
				seen[n] = path.Join(resolved, n)
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, seen[n])
	}
	return out, nil
}

// apply reads one unit file or drop-in into u.
func (u *Unit) apply(root parsers.Root, listed string) {
	resolved, err := root.Chase(listed)
	if resolved == "/dev/null" {
		return
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			u.Errors = append(u.Errors, parsers.Error{Pos: parsers.Pos{File: listed}, Msg: err.Error()})
		}
		return
	}
	data, err := root.ReadRegular(resolved)
	if err != nil {
		u.Errors = append(u.Errors, parsers.Error{Pos: parsers.Pos{File: listed}, Msg: err.Error()})
		return
	}
	u.applyData(root.ShownName(listed, resolved), data)
}

// applyData reads the unit file or drop-in shown, whose content is data,
// into u.
func (u *Unit) applyData(shown string, data []byte) {
	u.Files = append(u.Files, shown)
	as, errs, rejected := parse(shown, data)
	first := len(u.Errors)
	u.Errors = append(u.Errors, errs...)
	u.BadSetting = u.BadSetting || rejected
	for _, a := range as {
		u.set(a)
	}
	own := u.Errors[first:]
	sort.SliceStable(own, func(i, j int) bool { return own[i].Pos.Line < own[j].Pos.Line })
}

// set applies one assignment the way systemd's parser for that key does.
func (u *Unit) set(a assignment) {
	switch {
	case a.section == "Socket" && u.Socket != nil:
		u.setSocket(a)
		return
	case a.section == "Unit" && (a.key == keyAfter || a.key == keyWants || a.key == keyRequires):
		// Dependencies only ever grow: an empty value adds nothing
		// and resets nothing (systemd.unit(5)). Quotes are not
		// removed, so a quoted name is no unit name.
		list := map[string]*[]string{keyAfter: &u.After, keyWants: &u.Wants, keyRequires: &u.Requires}[a.key]
		for _, w := range splitDeps(a.value) {
			n := expand(w, u.Name)
			if !validName(n) {
				u.Errors = append(u.Errors, parsers.Error{Pos: a.pos, Msg: fmt.Sprintf("failed to add dependency on %s, ignoring", n)})
				continue
			}
			*list = appendNew(*list, n)
		}
	case a.section == "Service" && (a.key == keyUser || a.key == keyGroup):
		v := expand(a.value, u.Name)
		if v != "" && !validUser(v) {
			u.fatal(a.pos, fmt.Sprintf("invalid user/group name or numeric ID: %s", v))
			return
		}
		if a.key == keyUser {
			u.User = v
		} else {
			u.Group = v
		}
	case a.section == "Service" && a.key == keyDynamicUser:
		v, ok := parseBool(a.value)
		if !ok {
			u.fatal(a.pos, fmt.Sprintf("failed to parse boolean value: %s", a.value))
			return
		}
		u.DynamicUser = v
	case a.section == "Service" && a.key == keyAmbientCapabilities:
		u.ambient = u.capSet(a, u.ambient, 0)
	case a.section == "Service" && a.key == keyCapabilityBoundingSet:
		u.bounding = u.capSet(a, u.bounding, capAll)
	case a.section == "Service" && a.key == keyPrivateUsers:
		// systemd 252 takes a boolean; later ones also "self",
		// "identity" and "full", each a user namespace of its own.
		v, ok := parseBool(a.value)
		switch strings.ToLower(a.value) {
		case "self", "identity", "full":
			v, ok = true, true
		}
		if !ok {
			u.Errors = append(u.Errors, parsers.Error{Pos: a.pos, Msg: fmt.Sprintf("failed to parse PrivateUsers= value, ignoring: %s", a.value)})
			return
		}
		u.PrivateUsers = v
	case a.section == "Service" && a.key == keyNoNewPrivileges:
		v, ok := parseBool(a.value)
		if !ok {
			u.Errors = append(u.Errors, parsers.Error{Pos: a.pos, Msg: fmt.Sprintf("failed to parse boolean value, ignoring: %s", a.value)})
			return
		}
		u.NoNewPrivileges = v
	case a.section == "Service" && a.key == keyRestrictAddressFam:
		u.addressFamilies(a)
	case (a.section == "Service" || a.section == "Socket" || a.section == "Slice") && (a.key == keySocketBindAllow || a.key == keySocketBindDeny):
		u.socketBind(a)
	case (a.section == "Service" || a.section == "Socket" || a.section == "Slice") && a.key == keyIPAddressDeny:
		if a.value == "" {
			u.IPAddressDeny = nil
		} else {
			u.IPAddressDeny = append(u.IPAddressDeny, splitWords(a.value)...)
		}
	case a.section == "Service" && a.key == keyExecStart:
		if a.value == "" {
			u.ExecStart = ""
		} else if u.ExecStart == "" {
			// The prefixes "@-:+!" say how to run it; the first
			// word after them is the program.
			w := splitWords(strings.TrimLeft(a.value, "@-:+!|"))
			if len(w) > 0 {
				u.ExecStart = expand(w[0], u.Name)
			}
		}
	default:
		return
	}
	u.Pos[a.key] = a.pos
}

// fatal records a setting that makes systemd refuse to load the unit.
func (u *Unit) fatal(pos parsers.Pos, msg string) {
	u.BadSetting = true
	u.Errors = append(u.Errors, parsers.Error{Pos: pos, Msg: msg + "; systemd refuses to load the unit"})
}

// validUser is systemd's valid_user_group_name() in the relaxed mode unit
// files get, numeric IDs allowed.
func validUser(s string) bool {
	digits := strings.Trim(s, "0123456789") == ""
	if digits {
		n, err := strconv.ParseUint(s, 10, 32)
		return err == nil && n != 0xFFFF && n != 0xFFFFFFFF
	}
	if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") || !utf8.ValidString(s) || strings.ContainsAny(s, ":/") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	if strings.HasPrefix(s, "-") && strings.Trim(s[1:], "0123456789") == "" {
		return false
	}
	return s != "." && s != ".."
}

// capSet is systemd's config_parse_capability_set(): a set still at its
// initial value, or an empty list, is replaced; otherwise the names are
// added, or with "~" removed. So "" empties a set and "~" alone fills it.
func (u *Unit) capSet(a assignment, cur, initial uint64) uint64 {
	v := a.value
	invert := strings.HasPrefix(v, "~")
	if invert {
		v = v[1:]
	}
	var sum uint64
	for _, w := range splitWords(v) {
		c, ok := capFromName(w)
		if !ok {
			u.Errors = append(u.Errors, parsers.Error{Pos: a.pos, Msg: fmt.Sprintf("unknown capability %q in %s=, ignoring it", w, a.key)})
			continue
		}
		sum |= 1 << c
	}
	switch {
	case sum == 0 || cur == initial:
		if invert {
			return ^sum
		}
		return sum
	case invert:
		return cur &^ sum
	default:
		return cur | sum
	}
}

// assignment is one "Key=value" line of a unit file.
type assignment struct {
	section, key, value string
	pos                 parsers.Pos
}

// whitespace is what systemd's strstrip() removes.
const whitespace = " \t\n\r"

// parse splits a unit file into its assignments as systemd's config_parse()
// reads it: comment lines, a trailing backslash continuing a line (comment
// lines inside a continuation are skipped), [Section] headers. An
// assignment's position is the line it starts on. A malformed section header
// makes systemd reject the file, so parsing stops there and rejected is set.
func parse(file string, data []byte) (as []assignment, errs []parsers.Error, rejected bool) {
	var (
		section string
		started bool // a section header was seen, "[]" included
		cont    strings.Builder
		inCont  bool
		start   int
	)
	bad := func(line int, format string, args ...any) {
		errs = append(errs, parsers.Error{Pos: parsers.Pos{File: file, Line: line}, Msg: fmt.Sprintf(format, args...)})
	}
	// logical handles one complete line; false stops the file.
	logical := func(line int, p string) bool {
		p = strings.Trim(p, whitespace)
		switch {
		case p == "":
			return true
		case !utf8.ValidString(p):
			bad(line, "invalid UTF-8, ignoring line")
			return true
		case p[0] == '[':
			if p[len(p)-1] != ']' {
				bad(line, "invalid section header %q; systemd refuses to load the unit", p)
				return false
			}
			section, started = p[1:len(p)-1], true
			return true
		case !started:
			bad(line, "assignment outside of section, ignoring")
			return true
		}
		k, v, ok := strings.Cut(p, "=")
		switch {
		case !ok:
			bad(line, "missing '=', ignoring line")
		case k == "":
			bad(line, "missing key name before '=', ignoring line")
		default:
			as = append(as, assignment{section: section, key: strings.Trim(k, whitespace), value: strings.Trim(v, whitespace), pos: parsers.Pos{File: file, Line: line}})
		}
		return true
	}
	for i, l := range parsers.SplitSystemdLines(string(data)) {
		if i == 0 {
			l = strings.TrimPrefix(l, "\uFEFF")
		}
		if t := strings.TrimLeft(l, whitespace); t != "" && (t[0] == '#' || t[0] == ';') {
			continue
		}
		if !inCont {
			start = i + 1
		}
		cont.WriteString(l)
		p := cont.String()
		if endsEscaped(p) {
			cont.Reset()
			cont.WriteString(p[:len(p)-1] + " ")
			inCont = true
			continue
		}
		cont.Reset()
		inCont = false
		if !logical(start, p) {
			return as, errs, true
		}
	}
	if inCont && !logical(start, cont.String()) {
		return as, errs, true
	}
	return as, errs, false
}

// endsEscaped reports whether s ends in a backslash that is not itself
// escaped.
func endsEscaped(s string) bool {
	escaped := false
	for i := 0; i < len(s); i++ {
		if escaped {
			escaped = false
		} else if s[i] == '\\' {
			escaped = true
		}
	}
	return escaped
}

// splitWords splits a value into words at whitespace, removing quotes, as
// systemd's extract_first_word() with EXTRACT_UNQUOTE does; a backslash keeps
// the next character in the word, and an unterminated quote runs to the end.
func splitWords(s string) []string {
	var (
		words []string
		w     strings.Builder
		in    bool // inside a word
		quote byte
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '\'' || c == '"'):
			quote, in = c, true
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			in = true
		case quote == 0 && strings.IndexByte(whitespace, c) >= 0:
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// splitDeps splits a dependency list at whitespace. systemd 252 keeps
// backslashes and quotes in the words, so neither joins words: a quoted or
// escaped name is no unit name.
func splitDeps(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(whitespace, r) })
}

// expand replaces the unit-name specifiers of systemd.unit(5) in s for the
// unit id: %n %N %p %P %i %I %j %J and %%. Others stay as written.
func expand(s, id string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	stem := strings.TrimSuffix(id, path.Ext(id))
	prefix, instance, _ := strings.Cut(stem, "@")
	last := prefix
	if i := strings.LastIndexByte(prefix, '-'); i >= 0 {
		last = prefix[i+1:]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteString(id)
		case 'N':
			b.WriteString(stem)
		case 'p':
			b.WriteString(prefix)
		case 'P':
			b.WriteString(unescape(prefix))
		case 'i':
			b.WriteString(instance)
		case 'I':
			b.WriteString(unescape(instance))
		case 'j':
			b.WriteString(last)
		case 'J':
			b.WriteString(unescape(last))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// unescape is systemd's unit_name_unescape(): "-" stands for "/" and
// "\xNN" for the byte NN.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '-':
			b.WriteByte('/')
		case s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x':
			if n, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// parseBool is systemd's parse_boolean().
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, true
	case "0", "no", "n", "false", "f", "off":
		return false, true
	}
	return false, false
}

// appendNew appends s unless list has it already.
func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// unitTypes are the suffixes of unit names.
func unitTypes() []string {
	return []string{"service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope"}
}

// unitType is the type of a unit name ("service"), or "" if it has none.
func unitType(name string) string {
	ext := strings.TrimPrefix(path.Ext(name), ".")
	for _, t := range unitTypes() {
		if ext == t {
			return ext
		}
	}
	return ""
}

// validName reports whether name can be a unit file name: a known type,
// no path separators, a non-empty prefix and at most one "@".
func validName(name string) bool {
	t := unitType(name)
	if t == "" || strings.ContainsAny(name, "/\x00") || len(name) > 255 {
		return false
	}
	stem := strings.TrimSuffix(name, "."+t)
	prefix, _, _ := strings.Cut(stem, "@")
	return prefix != "" && strings.Count(stem, "@") <= 1 && !strings.HasPrefix(name, ".")
}

// template is the template of an instance name ("getty@.service" for
// "getty@tty1.service"), or "" when name is no instance.
func template(name string) string {
	ext := path.Ext(name)
	prefix, instance, ok := strings.Cut(strings.TrimSuffix(name, ext), "@")
	if !ok || instance == "" {
		return ""
	}
	return prefix + "@" + ext
}

// hiddenOrBackup is systemd's hidden_or_backup_file(): such entries are never
// read from configuration directories.
func hiddenOrBackup(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return true
	}
	for _, s := range []string{".rpmnew", ".rpmsave", ".rpmorig", ".dpkg-old", ".dpkg-new", ".dpkg-tmp", ".dpkg-dist", ".dpkg-bak", ".dpkg-backup", ".dpkg-remove", ".ucf-new", ".ucf-old", ".ucf-dist", ".swp", ".bak", ".old", ".new"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
