// Package haproxy reads HAProxy configurations the way HAProxy 2.6 does and
// reports every socket they would listen on, with its file and line.
//
// It is a line scanner, not a full configuration model: each line is cut
// into words with a port of HAProxy's own tokenizer (quotes, escapes,
// comments, environment variables), conditional blocks are evaluated, and
// only the statements that open sockets are interpreted:
//
//   - "bind" in "frontend" and "listen" sections,
//   - "stats socket" in "global",
//   - in "peers" sections, the local peer's "peer" line, or "bind" when a
//     "server" line names the local peer,
//   - "bind" and "dgram-bind" in "log-forward" sections.
//
// Addresses follow str2sa_range(): "*" and an empty address are 0.0.0.0,
// "::" is the IPv6 wildcard, an IPv6 address is written without brackets
// (the last colon separates the port) or with them, a port range yields one
// Listener per port, and the family prefixes (ipv4@, ipv6@, unix@, udp@,
// quic4@, mptcp@, ...) are honoured. Host names are resolved through
// Options.Resolve, and the first address is kept, as HAProxy does. Sockets
// that are not addresses of this host's network stack or file system
// (abstract unix sockets, inherited descriptors fd@ and sockpair@, reverse
// HTTP rhttp@) yield a Listener whose Uncheckable field says so.
//
// Conditions of ".if" and ".elif" blocks are decided when they can be:
// defined(), streq() and the like from the environment, version_atleast()
// and version_before() from Options.Version, feature() from
// Options.Features. HAProxy takes exactly one branch of a block; when the
// choice depends on something lbdoctor cannot know, the listeners of every
// branch that could be taken are reported, each with Listener.Conditional
// naming the undecided conditions. Other statements in such branches
// (setenv, disabled, ...) are applied as if the branch were taken.
//
// Errors are those HAProxy itself would stop at, in its own words, for the
// statements read here, plus the first words HAProxy 2.6 does not know in
// a section (with its "did you mean" suggestion) and server lines in a
// frontend; the arguments of other keywords are not validated. Like
// HAProxy, reading a file stops after 50 errors. Syntax of later HAProxy
// versions is accepted unless Options.Version says it is too new.
package haproxy

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unsafe"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Options says where and with what environment the configuration is read.
type Options struct {
	Root parsers.Root
	// Env is the environment for $VAR expansion; nil means no variables set.
	Env func(name string) (string, bool)
	// LocalPeer is the local peer name ("haproxy -L"); it takes precedence
	// over "localpeer" in the global section.
	LocalPeer string
	// Hostname is the host name HAProxy takes as the local peer name when
	// neither -L nor "localpeer" gives one (gethostname() of the host that
	// runs it). When no local peer name is known at all, "peer" lines yield
	// no listener and a peers section's "bind" always listens.
	Hostname string
	// Resolve answers HAProxy's start-up name resolution (getaddrinfo()
	// with no flags) for host names in addresses: every address, in the
	// order getaddrinfo() returns them. HAProxy binds the first one of the
	// family the address asks for. nil, or no answer, leaves the listener
	// with its Host and no Addr.
	Resolve func(name string) []netip.Addr
	// Version is the HAProxy version that will read the configuration, as
	// "haproxy -v" prints it ("2.6.12-1+deb12u4"); see ParseVersionOutput.
	// It decides version_atleast() and version_before() in ".if" blocks and
	// which address prefixes and predicates exist. Empty means unknown:
	// version tests stay undecided and every later syntax is accepted.
	Version string
	// Features is the build's feature list, as "haproxy -vv" prints it
	// ("+OPENSSL", "-QUIC", ...). It decides feature() in ".if" blocks and
	// whether QUIC addresses are supported. nil means unknown.
	Features []string
}

// maxListeners bounds the listeners of one configuration, so that a few
// lines of huge port ranges cannot exhaust memory (HAProxy itself would run
// out of file descriptors long before).
const maxListeners = 1 << 18

// maxNestedConds is HAProxy's MAXNESTEDCONDS.
const maxNestedConds = 100

// sectionKinds are the section keywords of HAProxy 2.6 and a few later ones,
// so that their contents are not taken for the previous section's.
var sectionKinds = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true,
	"listen": true, "peers": true, "userlist": true, "resolvers": true,
	"mailers": true, "program": true, "http-errors": true, "ring": true,
	"cache": true, "log-forward": true, "fcgi-app": true,
	"namespace_list": true,
	// Later versions.
	"crt-store": true, "traces": true, "acme": true,
}

// maxFileSize bounds one config file; a larger one is refused rather than
// read whole.
const maxFileSize = 512 << 20

// Parse reads HAProxy configs like `haproxy -f A -f B`: each path is a file,
// or a directory whose *.cfg files are read in lexical byte order. The error
// is non-nil only when a named path cannot be read (CLI exit 2); config
// problems go to Config.Errors with file and line.
func Parse(paths []string, opts Options) (*parsers.Config, error) {
	cfg := &parsers.Config{Service: "haproxy", Path: strings.Join(paths, ", ")}
	files, err := expandPaths(paths, opts.Root)
	if err != nil {
		return nil, err
	}
	p := newParser(opts, cfg)
	for _, f := range files {
		data, err := opts.Root.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		cfg.Files = append(cfg.Files, f)
		// The text is only read from here on, so it shares data's memory
		// rather than doubling a large file's.
		p.readFile(f, unsafe.String(unsafe.SliceData(data), len(data)))
		if p.aborted {
			break
		}
	}
	if p.noReusePort {
		for i := range cfg.Listeners {
			cfg.Listeners[i].ReusePort = false
		}
	}
	return cfg, nil
}

// expandPaths turns the -f arguments into files like HAProxy: a directory
// contributes its regular files whose name ends in ".cfg" (the first ".cfg"
// of the name must be its end) and does not start with a dot, sorted.
func expandPaths(paths []string, root parsers.Root) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := root.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		if !st.IsDir() {
			// A FIFO would block and a device never end: only files are
			// configs.
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("read %s: not a regular file or directory", p)
			}
			if st.Size() > maxFileSize {
				return nil, fmt.Errorf("read %s: larger than %d bytes", p, int64(maxFileSize))
			}
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(root.Path(p))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		var names []string
		for _, e := range entries {
			n := e.Name()
			if strings.HasPrefix(n, ".") {
				continue
			}
			if i := strings.Index(n, ".cfg"); i < 0 || i+4 != len(n) {
				continue
			}
			st, err := root.Stat(p + "/" + n)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // a dangling link: HAProxy would stop, we skip it
				}
				return nil, fmt.Errorf("read %s: %w", filepath.Join(p, n), err)
			}
			if st.Mode().IsRegular() {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			files = append(files, p+"/"+n)
		}
	}
	return files, nil
}

// section is the section being read.
type section struct {
	kind     string // "global", "frontend", ... or "" before the first one
	name     string
	context  string
	disabled bool
	start    int // index in cfg.Listeners of this section's first listener

	// In peers sections: where the "bind" line is, whether there were
	// "peer" lines, and whether a "server" line names the local peer.
	peersBind   parsers.Pos
	peerLines   bool
	localServer bool

	// orphan is a frontend or listen section whose line carries an
	// address: HAProxy 2.x creates no proxy for it, so every keyword
	// line until the next section is a fatal "'listen' or 'defaults'
	// expected.", while the section line alone is only an alert.
	orphan bool
}

// parser holds what HAProxy remembers from one configuration file to the
// next: the environment, global settings and defaults sections.
type parser struct {
	cfg *parsers.Config
	env *env
	lx  lexer

	noReusePort bool
	unixPrefix  string
	unixPerm    unixPerm // "unix-bind" mode and owner, for proxies' sockets
	cliPeer     string   // -L
	localPeer   string   // "localpeer" in global
	hostname    string

	resolver      func(string) []netip.Addr
	noGetaddrinfo bool // "nogetaddrinfo": names resolve to IPv4 only
	experimental  bool // "expose-experimental-directives"
	haveVersion   bool
	version       [versionElts]uint32
	features      []string // nil when unknown
	// condText describes the undecided conditions around the current
	// line, for Listener.Conditional.
	condText string
	// defaults maps a defaults section's name to its "disabled" state;
	// lastDefaults is that of the most recent defaults section.
	defaults     map[string]bool
	lastDefaults bool
	bindOpts     map[string]bindOpts // by option list, see bindOptions
	tooMany      bool
	kwMode       kwMode // how first words are checked
	aborted      bool   // HAProxy reads no further file
}

func newParser(opts Options, cfg *parsers.Config) *parser {
	p := &parser{
		cfg:      cfg,
		env:      &env{base: opts.Env},
		defaults: make(map[string]bool),
		cliPeer:  opts.LocalPeer,
		hostname: opts.Hostname,
		resolver: opts.Resolve,
		features: opts.Features,
	}
	if opts.Version != "" {
		p.version, p.haveVersion = splitVersion(opts.Version)
	}
	switch {
	case !p.atLeast("2.6"):
		p.kwMode = kwOff
	case !p.atLeast("2.7"):
		p.kwMode = kwStrict
	}
	return p
}

// atLeast reports whether the HAProxy that reads the configuration is at
// least version v; an unknown version is taken to be recent enough.
func (p *parser) atLeast(v string) bool {
	if v == "" || !p.haveVersion {
		return true
	}
	want, _ := splitVersion(v)
	return compareVersions(p.version, want) >= 0
}

// feature is feature(name): whether the build lists "+name".
func (p *parser) feature(name string) tri {
	if p.features == nil {
		return triUnknown
	}
	for _, f := range p.features {
		if len(f) == len(name)+1 && f[1:] == name && (f[0] == '+' || f[0] == '-') {
			return triOf(f[0] == '+')
		}
	}
	return triFalse
}

// localName is the local peer name HAProxy would use, or "".
func (p *parser) localName() string {
	switch {
	case p.cliPeer != "":
		return p.cliPeer
	case p.localPeer != "":
		return p.localPeer
	}
	return p.hostname
}

type condState int8

const (
	condTake condState = iota // this branch is read
	condDrop                  // this branch is skipped, a later one may be read
	condSkip                  // a previous branch was read: skip up to .endif
)

// condFrame is one open ".if" block.
type condFrame struct {
	state   condState
	sawElse bool
	// here is the directive of the current branch and its place, e.g.
	// ".if feature(QUIC) at haproxy.cfg:3"; undecided is true when its
	// condition could not be decided; prior lists the undecided
	// conditions of earlier branches, all of which must be false for this
	// branch to be reached.
	here      string
	undecided bool
	prior     string
}

// describe says on what undecided conditions the frame's current branch
// depends, or "" when it is certain.
func (f *condFrame) describe() string {
	switch {
	case f.state != condTake || (!f.undecided && f.prior == ""):
		return ""
	case f.prior == "":
		return f.here
	}
	return f.here + ", after undecided " + f.prior
}

// next moves past the current branch: a certain branch ends the block, an
// undecided one becomes a condition of the branches after it.
func (f *condFrame) next() {
	switch {
	case f.state == condTake && !f.undecided:
		f.state = condSkip
	case f.state == condTake:
		if f.prior != "" {
			f.prior += ", "
		}
		f.prior += f.here
		f.state = condDrop
	}
	f.undecided = false
}

// describeConds joins the conditions of all open blocks.
func describeConds(conds []condFrame) string {
	var parts []string
	for i := range conds {
		if d := conds[i].describe(); d != "" {
			parts = append(parts, d)
		}
	}
	return strings.Join(parts, "; ")
}

// readFile reads one file from an empty section state, as HAProxy does.
func (p *parser) readFile(file, data string) {
	sec := &section{}
	var conds []condFrame
	p.condText = ""
	defer func() { p.condText = "" }()
	lineno := 0
	firstErr := len(p.cfg.Errors)
	for len(data) > 0 {
		lineno++
		if n := len(p.cfg.Errors) - firstErr; n >= maxFatal {
			p.errorf(file, lineno, "too many fatal errors (%d), stopping now.", n)
			p.endSection(sec)
			return
		}
		line := data
		hasLF := false
		if nl := strings.IndexByte(data, '\n'); nl >= 0 {
			line, data, hasLF = data[:nl], data[nl+1:], true
		} else {
			data = ""
		}
		// fgets() reads past a NUL but strlen() stops there: the rest of
		// the line is lost, and HAProxy gives up on the file at the next
		// line, or complains of a missing LF at the end.
		missing := !hasLF
		if z := strings.IndexByte(line, 0); z >= 0 {
			line, missing = line[:z], true
		}
		if !p.handleLine(file, lineno, line, sec, &conds) {
			p.endSection(sec)
			return
		}
		if missing {
			if len(data) > 0 {
				p.errorf(file, lineno, "Stray NUL character at position %d.", len(line)+1)
				p.endSection(sec)
				return
			}
			p.errorf(file, lineno, "Missing LF on last line, file might have been truncated at position %d.", len(line)+1)
		}
	}
	p.endSection(sec)
	if len(conds) > 0 {
		p.errorf(file, lineno, "non-terminated '.if' block.")
	}
}

func (p *parser) errorf(file string, line int, format string, args ...any) {
	p.cfg.Errors = append(p.cfg.Errors, parsers.Error{
		Pos: parsers.Pos{File: file, Line: line},
		Msg: fmt.Sprintf(format, args...),
	})
}

// handleLine reads one line; it returns false when HAProxy would stop
// reading the file.
func (p *parser) handleLine(file string, lineno int, line string, sec *section, conds *[]condFrame) bool {
	trimmed := strings.TrimLeft(line, " \t\n\v\f\r")
	if trimmed == "" || trimmed[0] == '#' {
		return true
	}
	if trimmed[0] == '[' {
		return true // a scope line ("[name]"), only used for diagnostics
	}
	ps := pseudo{file: file, line: lineno, section: sec.name}
	if ps.section == "" {
		ps.section = sec.kind
	}
	args, lerr := p.lx.split(line, p.env, ps)
	if lerr != nil {
		p.errorf(file, lineno, "%s", lerr.msg())
		return true
	}
	if args[0] == "" {
		return true
	}
	if args[0][0] == '.' {
		if ok, handled := p.condDirective(file, lineno, args, conds); handled {
			return ok
		}
	}
	if n := len(*conds); n > 0 && (*conds)[n-1].state != condTake {
		return true
	}
	if args[0][0] == '.' {
		switch args[0] {
		case ".alert":
			p.errorf(file, lineno, "'%s'.", arg(args, 1))
			return false
		case ".warning", ".notice", ".diag":
			return true
		}
		p.errorf(file, lineno, "unknown directive '%s'.", args[0])
		return false
	}
	if sec.orphan && !sectionKinds[args[0]] {
		p.errorf(file, lineno, "'listen' or 'defaults' expected.")
		return true
	}
	if args[0] == "no" || args[0] == "default" {
		// Only "option" and a few global keywords take these modifiers,
		// none of which opens a socket.
		return p.checkModifier(file, lineno, args, sec)
	}
	if sectionKinds[args[0]] {
		p.endSection(sec)
		p.beginSection(sec, args)
		// HAProxy 1.x took addresses on the section line; 2.x says so and
		// makes no proxy of it: with nothing more in the section it
		// starts, listening nowhere; any keyword line in it is fatal.
		if (args[0] == "frontend" || args[0] == "listen") && arg(args, 2) != "" && arg(args, 2) != "from" {
			sec.orphan = true
			p.cfg.Warnings = append(p.cfg.Warnings, parsers.Error{
				Pos: parsers.Pos{File: file, Line: lineno},
				Msg: fmt.Sprintf("%s %s: HAProxy ignores the address %s on the section line (\"please use the 'bind' keyword for listening addresses\"): this proxy listens nowhere", args[0], arg(args, 1), arg(args, 2)),
			})
		}
		return true
	}
	if sec.kind != "" && !p.checkKeyword(file, lineno, args[0], sec) {
		return false
	}
	p.checkCapability(file, lineno, args[0], sec)
	switch sec.kind {
	case "":
		p.errorf(file, lineno, "unknown keyword '%s' out of section.", args[0])
	case "global":
		p.global(file, lineno, args)
	case "defaults", "frontend", "listen", "backend":
		p.proxy(file, lineno, args, sec)
	case "peers":
		p.peers(file, lineno, args, sec)
	case "log-forward":
		p.logForward(file, lineno, args, sec)
	}
	return true
}

// arg is args[i], or "" past the end like HAProxy's trailing empty words.
func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

// from is args[i:], or nothing past the end.
func from(args []string, i int) []string {
	if i < len(args) {
		return args[i:]
	}
	return nil
}

// condDirective handles .if/.elif/.else/.endif. handled is false for other
// directives; ok is false when HAProxy would stop reading.
func (p *parser) condDirective(file string, lineno int, args []string, conds *[]condFrame) (ok, handled bool) {
	switch args[0] {
	case ".if", ".elif", ".else", ".endif":
	default:
		return true, false
	}
	n := len(*conds)
	var top *condFrame
	if n > 0 {
		top = &(*conds)[n-1]
	}
	switch args[0] {
	case ".if":
		if n+1 >= maxNestedConds {
			p.errorf(file, lineno, "too many nested '.if', max is %d.", maxNestedConds)
			return false, true
		}
		if top != nil && top.state != condTake {
			*conds = append(*conds, condFrame{state: condSkip})
			return true, true
		}
		*conds = append(*conds, condFrame{state: condDrop})
		top = &(*conds)[n]
	case ".elif":
		if top == nil {
			p.errorf(file, lineno, "lone '.elif' with no matching '.if'.")
			return false, true
		}
		if top.sawElse {
			p.errorf(file, lineno, "'.elif' after '.else' is not permitted.")
			return false, true
		}
		top.next()
		if top.state == condSkip {
			p.condText = describeConds(*conds)
			return true, true
		}
	case ".else", ".endif":
		if a := arg(args, 1); a != "" {
			p.errorf(file, lineno, "Unexpected argument '%s' for '%s'.", a, args[0])
			return false, true
		}
		if top == nil {
			p.errorf(file, lineno, "lone '%s' with no matching '.if'.", args[0])
			return false, true
		}
		if args[0] == ".endif" {
			*conds = (*conds)[:n-1]
			p.condText = describeConds(*conds)
			return true, true
		}
		if top.sawElse {
			p.errorf(file, lineno, "'.else' after '.else' is not permitted.")
			return false, true
		}
		top.sawElse = true
		top.next()
		if top.state == condDrop {
			top.state = condTake
			top.here = fmt.Sprintf(".else at %s:%d", file, lineno)
		}
		p.condText = describeConds(*conds)
		return true, true
	}
	// .if or .elif: the words after the directive, re-joined, are the
	// expression, with variables already expanded.
	expr := strings.TrimRight(strings.Join(args[1:], " "), " ")
	v, msg := p.evalCond(expr)
	if msg != "" {
		p.errorf(file, lineno, "%s in '%s'", msg, args[0])
		return false, true
	}
	if v != triFalse {
		top.state = condTake
		top.undecided = v == triUnknown
		top.here = fmt.Sprintf("%s %s at %s:%d", args[0], expr, file, lineno)
	}
	p.condText = describeConds(*conds)
	return true, true
}

func (p *parser) beginSection(sec *section, args []string) {
	*sec = section{kind: args[0], name: arg(args, 1), start: len(p.cfg.Listeners)}
	sec.context = sec.kind
	if sec.name != "" {
		sec.context += " " + sec.name
	}
	switch sec.kind {
	case "defaults", "frontend", "listen", "backend":
		// A proxy starts from the last defaults section, a defaults
		// section from scratch, either from the one named after "from".
		if sec.kind != "defaults" {
			sec.disabled = p.lastDefaults
		}
		if arg(args, 2) == "from" {
			sec.disabled = p.defaults[arg(args, 3)]
		} else if sec.kind == "defaults" && arg(args, 1) == "from" {
			sec.disabled = p.defaults[arg(args, 2)]
			sec.name = ""
		}
	}
}

// endSection drops the listeners of a disabled section.
func (p *parser) endSection(sec *section) {
	if sec.kind == "defaults" {
		p.defaults[sec.name] = sec.disabled
		p.lastDefaults = sec.disabled
	}
	if sec.disabled && (sec.kind == "frontend" || sec.kind == "listen" || sec.kind == "peers") {
		p.cfg.Listeners = p.cfg.Listeners[:sec.start]
	}
	// A peers section whose "bind" names no local peer is removed
	// ("Removing incomplete section"), its listener with it.
	if sec.kind == "peers" && sec.peersBind.Line != 0 && !sec.localServer && p.localName() != "" {
		p.cfg.Listeners = p.cfg.Listeners[:sec.start]
	}
	*sec = section{}
}

func (p *parser) global(file string, lineno int, args []string) {
	switch args[0] {
	case "stats":
		if arg(args, 1) != "socket" {
			return
		}
		if arg(args, 2) == "" {
			p.errorf(file, lineno, "'%s %s' in global section expects an address or a path to a UNIX socket", args[0], args[1])
			return
		}
		// The CLI's unix sockets ignore "unix-bind" settings.
		p.listen(file, lineno, "global", "'stats socket'", args[2], from(args, 3), stream, "", p.lx.emptyIn(2), nil)
	case "noreuseport":
		p.noReusePort = true
	case "localpeer":
		p.localPeer = arg(args, 1)
	case "unix-bind":
		for i := 1; i+1 < len(args) && args[i] != ""; i += 2 {
			if args[i] == "prefix" && p.unixPrefix == "" {
				p.unixPrefix = args[i+1]
			}
			p.unixPerm.set(args[i], args[i+1])
		}
	case "nogetaddrinfo":
		p.noGetaddrinfo = true
	case "expose-experimental-directives":
		p.experimental = true
	case "setenv", "presetenv":
		if arg(args, 1) == "" || arg(args, 2) == "" {
			return
		}
		if _, set := p.env.lookup(args[1]); args[0] == "setenv" || !set {
			p.env.set(args[1], args[2])
		}
	case "unsetenv":
		for _, n := range args[1:] {
			if n != "" {
				p.env.unset(n)
			}
		}
	case "resetenv":
		var keep []string
		for _, n := range args[1:] {
			if n != "" {
				keep = append(keep, n)
			}
		}
		p.env.resetTo(keep)
	}
}

func (p *parser) proxy(file string, lineno int, args []string, sec *section) {
	switch args[0] {
	case "disabled":
		sec.disabled = true
	case "enabled":
		sec.disabled = false
	case "bind":
		switch sec.kind {
		case "defaults":
			p.errorf(file, lineno, "'%s' not allowed in 'defaults' section.", args[0])
			return
		case "backend":
			return // HAProxy warns and ignores it
		}
		if arg(args, 1) == "" {
			p.errorf(file, lineno, "'%s' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.", args[0])
			return
		}
		p.listen(file, lineno, sec.context, "'bind'", args[1], from(args, 2), stream, p.unixPrefix, p.lx.emptyIn(1), &p.unixPerm)
	}
}

func (p *parser) peers(file string, lineno int, args []string, sec *section) {
	switch args[0] {
	case "disabled":
		sec.disabled = true
	case "enabled":
		sec.disabled = false
	case "bind":
		if sec.peerLines {
			p.errorf(file, lineno, "mixing \"peer\" and \"bind\" line is forbidden")
			return
		}
		if sec.peersBind.Line != 0 {
			p.errorf(file, lineno, "One listener per \"peers\" section is authorized but another is already configured at [%s].", sec.peersBind)
		} else {
			sec.peersBind = parsers.Pos{File: file, Line: lineno}
		}
		p.listen(file, lineno, sec.context, "'bind "+arg(args, 1)+"'", arg(args, 1), from(args, 2), stream, p.unixPrefix, p.lx.emptyIn(1), nil)
	case "server":
		// The new style: "bind" gives the local peer's address, a "server"
		// line without address names it.
		if local := p.localName(); local != "" && arg(args, 1) == local {
			sec.localServer = true
		}
	case "peer":
		if sec.peersBind.Line != 0 {
			p.errorf(file, lineno, "mixing \"peer\" and \"bind\" line is forbidden")
			return
		}
		sec.peerLines = true
		local := p.localName()
		if local == "" || arg(args, 1) != local || arg(args, 2) == "" {
			return
		}
		// The options of a peer line are server options: none changes
		// how the listening socket binds.
		p.listen(file, lineno, sec.context, "'peer "+args[1]+"'", args[2], nil, stream, p.unixPrefix, p.lx.emptyIn(2), nil)
	}
}

func (p *parser) logForward(file string, lineno int, args []string, sec *section) {
	switch args[0] {
	case "bind":
		p.listen(file, lineno, sec.context, "'bind "+arg(args, 1)+"'", arg(args, 1), from(args, 2), stream, p.unixPrefix, p.lx.emptyIn(1), nil)
	case "dgram-bind":
		p.listen(file, lineno, sec.context, "'dgram-bind "+arg(args, 1)+"'", arg(args, 1), from(args, 2), dgram, p.unixPrefix, p.lx.emptyIn(1), nil)
	}
}

// bindOptions is parseBindOpts, remembered per option list: config-parser
// tries every bind option it knows on every word, and the thousands of
// binds of a big config repeat a handful of option lists.
func (p *parser) bindOptions(opts []string) bindOpts {
	key := strings.Join(opts, "\x00")
	if o, ok := p.bindOpts[key]; ok {
		return o
	}
	if p.bindOpts == nil {
		p.bindOpts = map[string]bindOpts{}
	}
	o := parseBindOpts(opts)
	p.bindOpts[key] = o
	return o
}

// listen is str2listener(): a comma-separated list of addresses sharing
// the options that follow. One bad address makes HAProxy drop the line.
// empty names the variables that expanded to nothing in the address word;
// ux holds "unix-bind" defaults for unix sockets, or is nil.
func (p *parser) listen(file string, lineno int, context, what, addrs string, opts []string, want sockType, pfx string, empty []string, ux *unixPerm) {
	pos := parsers.Pos{File: file, Line: lineno}
	o := p.bindOptions(opts)
	start := len(p.cfg.Listeners)
	for rest := addrs; rest != ""; {
		elem := rest
		if i := strings.IndexByte(rest, ','); i >= 0 {
			elem, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		raw, ep, msg := p.parseEndpoint(elem, want, pfx)
		if msg != "" {
			p.cfg.Listeners = p.cfg.Listeners[:start]
			p.errorf(file, lineno, "%s : %s", what, msg)
			return
		}
		l := parsers.Listener{
			Service:     "haproxy",
			Pos:         pos,
			Context:     context,
			Raw:         raw,
			V6Only:      o.v6only,
			Transparent: o.transparent,
			Interface:   o.iface,
			Namespace:   o.netns,
			Uncheckable: ep.uncheckable,
			Conditional: p.condText,
			EmptyVars:   empty,
		}
		for _, n := range ep.empty {
			l.EmptyVars = appendName(l.EmptyVars[:len(l.EmptyVars):len(l.EmptyVars)], n)
		}
		l.Proto = parsers.TCP
		if ep.udp {
			l.Proto = parsers.UDP
		}
		switch ep.fam {
		case famFD, famSockpair, famRHTTP:
			// Nothing of this host to bind: listed so reports can say so.
			p.add(file, lineno, l)
			continue
		case famAbstract:
			l.Proto = parsers.Unix
			p.add(file, lineno, l)
			continue
		case famUnix:
			l.Proto = parsers.Unix
			l.Path = ep.path
			perm := o.ux
			if ux != nil {
				perm = ux.override(o.ux)
			}
			l.UnixMode, l.UnixUser, l.UnixGroup = perm.mode, perm.user, perm.group
			p.add(file, lineno, l)
			continue
		}
		l.Addr, l.Host = ep.addr, ep.host
		// HAProxy sets SO_REUSEPORT on every inet listener unless
		// "noreuseport" is set; that is applied once all is read.
		l.ReusePort = true
		for port := ep.lo; port <= ep.hi; port++ {
			l.Port = port
			if !p.add(file, lineno, l) {
				return
			}
		}
	}
}

func (p *parser) add(file string, lineno int, l parsers.Listener) bool {
	if len(p.cfg.Listeners) >= maxListeners {
		if !p.tooMany {
			p.tooMany = true
			// lbdoctor's limit, not HAProxy's (LBD006).
			p.cfg.Unread = append(p.cfg.Unread, parsers.Error{
				Pos: parsers.Pos{File: file, Line: lineno},
				Msg: fmt.Sprintf("too many listeners: lbdoctor reads at most %d", maxListeners),
			})
		}
		return false
	}
	p.cfg.Listeners = append(p.cfg.Listeners, l)
	return true
}
