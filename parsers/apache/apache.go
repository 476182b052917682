// Package apache reads Apache httpd's configuration the way httpd 2.4 does
// and returns the sockets its Listen directives open: Include and
// IncludeOptional (globs, relative to ServerRoot), <IfModule> (after the
// LoadModule lines read so far), <IfDefine> (-D flags, Define), ${VAR}
// (Define, then the environment, as Debian's envvars sets it), and httpd's
// rules for Listen lines that overlap.
//
// The rules were checked against Debian's apache2 2.4 (built with IPv4-mapped
// addresses):
//   - "Listen 80" and "Listen *:80" open one dual-stack [::]:80 socket
//     (IPV6_V6ONLY off); httpd also asks for 0.0.0.0:80 and skips it because
//     the [::] socket serves IPv4. "Listen 0.0.0.0:80" beside "Listen
//     [::]:80" is served the same way, in either order.
//   - The same address and port written twice is a syntax error ("Cannot
//     define multiple Listeners on the same IP:port"); "80" and "*:80" are
//     the same.
//   - A wildcard and a specific address on one port both bind, in config
//     order, and the second fails: "(98)Address already in use: AH00072".
//   - Any Listen that fails to bind stops httpd ("no listening sockets
//     available, shutting down").
package apache

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Options says how httpd is started.
type Options struct {
	Root parsers.Root
	// ServerRoot is httpd's compiled-in server root; empty: the config's
	// directory ("/etc/apache2" for Debian's apache2.conf), or its parent
	// when that is named conf ("/etc/httpd" for RHEL's conf/httpd.conf).
	ServerRoot string
	// Defines are the -D names httpd is started with.
	Defines []string
	// Env is httpd's environment, for ${VAR} (Debian: what envvars exports).
	Env map[string]string
	// Hosts resolves a host name in a Listen line; nil: parsers.HostsFile.
	Hosts func(string) []netip.Addr
}

// StaticModules are the modules Debian's apache2 has compiled in (apache2
// -l): <IfModule> is true for them without a LoadModule.
var StaticModules = []string{"core.c", "mod_so.c", "mod_watchdog.c", "http_core.c", "mod_log_config.c", "mod_logio.c", "mod_version.c", "mod_unixd.c"}

// maxDepth is how deep includes nest before httpd gives up.
const maxDepth = 128

// maxReads bounds the files one parse reads, so that includes that fan out
// cannot take lbdoctor down.
const maxReads = 10000

type parser struct {
	opts       Options
	cfg        *parsers.Config
	serverRoot string
	defines    map[string]string
	modules    map[string]bool
	seen       map[string]parsers.Pos // "host|port" of every Listen, for duplicates
	depth      int
	// reads counts the files read; stop ends the parse at an include
	// loop, where httpd stops too.
	reads int
	stop  bool
	hosts func(string) []netip.Addr
}

// Parse reads the main config at path (as httpd -f names it).
func Parse(path string, opts Options) (*parsers.Config, error) {
	p := &parser{
		opts:    opts,
		cfg:     &parsers.Config{Service: "apache", Path: path},
		defines: map[string]string{},
		modules: map[string]bool{},
		seen:    map[string]parsers.Pos{},
		hosts:   opts.Hosts,
	}
	if p.hosts == nil {
		p.hosts = parsers.HostsFile(opts.Root)
	}
	for _, d := range opts.Defines {
		p.defines[d] = ""
	}
	for _, m := range StaticModules {
		p.modules[m] = true
		p.modules[strings.TrimSuffix(strings.TrimPrefix(m, "mod_"), ".c")+"_module"] = true
	}
	p.serverRoot = opts.ServerRoot
	if p.serverRoot == "" {
		p.serverRoot = filepath.Dir(path)
		if filepath.Base(p.serverRoot) == "conf" {
			p.serverRoot = filepath.Dir(p.serverRoot)
		}
	}
	data, err := opts.Root.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	p.file(path, data)
	p.served()
	return p.cfg, nil
}

// line is one logical config line: a directive and its arguments.
type line struct {
	pos  parsers.Pos
	name string
	args []string
}

// errorf records a config error and ends the parse: httpd stops at the
// first one (apache2 -t prints only it).
func (p *parser) errorf(pos parsers.Pos, format string, a ...any) {
	p.cfg.Errors = append(p.cfg.Errors, parsers.Error{Pos: pos, Msg: fmt.Sprintf(format, a...)})
	p.stop = true
}

// lines splits a file into directives: "\" at the end of a line continues
// it, "#" starts a comment only as a line's first word.
func (p *parser) lines(name string, data []byte) []line {
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	n, start := 0, 0
	var cur strings.Builder
	for sc.Scan() {
		n++
		text := sc.Text()
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(text, "\\") {
			cur.WriteString(strings.TrimSuffix(text, "\\"))
			continue
		}
		cur.WriteString(text)
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" || s[0] == '#' {
			continue
		}
		words := p.split(s)
		if len(words) == 0 {
			continue
		}
		out = append(out, line{pos: parsers.Pos{File: name, Line: start}, name: words[0], args: words[1:]})
	}
	if s := strings.TrimSpace(cur.String()); s != "" && s[0] != '#' {
		if words := p.split(s); len(words) > 0 {
			out = append(out, line{pos: parsers.Pos{File: name, Line: start}, name: words[0], args: words[1:]})
		}
	}
	return out
}

// split cuts a line into words as ap_getword_conf does: quotes group,
// a backslash escapes the quote character inside them.
func (p *parser) split(s string) []string {
	var words []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return words
		}
		if q := s[0]; q == '"' || q == '\'' {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != q; i++ {
				if s[i] == '\\' && i+1 < len(s) && s[i+1] == q {
					i++
				}
				b.WriteByte(s[i])
			}
			words = append(words, b.String())
			if i < len(s) {
				i++
			}
			s = s[i:]
			continue
		}
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return append(words, s)
		}
		words = append(words, s[:i])
		s = s[i:]
	}
}

// expand replaces ${VAR} with a Define, else the environment; httpd
// leaves an undefined one as written (and warns, AH00111).
func (p *parser) expand(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		name := s[i+2 : i+j]
		b.WriteString(s[:i])
		if v, ok := p.defines[name]; ok {
			b.WriteString(v)
		} else if v, ok := p.opts.Env[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// file reads one config file's directives.
func (p *parser) file(name string, data []byte) {
	p.cfg.Files = append(p.cfg.Files, name)
	p.block(p.lines(name, data), "")
}

// block runs the directives of a file or section; section is the
// enclosing section's name ("" at the top, "virtualhost" in one).
func (p *parser) block(ls []line, section string) {
	for i := 0; i < len(ls) && !p.stop; i++ {
		l := ls[i]
		for k, a := range l.args {
			l.args[k] = p.expand(a)
		}
		name := strings.ToLower(l.name)
		if strings.HasPrefix(name, "</") {
			p.errorf(l.pos, "%s without matching <%s section", l.name, strings.TrimSuffix(l.name[2:], ">"))
			continue
		}
		if strings.HasPrefix(name, "<") {
			end := p.sectionEnd(ls, i)
			if end < 0 {
				p.errorf(l.pos, "%s> was not closed.", strings.TrimSuffix(l.name, ">"))
				return
			}
			p.section(l, ls[i+1:end], section)
			i = end
			continue
		}
		p.directive(l, name, section)
	}
}

// sectionEnd finds the line closing the section opened at ls[i].
func (p *parser) sectionEnd(ls []line, i int) int {
	open := strings.ToLower(strings.TrimSuffix(ls[i].name[1:], ">"))
	depth := 0
	for j := i + 1; j < len(ls); j++ {
		n := strings.ToLower(ls[j].name)
		switch {
		case strings.HasPrefix(n, "</") && strings.TrimSuffix(n[2:], ">") == open:
			if depth == 0 {
				return j
			}
			depth--
		case strings.HasPrefix(n, "<") && !strings.HasPrefix(n, "</") && strings.TrimSuffix(n[1:], ">") == open:
			depth++
		}
	}
	return -1
}

// section handles <IfModule>, <IfDefine> and the rest.
func (p *parser) section(l line, body []line, outer string) {
	kind := strings.ToLower(strings.TrimSuffix(l.name[1:], ">"))
	arg := ""
	if len(l.args) > 0 {
		arg = strings.TrimSuffix(strings.Join(l.args, " "), ">")
	}
	neg := strings.HasPrefix(arg, "!")
	name := strings.TrimPrefix(arg, "!")
	switch kind {
	case "ifmodule":
		if p.modules[name] != neg {
			p.block(body, outer)
		}
	case "ifdefine":
		_, ok := p.defines[name]
		if ok != neg {
			p.block(body, outer)
		}
	case "iffile":
		f := name
		if !filepath.IsAbs(f) {
			f = filepath.Join(p.serverRoot, f)
		}
		_, err := p.opts.Root.Stat(f)
		if (err == nil) != neg {
			p.block(body, outer)
		}
	case "virtualhost":
		p.block(body, "virtualhost")
	default:
		// <IfVersion>, <IfDirective>, <Directory>, <Location>, ...: Listen
		// is only allowed where httpd reads it; the rest is read as is.
		in := outer
		if in == "" && !strings.HasPrefix(kind, "if") {
			in = kind
		}
		p.block(body, in)
	}
}

// directive handles one directive outside any section marker.
func (p *parser) directive(l line, name, section string) {
	switch name {
	case "serverroot":
		if len(l.args) == 1 {
			p.serverRoot = strings.TrimSuffix(l.args[0], "/")
		}
	case "define":
		switch len(l.args) {
		case 1:
			p.defines[l.args[0]] = ""
		case 2:
			p.defines[l.args[0]] = l.args[1]
		}
	case "undefine":
		if len(l.args) == 1 {
			delete(p.defines, l.args[0])
		}
	case "loadmodule":
		if len(l.args) == 2 {
			p.modules[l.args[0]] = true
			file := filepath.Base(l.args[1])
			file = strings.TrimSuffix(file, filepath.Ext(file))
			p.modules[file+".c"] = true
		}
	case "include", "includeoptional":
		p.include(l, name == "includeoptional")
	case "listen":
		if section == "virtualhost" {
			p.errorf(l.pos, "Listen cannot occur within <VirtualHost> section")
			return
		}
		if section != "" {
			p.errorf(l.pos, "Listen cannot occur within <%s> section", section)
			return
		}
		p.listen(l)
	}
}

// include reads the files an Include names: a file, a directory (every
// file in it) or a glob in the last components, relative to ServerRoot.
func (p *parser) include(l line, optional bool) {
	if len(l.args) != 1 {
		p.errorf(l.pos, "Include takes one argument, Name of the config file to be included")
		return
	}
	pat := l.args[0]
	if !filepath.IsAbs(pat) {
		pat = filepath.Join(p.serverRoot, pat)
	}
	if p.depth >= maxDepth {
		p.errorf(l.pos, "Exceeded maximum include depth of %d, There appears to be a recursion.", maxDepth)
		p.stop = true
		return
	}
	var files []string
	if strings.ContainsAny(pat, "*?[") {
		matches, err := p.opts.Root.Glob(pat)
		if err != nil {
			p.errorf(l.pos, "Invalid wildcard pattern %s", pat)
			return
		}
		for _, m := range matches {
			if st, err := p.opts.Root.Stat(m); err == nil && !st.IsDir() {
				files = append(files, m)
			}
		}
		if len(files) == 0 && !optional {
			p.errorf(l.pos, "Include/IncludeOptional: No matches for the wildcard '%s' in '%s', failing", filepath.Base(pat), filepath.Dir(pat))
			return
		}
	} else {
		st, err := p.opts.Root.Stat(pat)
		switch {
		case err != nil && optional:
			return
		case err != nil:
			p.errorf(l.pos, "Could not open configuration file %s: %s", pat, parsers.ErrText(err))
			return
		case st.IsDir():
			entries, err := os.ReadDir(p.opts.Root.Path(pat))
			if err != nil {
				p.errorf(l.pos, "Could not open config directory %s: %s", pat, parsers.ErrText(err))
				return
			}
			for _, e := range entries {
				if !e.IsDir() {
					files = append(files, filepath.Join(pat, e.Name()))
				}
			}
		default:
			files = []string{pat}
		}
	}
	sort.Strings(files)
	p.depth++
	defer func() { p.depth-- }()
	for _, f := range files {
		if p.stop {
			return
		}
		if p.reads >= maxReads {
			p.errorf(l.pos, "lbdoctor stops reading after %d included files", maxReads)
			p.stop = true
			return
		}
		p.reads++
		data, err := p.opts.Root.ReadFile(f)
		if err != nil {
			if !optional {
				p.errorf(l.pos, "Could not open configuration file %s: %s", f, parsers.ErrText(err))
			}
			continue
		}
		p.file(f, data)
	}
}

// listen reads "Listen [addr:]port [protocol]".
func (p *parser) listen(l line) {
	if len(l.args) < 1 || len(l.args) > 2 {
		p.errorf(l.pos, "Listen requires 1 or 2 arguments.")
		return
	}
	raw := l.args[0]
	host, portStr := "", raw
	switch {
	case strings.HasPrefix(raw, "["):
		end := strings.Index(raw, "]")
		if end < 0 || !strings.HasPrefix(raw[end+1:], ":") {
			p.errorf(l.pos, "Invalid address or port")
			return
		}
		host, portStr = raw[1:end], raw[end+2:]
	case strings.Contains(raw, ":"):
		i := strings.LastIndex(raw, ":")
		host, portStr = raw[:i], raw[i+1:]
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || strings.HasPrefix(portStr, "+") || strings.HasPrefix(portStr, "-") {
		p.errorf(l.pos, "Port must be specified")
		return
	}
	if port < 1 || port > 65535 {
		p.errorf(l.pos, "Invalid address or port")
		return
	}
	if host == "*" {
		host = ""
	}
	key := host + "|" + strconv.Itoa(port)
	if _, dup := p.seen[key]; dup {
		p.errorf(l.pos, "Cannot define multiple Listeners on the same IP:port")
		return
	}
	p.seen[key] = l.pos
	base := parsers.Listener{Service: "apache", Pos: l.pos, Context: "server", Raw: raw, Proto: parsers.TCP, Port: port, InOrder: true}
	if host == "" {
		// APR asks for both families: [::] first, dual-stack, and
		// 0.0.0.0, which httpd then skips (served() marks it).
		v6 := base
		v6.Addr, v6.V6Only = netip.IPv6Unspecified(), parsers.V6OnlyOff
		v4 := base
		v4.Addr = netip.IPv4Unspecified()
		p.cfg.Listeners = append(p.cfg.Listeners, v6, v4)
		return
	}
	if a, err := netip.ParseAddr(host); err == nil {
		base.Addr = a.Unmap()
		if a.Is6() && a.IsUnspecified() {
			base.V6Only = parsers.V6OnlyOff
		}
		p.cfg.Listeners = append(p.cfg.Listeners, base)
		return
	}
	if strings.Contains(host, "${") {
		// An undefined variable stays as written (AH00111) and cannot
		// resolve: "(EAI 2)Name or service not known: AH00077:
		// alloc_listener: failed to set up sockaddr for ${VIP}".
		p.errorf(l.pos, "Listen setup failed (AH00077: alloc_listener: failed to set up sockaddr for %s; AH00111: a config variable is not defined)", host)
		return
	}
	addrs := p.hosts(host)
	if len(addrs) == 0 {
		base.Host = host
		p.cfg.Listeners = append(p.cfg.Listeners, base)
		return
	}
	for _, a := range addrs {
		l := base
		l.Host, l.Addr = host, a
		p.cfg.Listeners = append(p.cfg.Listeners, l)
	}
}

// served marks the 0.0.0.0 sockets httpd skips because a dual-stack [::]
// socket on the same port serves IPv4 too.
func (p *parser) served() {
	dual := map[int]bool{}
	for _, l := range p.cfg.Listeners {
		if l.Addr.Is6() && l.Addr.IsUnspecified() && l.V6Only == parsers.V6OnlyOff {
			dual[l.Port] = true
		}
	}
	for i := range p.cfg.Listeners {
		l := &p.cfg.Listeners[i]
		if l.Addr.Is4() && l.Addr.IsUnspecified() && dual[l.Port] {
			l.Via = parsers.JoinHostPort("::", l.Port)
		}
	}
}
