// Package postgresql reads PostgreSQL's postgresql.conf (with include,
// include_dir, include_if_exists and the data directory's
// postgresql.auto.conf, which ALTER SYSTEM writes and the server reads
// last) and returns the sockets the postmaster opens: one TCP socket per
// address of listen_addresses on port, and one unix socket per directory of
// unix_socket_directories.
//
// PostgreSQL's rule for failures, checked against the real postgres 15: each
// address that cannot be bound is logged ("LOG:  could not bind IPv4
// address "10.0.0.100": Cannot assign requested address", then "WARNING:
// could not create listen socket for "10.0.0.100"") and skipped; the server
// exits only when no TCP address at all could be bound ("FATAL:  could not
// create any TCP/IP sockets"). The TCP listeners carry that rule as
// Optional "*" in the group "listen_addresses". A unix socket directory
// that is missing or not writable is fatal at once: the server creates the
// socket's lock file there first ("FATAL:  could not create lock file
// "/dir/.s.PGSQL.5432.lock": No such file or directory"). "*" opens 0.0.0.0
// and :: (IPV6_V6ONLY on);
// "localhost" and other names open every address getaddrinfo gives them,
// read here from /etc/hosts.
package postgresql

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Options says where the server's files are.
type Options struct {
	Root parsers.Root
	// DataDir is the data directory, where postgresql.auto.conf lives;
	// empty: the config's data_directory setting, else the config's own
	// directory (RHEL keeps postgresql.conf in the data directory).
	DataDir string
	// SocketDir is unix_socket_directories' compiled-in default: Debian's
	// /var/run/postgresql when empty.
	SocketDir string
	// Hosts resolves host names; nil: parsers.HostsFile.
	Hosts func(string) []netip.Addr
}

// setting is the last value of a parameter and where it was set.
type setting struct {
	value string
	pos   parsers.Pos
}

type parser struct {
	opts     Options
	cfg      *parsers.Config
	settings map[string]setting
	depth    int
	// reads counts the files read; stop ends the parse at an include
	// loop, which the server refuses as a whole.
	reads int
	stop  bool
}

// maxReads bounds the files one parse reads, so that includes that fan out
// cannot take lbdoctor down.
const maxReads = 10000

// maxDepth is PostgreSQL's CONF_FILE_MAX_DEPTH.
const maxDepth = 10

// Parse reads the main config at path.
func Parse(path string, opts Options) (*parsers.Config, error) {
	p := &parser{opts: opts, cfg: &parsers.Config{Service: "postgresql", Path: path}, settings: map[string]setting{}}
	data, err := opts.Root.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	p.file(path, data)
	dataDir := opts.DataDir
	if dataDir == "" {
		if s, ok := p.settings["data_directory"]; ok && s.value != "" {
			dataDir = s.value
		} else {
			dataDir = filepath.Dir(path)
		}
	}
	auto := filepath.Join(dataDir, "postgresql.auto.conf")
	if data, err := opts.Root.ReadFile(auto); err == nil {
		p.file(auto, data)
	}
	p.listeners(path)
	return p.cfg, nil
}

func (p *parser) errorf(pos parsers.Pos, format string, a ...any) {
	p.cfg.Errors = append(p.cfg.Errors, parsers.Error{Pos: pos, Msg: fmt.Sprintf(format, a...)})
}

// file reads one config file: "name [=] value" lines, # comments,
// 'quoted' values with ” or \' for a quote.
func (p *parser) file(name string, data []byte) {
	p.cfg.Files = append(p.cfg.Files, name)
	for n, text := range strings.Split(string(data), "\n") {
		if p.stop {
			return
		}
		pos := parsers.Pos{File: name, Line: n + 1}
		key, value, ok, err := splitLine(text)
		if err != "" {
			p.errorf(pos, "syntax error in file %q line %d, near %s", name, n+1, err)
			continue
		}
		if !ok {
			continue
		}
		key = strings.ToLower(key)
		switch key {
		case "include", "include_if_exists", "include_dir":
			p.include(pos, key, value)
		default:
			p.settings[key] = setting{value, pos}
		}
	}
}

// splitLine cuts a config line into its name and value; ok is false for
// blank and comment lines, err names the token where it breaks.
func splitLine(s string) (key, value string, ok bool, err string) {
	s = strings.TrimLeft(s, " \t\r")
	if s == "" || s[0] == '#' {
		return "", "", false, ""
	}
	i := 0
	for i < len(s) && (isIdent(s[i]) || s[i] == '.') {
		i++
	}
	if i == 0 {
		return "", "", false, "token " + strconv.Quote(s[:1])
	}
	key, s = s[:i], strings.TrimLeft(s[i:], " \t\r")
	if strings.HasPrefix(s, "=") {
		s = strings.TrimLeft(s[1:], " \t\r")
	}
	switch {
	case s == "" || s[0] == '#':
		return key, "", false, "end of line"
	case s[0] == '\'':
		var b strings.Builder
		j := 1
		for ; j < len(s); j++ {
			switch {
			case s[j] == '\'' && j+1 < len(s) && s[j+1] == '\'':
				b.WriteByte('\'')
				j++
			case s[j] == '\\' && j+1 < len(s):
				b.WriteByte(s[j+1])
				j++
			case s[j] == '\'':
				value = b.String()
				s = s[j+1:]
				goto rest
			default:
				b.WriteByte(s[j])
			}
		}
		return key, "", false, "end of line"
	default:
		j := 0
		for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '#' && s[j] != '\r' {
			j++
		}
		value, s = s[:j], s[j:]
	}
rest:
	s = strings.TrimLeft(s, " \t\r")
	if s != "" && s[0] != '#' {
		return key, "", false, "token " + strconv.Quote(strings.Fields(s)[0])
	}
	return key, value, true, ""
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// include reads an included file or directory, relative to the including
// file's directory.
func (p *parser) include(pos parsers.Pos, kind, name string) {
	if name == "" {
		p.errorf(pos, "empty configuration file name: %q", name)
		return
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(pos.File), name)
	}
	if name == pos.File {
		// ParseConfigFile's own check, before the depth one.
		p.errorf(pos, "configuration file recursion in %q", name)
		p.stop = true
		return
	}
	if p.depth >= maxDepth || p.reads >= maxReads {
		p.errorf(pos, "could not open configuration file %q: maximum nesting depth exceeded", name)
		p.stop = true
		return
	}
	p.reads++
	p.depth++
	defer func() { p.depth-- }()
	if kind == "include_dir" {
		entries, err := os.ReadDir(p.opts.Root.Path(name))
		if err != nil {
			p.errorf(pos, "could not open configuration directory %q: %s", name, parsers.ErrText(err))
			return
		}
		var files []string
		for _, e := range entries {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".conf") {
				files = append(files, filepath.Join(name, e.Name()))
			}
		}
		sort.Strings(files)
		for _, f := range files {
			if data, err := p.opts.Root.ReadFile(f); err == nil {
				p.file(f, data)
			}
		}
		return
	}
	data, err := p.opts.Root.ReadFile(name)
	if err != nil {
		if kind == "include_if_exists" && os.IsNotExist(err) {
			return
		}
		p.errorf(pos, "could not open configuration file %q: %s", name, parsers.ErrText(err))
		return
	}
	p.file(name, data)
}

// splitList reads a comma-separated list as SplitIdentifierString and
// SplitDirectoriesString do: items trimmed, "double quotes" keep commas.
func splitList(s string) []string {
	var out []string
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	if t := strings.TrimSpace(b.String()); t != "" || len(out) > 0 {
		out = append(out, t)
	}
	return out
}

// listeners turns the settings into the postmaster's sockets.
func (p *parser) listeners(main string) {
	port := 5432
	portPos := parsers.Pos{File: main}
	if s, ok := p.settings["port"]; ok {
		n, err := strconv.Atoi(s.value)
		if err != nil || n < 1 || n > 65535 {
			p.errorf(s.pos, "invalid value for parameter \"port\": %q", s.value)
			return
		}
		port, portPos = n, s.pos
	}
	listen := setting{value: "localhost", pos: portPos}
	if s, ok := p.settings["listen_addresses"]; ok {
		listen = s
	}
	hosts := p.opts.Hosts
	if hosts == nil {
		hosts = parsers.HostsFile(p.opts.Root)
	}
	for _, item := range splitList(listen.value) {
		if item == "" {
			continue
		}
		base := parsers.Listener{Service: "postgresql", Pos: listen.pos, Context: "listen_addresses", Raw: item,
			Proto: parsers.TCP, Port: port, InOrder: true, Optional: []string{"*"}, Group: "listen_addresses"}
		add := func(a netip.Addr, host string) {
			l := base
			l.Addr, l.Host = a, host
			if a.Is6() {
				l.V6Only = parsers.V6OnlyOn
			}
			p.cfg.Listeners = append(p.cfg.Listeners, l)
		}
		if item == "*" {
			add(netip.IPv4Unspecified(), "")
			add(netip.IPv6Unspecified(), "")
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil {
			add(a.Unmap(), "")
			continue
		}
		addrs := hosts(item)
		if len(addrs) == 0 {
			l := base
			l.Host = item
			p.cfg.Listeners = append(p.cfg.Listeners, l)
		}
		for _, a := range addrs {
			add(a, item)
		}
	}
	dirs := setting{value: p.opts.SocketDir, pos: parsers.Pos{File: main}}
	if dirs.value == "" {
		dirs.value = "/var/run/postgresql"
	}
	if s, ok := p.settings["unix_socket_directories"]; ok {
		dirs = s
	}
	for _, d := range splitList(dirs.value) {
		if d == "" {
			continue
		}
		sock := fmt.Sprintf(".s.PGSQL.%d", port)
		l := parsers.Listener{Service: "postgresql", Pos: dirs.pos, Context: "unix_socket_directories", Raw: d,
			Proto: parsers.Unix}
		if strings.HasPrefix(d, "@") {
			l.Path = d + "/" + sock
			l.Uncheckable = "abstract unix socket"
		} else {
			l.Path = filepath.Join(d, sock)
		}
		if s, ok := p.settings["unix_socket_permissions"]; ok {
			if m, err := strconv.ParseUint(s.value, 0, 32); err == nil {
				l.UnixMode = os.FileMode(m)
			}
		}
		if s, ok := p.settings["unix_socket_group"]; ok && s.value != "" {
			l.UnixGroup = s.value
		}
		p.cfg.Listeners = append(p.cfg.Listeners, l)
	}
}
