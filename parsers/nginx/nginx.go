// Package nginx reads an nginx main config and the files it includes and
// lists the sockets nginx would open: every listen of every server block in
// http, stream and mail, the implicit *:80 of an http server without listen,
// and which listens nginx serves from a wildcard socket instead of binding
// them. It reads only files; it never resolves names through DNS.
package nginx

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	crossplane "github.com/nginxinc/nginx-go-crossplane"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Options says where and how to read the configuration.
type Options struct {
	Root parsers.Root
	// NonRoot is true when nginx's master does not run as root: an http server without listen then listens on *:8000 instead of *:80.
	NonRoot bool
	// Workers is how many parses read the included files at once; 0 means
	// one per CPU, 1 reads them one after another. The result is the same.
	Workers int
}

// crossplane lexes each file into a channel of 2048 tokens, about 100 KB
// allocated and cleared per file, most of it never used: config files are
// small. With thousands of included files that was a third of the parse
// (make bench: 10,000 server blocks in 2,000 files, 340 ms down to 225 ms).
// The capacity only sets how far the lexer may run ahead of the parser.
// crossplane says its setter is meant for its tests, and it sets a
// package variable of crossplane's: it is set once, before the first
// parse starts, and never changed after.
var smallTokenChannels sync.Once

// maxInclusions bounds how many files one parse may walk into. nginx has no
// such limit, but include graphs can grow exponentially (a file including
// the next one twice, thirty levels deep) and a parser must not hang.
const maxInclusions = 100000

// Parse reads the nginx main config at path and its includes. The error is non-nil only when the main file cannot be read (CLI exit 2); config problems go to Config.Errors with file and line.
//
// Relative includes resolve against the main config's directory, as nginx
// does with -c. Listeners of one context (http, stream or mail) that name
// the same socket share it in nginx: they are listed each, with the same
// socket and no Via.
func Parse(path string, opts Options) (*parsers.Config, error) {
	smallTokenChannels.Do(func() { crossplane.SetTokenChanCap(64) })
	fi, err := opts.Root.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read nginx config: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read nginx config %s: not a regular file", path)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("read nginx config %s: larger than %d bytes", path, int64(maxFileSize))
	}
	f, err := opts.Root.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read nginx config: %w", err)
	}
	_ = f.Close()

	fs := newFiles(opts.Root)
	w := &walker{
		cfg:       &parsers.Config{Service: "nginx", Path: path},
		files:     fs,
		hosts:     parsers.HostsFile(opts.Root),
		configDir: filepath.Dir(path),
		nonRoot:   opts.NonRoot,
		seen:      map[string]bool{},
	}

	workers := opts.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var main unit
	units, perrs, sharded := parseSharded(path, fs, workers)
	if !sharded {
		payload, err := crossplane.Parse(path, crossplaneOptions(fs))
		if err == nil {
			units = make([]unit, len(payload.Config))
			for i, c := range payload.Config {
				units[i] = unit{name: c.File, dirs: c.Parsed}
			}
			perrs = payload.Errors
		}
	}
	switch {
	case units != nil:
		main = units[0]
		w.resolve = func(d *crossplane.Directive, _ parsers.Pos) []unit {
			out := make([]unit, 0, len(d.Includes))
			for _, i := range d.Includes {
				if i >= 0 && i < len(units) {
					out = append(out, units[i])
				}
			}
			return out
		}
		for _, pe := range perrs {
			w.addPayloadError(pe)
		}
	default:
		// crossplane refuses configs whose includes form a cycle and
		// returns nothing. nginx fails on them too (it recurses until it
		// runs out of file descriptors), but the user deserves the line
		// of the include and the listeners: read the files one by one and
		// let the walker cut the cycle.
		fb := &fallback{files: fs, w: w, units: map[string]*unit{}, main: path}
		main = *fb.unit(path)
		w.resolve = fb.resolve
	}

	w.seen[main.name] = true
	w.cfg.Files = append(w.cfg.Files, main.name)
	w.stack = []string{main.name}
	w.noteEnds(main)
	w.walk(main.dirs, main.name, blockCtx{}, nil)
	for _, e := range fs.tokenErrors() {
		w.addError(e.Pos, e.Msg)
	}
	w.finish()
	return w.cfg, nil
}

// crossplaneOptions makes crossplane read through the root, accept any
// directive it does not know (third-party modules), and lex Lua blocks,
// whose braces and semicolons would otherwise break the parse.
func crossplaneOptions(fs *files) *crossplane.ParseOptions {
	return &crossplane.ParseOptions{
		Open: fs.open,
		Glob: fs.glob,
		// The union of directive tables is the most lenient one: a
		// directive counts as misused only if no known version or module
		// accepts it where it stands.
		DirectiveSources: []crossplane.MatchFunc{unionMatch(
			crossplane.MatchOss124,
			crossplane.MatchOss126,
			crossplane.MatchOssLatest,
			crossplane.MatchNginxPlusLatest,
			crossplane.MatchNjsLatest,
			crossplane.MatchOtelLatest,
			crossplane.MatchLuaLatest,
			crossplane.MatchHeadersMoreLatest,
			crossplane.MatchGeoip2Latest,
		)},
		LexOptions: crossplane.LexOptions{
			Lexers: []crossplane.RegisterLexer{(&crossplane.Lua{}).RegisterLexer()},
		},
	}
}

// unionMatch is one directive table made of several, as crossplane reads
// a list of them: the masks of every table that knows the directive, in
// order. It remembers each directive's answer, because crossplane asks
// every table for every directive, and a config names a few dozen
// directives tens of thousands of times.
func unionMatch(tables ...crossplane.MatchFunc) crossplane.MatchFunc {
	type answer struct {
		masks []uint
		known bool
	}
	memo := map[string]answer{}
	return func(directive string) ([]uint, bool) {
		if a, ok := memo[directive]; ok {
			return a.masks, a.known
		}
		var a answer
		for _, match := range tables {
			if masks, ok := match(directive); ok {
				a.masks = append(a.masks, masks...)
				a.known = true
			}
		}
		memo[directive] = a
		return a.masks, a.known
	}
}

func payloadErrorPos(pe crossplane.PayloadError) parsers.Pos {
	pos := parsers.Pos{File: pe.File}
	if pe.Line != nil {
		pos.Line = *pe.Line
	}
	return pos
}

// payloadErrorMsg is crossplane's message without its " in FILE:LINE" tail,
// which parsers.Error adds back from Pos.
func payloadErrorMsg(err error) string {
	var pe *crossplane.ParseError
	if errors.As(err, &pe) {
		return pe.What
	}
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// unit is one parsed file.
type unit struct {
	name string
	dirs crossplane.Directives
}

// fallback reads files one at a time, without crossplane's include
// handling, for configs crossplane refuses to read as a whole.
type fallback struct {
	files *files
	w     *walker
	units map[string]*unit
	main  string
}

func (fb *fallback) unit(name string) *unit {
	if u, ok := fb.units[name]; ok {
		return u
	}
	u := &unit{name: name}
	fb.units[name] = u
	opts := crossplaneOptions(fb.files)
	opts.SingleFile = true
	// An included file is read outside the context it is included in,
	// so where a directive stands cannot be checked.
	opts.SkipDirectiveContextCheck = name != fb.main
	payload, err := crossplane.Parse(name, opts)
	if err != nil {
		fb.w.addError(parsers.Pos{File: name}, payloadErrorMsg(err))
		return u
	}
	for _, pe := range payload.Errors {
		fb.w.addPayloadError(pe)
	}
	if len(payload.Config) > 0 {
		u.dirs = payload.Config[0].Parsed
	}
	return u
}

func (fb *fallback) resolve(d *crossplane.Directive, pos parsers.Pos) []unit {
	if len(d.Args) != 1 {
		return nil
	}
	pattern := fb.w.pattern(d.Args[0])
	var names []string
	if hasMagic(pattern) {
		names, _ = fb.files.glob(pattern)
	} else if msg := fb.files.check(pattern); msg != "" {
		fb.w.addError(pos, msg)
	} else {
		names = []string{pattern}
	}
	out := make([]unit, 0, len(names))
	for _, n := range names {
		out = append(out, *fb.unit(n))
	}
	return out
}

// server is the server block being walked.
type server struct {
	id        int
	ctx       string
	pos       parsers.Pos // of its listeners
	errPos    parsers.Pos // of its errors
	hasListen bool
}

// listen is a listener with what grouping needs to know about it.
type listen struct {
	l        parsers.Listener
	errPos   parsers.Pos // where nginx reports its errors; l.Pos is the first line
	ctx      string
	server   int
	opts     listenOpts
	wildcard bool
}

// walker goes through the directives in the order nginx reads them,
// descending into every include where it stands.
type walker struct {
	cfg       *parsers.Config
	files     *files
	hosts     func(name string) []netip.Addr // /etc/hosts below the root
	configDir string
	nonRoot   bool
	resolve   func(d *crossplane.Directive, pos parsers.Pos) []unit

	seen       map[string]bool
	stack      []string
	inclusions int
	servers    int
	listens    []listen
	events     bool // an events block was seen at main level
	// worker_connections and where it is set; 0 until set (nginx's
	// default is 512).
	workerConns    int
	workerConnsPos parsers.Pos
	errs           map[parsers.Error]bool
	// ends is the line nginx reports errors of a directive spanning lines
	// at (see spanLines), for the files walked so far.
	ends    map[*crossplane.Directive]int
	spanned map[string]bool
}

// noteEnds learns where the directives of u that span lines end, once per
// file.
func (w *walker) noteEnds(u unit) {
	sl := w.files.fileSpans(u.name)
	if sl == nil || w.spanned[u.name] {
		return
	}
	if w.spanned == nil {
		w.spanned, w.ends = map[string]bool{}, map[*crossplane.Directive]int{}
	}
	w.spanned[u.name] = true
	directiveEnds(u.dirs, sl, w.ends)
}

// errPos is where nginx reports an error of d, a directive of file: the
// line of its ";" or "{". A listener keeps d's first line.
func (w *walker) errPos(d *crossplane.Directive, file string) parsers.Pos {
	if end, ok := w.ends[d]; ok {
		return parsers.Pos{File: file, Line: end}
	}
	return parsers.Pos{File: file, Line: d.Line}
}

func (w *walker) addError(pos parsers.Pos, msg string) {
	e := parsers.Error{Pos: pos, Msg: msg}
	if w.errs == nil {
		w.errs = map[parsers.Error]bool{}
	}
	if !w.errs[e] {
		w.errs[e] = true
		w.cfg.Errors = append(w.cfg.Errors, e)
	}
}

// addPayloadError adds an error crossplane found. Where crossplane's lexer
// ran out of file inside a directive or a block, nginx's tokenizer may
// have failed first, elsewhere and in other words: "premature end of
// file" at the line an unterminated quote opens is nginx's "unexpected
// end of file, expecting ";" or "}"" on the file's last line, or its "too
// long parameter" where the quoted string outgrows the buffer.
func (w *walker) addPayloadError(pe crossplane.PayloadError) {
	pos, msg := payloadErrorPos(pe), payloadErrorMsg(pe.Error)
	if sl := w.files.fileSpans(pos.File); sl != nil {
		pos.Line = payloadEnd(sl, pos.Line, msg)
	}
	if msg == crossplane.ErrPrematureLexEnd.Error() || msg == `unexpected end of file, expecting "}"` {
		if v := w.files.verdict(pe.File); v.msg != "" {
			pos, msg = parsers.Pos{File: pe.File, Line: v.line}, v.msg
		}
	}
	w.addError(pos, msg)
}

// pattern is an include argument as nginx resolves it: relative to the
// directory of the main config (nginx's conf prefix under -c).
func (w *walker) pattern(arg string) string {
	if filepath.IsAbs(arg) {
		return arg
	}
	return filepath.Join(w.configDir, arg)
}

// blockCtx is where a directive sits: all the walker needs is the
// outermost block and how deep it is, so a deep nest costs no copying.
type blockCtx struct {
	top   string // "http", "stream", "mail", "events", ... or "" at main level
	depth int
}

func (c blockCtx) enter(block string) blockCtx {
	if c.depth == 0 {
		c.top = block
	}
	c.depth++
	return c
}

// walk visits dirs of file inside the blocks ctx; srv is the server block
// whose own directives these are, nil elsewhere.
func (w *walker) walk(dirs crossplane.Directives, file string, ctx blockCtx, srv *server) {
	for _, d := range dirs {
		pos := parsers.Pos{File: file, Line: d.Line}
		switch {
		case d.IsMapBlockParameter || d.IsComment():
		case d.Directive == "include":
			w.include(d, w.errPos(d, file), ctx, srv)
		case d.Directive == "worker_connections" && ctx.depth == 1 && ctx.top == "events" && len(d.Args) == 1:
			if n, err := strconv.Atoi(d.Args[0]); err == nil {
				w.workerConns, w.workerConnsPos = n, w.errPos(d, file)
			}
		case d.Directive == "listen" && srv != nil && !d.IsBlock():
			srv.hasListen = true
			w.listen(d, pos, w.errPos(d, file), srv)
		case d.IsBlock():
			if d.Directive == "events" && ctx.depth == 0 {
				w.events = true
			}
			inner := ctx.enter(d.Directive)
			if d.Directive == "server" && ctx.depth == 1 && isServerContext(ctx.top) {
				w.servers++
				s := &server{id: w.servers, ctx: ctx.top, pos: pos, errPos: w.errPos(d, file)}
				w.walk(d.Block, file, inner, s)
				w.endServer(s)
				continue
			}
			w.walk(d.Block, file, inner, nil)
		}
	}
}

func isServerContext(name string) bool {
	return name == "http" || name == "stream" || name == "mail"
}

func (w *walker) include(d *crossplane.Directive, pos parsers.Pos, ctx blockCtx, srv *server) {
	units := w.resolve(d, pos)
	if len(d.Args) == 1 {
		for _, msg := range w.files.globErrs[w.pattern(d.Args[0])] {
			w.addError(pos, msg)
		}
	}
	for _, u := range units {
		if w.inclusions++; w.inclusions > maxInclusions {
			// lbdoctor's limit, not nginx's (LBD006).
			w.cfg.Unread = append(w.cfg.Unread, parsers.Error{Pos: pos, Msg: fmt.Sprintf("more than %d file inclusions, stopped reading", maxInclusions)})
			return
		}
		if w.onStack(u.name) {
			w.addError(pos, fmt.Sprintf(`include cycle: "%s" is already being read`, u.name))
			continue
		}
		if !w.seen[u.name] {
			w.seen[u.name] = true
			w.cfg.Files = append(w.cfg.Files, u.name)
		}
		w.stack = append(w.stack, u.name)
		w.noteEnds(u)
		w.walk(u.dirs, u.name, ctx, srv)
		w.stack = w.stack[:len(w.stack)-1]
	}
}

func (w *walker) onStack(name string) bool {
	for _, s := range w.stack {
		if s == name {
			return true
		}
	}
	return false
}

// listen adds the listeners of d at pos; its errors go to errPos.
func (w *walker) listen(d *crossplane.Directive, pos, errPos parsers.Pos, srv *server) {
	addrs, opts, msg := parseListen(d.Args, srv.ctx, w.hosts)
	if msg != "" {
		w.addError(errPos, msg)
		return
	}
	for _, a := range addrs {
		l := parsers.Listener{
			Service: "nginx",
			Pos:     pos,
			Context: srv.ctx,
			Raw:     d.Args[0],
			Proto:   a.proto,
			Addr:    a.addr,
			Host:    a.host,
			Path:    a.path,
			Port:    a.port,
		}
		if opts.udp && l.Proto == parsers.TCP {
			l.Proto = parsers.UDP
		}
		w.listens = append(w.listens, listen{l: l, errPos: errPos, ctx: srv.ctx, server: srv.id, opts: opts, wildcard: a.wildcard})
	}
}

// endServer adds what a server block without listen gets: in http the
// socket ngx_http_core_merge_srv_conf adds (*:80, or *:8000 when nginx
// does not run as root); in stream and mail nginx refuses to start.
func (w *walker) endServer(s *server) {
	if s.hasListen {
		return
	}
	if s.ctx != "http" {
		w.addError(s.errPos, `no "listen" is defined for server`)
		return
	}
	port := 80
	if w.nonRoot {
		port = 8000
	}
	w.listens = append(w.listens, listen{
		l: parsers.Listener{
			Service: "nginx",
			Pos:     s.pos,
			Context: "http",
			Raw:     fmt.Sprintf("*:%d (default)", port),
			Proto:   parsers.TCP,
			Addr:    netip.IPv4Unspecified(),
			Port:    port,
		},
		errPos:   s.errPos,
		ctx:      "http",
		server:   s.id,
		wildcard: true,
	})
}

// finish merges and groups the listens, then sorts the output.
func (w *walker) finish() {
	// nginx refuses to start without an events block at main level, a
	// check it makes once the whole file parsed; it names no line.
	if !w.events && len(w.cfg.Errors) == 0 {
		w.addError(parsers.Pos{File: w.cfg.Files[0]}, `no "events" section in configuration`)
	}
	for _, e := range group(w.listens) {
		w.addError(e.Pos, e.Msg)
	}
	w.checkWorkerConnections()
	// Sort positions, then copy each listener once: a Listener is a few
	// hundred bytes, too many to move around in a sort of 20,000.
	order := make([]int, len(w.listens))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := w.listens[order[i]].l.Pos, w.listens[order[j]].l.Pos
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	w.cfg.Listeners = make([]parsers.Listener, len(w.listens))
	for i, k := range order {
		w.cfg.Listeners[i] = w.listens[k].l
	}
	sort.SliceStable(w.cfg.Errors, func(i, j int) bool {
		a, b := w.cfg.Errors[i], w.cfg.Errors[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Msg < b.Msg
	})
}

// checkWorkerConnections reports what every nginx worker says at start
// when it has fewer connections than listening sockets, each of which
// takes one ("N worker_connections are not enough for M listening
// sockets"): the workers exit and nothing is served.
func (w *walker) checkWorkerConnections() {
	socks := map[string]bool{}
	for i := range w.listens {
		l := &w.listens[i].l
		if l.Via == "" {
			socks[fmt.Sprintf("%s %s %s %s %d", w.listens[i].ctx, l.Proto, l.Addr, l.Path, l.Port)] = true
		}
	}
	n, pos := w.workerConns, w.workerConnsPos
	if n == 0 {
		n, pos = 512, parsers.Pos{File: w.cfg.Files[0]}
	}
	if len(socks) > n {
		w.addError(pos, fmt.Sprintf("%d worker_connections are not enough for %d listening sockets", n, len(socks)))
	}
}

// hasMagic is the test nginx's ngx_conf_include makes to decide between
// glob() and a plain open().
func hasMagic(pattern string) bool { return strings.ContainsAny(pattern, "*?[") }
