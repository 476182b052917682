package corpus_test

import (
	"bufio"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/haproxy"
	"github.com/lbdoctor/lbdoctor/parsers/keepalived"
	"github.com/lbdoctor/lbdoctor/parsers/nginx"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenDir holds one listing per corpus configuration.
var goldenDir = filepath.Join("..", "..", "testdata", "corpus")

// daemons are the corpus folders, in the order the listings are made.
var daemons = []string{"nginx", "haproxy", "keepalived"}

// corpusDir is the shared real-world corpus, from LBDOCTOR_CORPUS or next
// to the repository. CI may not have it: the tests then skip, loudly, since
// a silent skip would read as "proven on real configs" when nothing ran.
func corpusDir(t testing.TB) string {
	dir := os.Getenv("LBDOCTOR_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		dir = abs
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.md")); err != nil {
		t.Skipf("*** NO REAL-WORLD CORPUS at %s (set LBDOCTOR_CORPUS to the folder holding SOURCES.md): "+
			"the parsers were NOT checked against configs written by others: %v", dir, err)
	}
	return dir
}

// entry is one configuration SOURCES.md lists: a single file, or the main
// file of a multi-file set (whose other files it reaches by include).
type entry struct {
	daemon   string   // "nginx", "haproxy" or "keepalived"
	file     string   // under corpus/<daemon>/, as SOURCES.md names it
	check    string   // the daemon's own verdict, as SOURCES.md words it
	accepted bool     // the daemon accepted it, maybe with stand-ins
	fragment bool     // nginx server{} fragment, checked inside Debian's nginx.conf
	standIns []string // what the daemon check had to provide: "user nginx", "cert ./x.pem", ...
}

func (e entry) name() string { return e.daemon + "/" + e.file }

// entries reads the rows of SOURCES.md, leaving out the files that are
// only included by a main file.
func entries(t testing.TB, corpus string) []entry {
	kaRuns := keepalivedRuns(t)
	f, err := os.Open(filepath.Join(corpus, "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []entry
	daemon := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			daemon = strings.Fields(line)[1]
			continue
		}
		if daemon == "" || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, " | ")
		check := strings.TrimSpace(strings.TrimSuffix(cells[len(cells)-1], "|"))
		if strings.Contains(check, "(included by") {
			continue
		}
		e := entry{daemon: daemon, file: strings.Trim(cells[0], "| `"), check: check}
		if strings.HasPrefix(check, "[tested as an http{} include") {
			e.fragment = true
			check = strings.TrimSpace(check[strings.Index(check, "]")+1:])
		}
		e.accepted = strings.HasPrefix(check, "yes")
		if e.accepted {
			e.standIns = standIns(check)
		}
		if runs, ok := kaRuns[e.file]; ok && daemon == "keepalived" {
			// SOURCES.md calls "yes" only what keepalived -t passes
			// with exit 0; keepalived runs more than that.
			e.accepted = runs
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, d := range daemons {
		n := 0
		for _, e := range out {
			if e.daemon == d {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("SOURCES.md lists no %s configuration", d)
		}
	}
	return out
}

// keepalivedRuns reads testdata/corpus/keepalived_check.tsv, keepalived's
// own verdict on each corpus file as TestKeepalivedCheck recorded it: the
// file name, and whether keepalived runs it.
func keepalivedRuns(t testing.TB) map[string]bool {
	data, err := os.ReadFile(kaCheckPath)
	if err != nil {
		t.Fatalf("%v (run TestKeepalivedCheck with -update as root)", err)
	}
	out := map[string]bool{}
	for _, ln := range strings.Split(string(data), "\n") {
		f := strings.Split(ln, "\t")
		if len(f) < 3 || strings.HasPrefix(ln, "#") {
			continue
		}
		out[f[0]] = f[2] == "runs"
	}
	return out
}

// kaCheckPath holds keepalived's own verdict on every corpus file, one line
// each, as TestKeepalivedCheck found it.
var kaCheckPath = filepath.Join(goldenDir, "keepalived_check.tsv")

// standIns picks the list out of "yes with stand-ins (user nginx, cert
// /x.pem); as-is: ...".
func standIns(check string) []string {
	i := strings.Index(check, "stand-in")
	if i < 0 || !strings.HasPrefix(check, "yes with") {
		return nil
	}
	rest := check[i:]
	open, end := strings.Index(rest, "("), strings.Index(rest, ")")
	if open < 0 || end < open {
		return nil
	}
	var out []string
	for _, s := range strings.Split(rest[open+1:end], ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// staged is an entry laid out in a temporary tree the way its daemon check
// read it, for the parser and the daemon alike.
type staged struct {
	dir  string       // the temporary tree
	root parsers.Root // the parser's root
	path string       // the main config, as the daemon names it
	// etcNginx, when set, is the folder the daemon must find at /etc/nginx.
	etcNginx string
	cwd      string // the daemon's working directory
	main     string // for fragments and single nginx files: where the corpus file went
	// setDir is where the corpus set (or single file's folder) sits as the
	// service names files: file names below it are given relative to it.
	setDir string
}

// fileName turns a file name as the service sees it into the name of the
// corpus file, relative to its set. Files outside the corpus (the stock
// Debian nginx.conf a fragment is included from) keep their name.
func (s staged) fileName(e entry, name string) string {
	switch {
	case s.main != "" && name == s.main:
		return e.file
	case s.setDir == "/":
		return strings.TrimPrefix(name, "/")
	case s.setDir != "" && strings.HasPrefix(name, s.setDir+"/"):
		return strings.TrimPrefix(name, s.setDir+"/")
	}
	return name
}

// clean takes the temporary folder and the set's folder out of a message.
func (s staged) clean(msg string) string {
	if s.setDir != "" && s.setDir != "/" {
		msg = strings.ReplaceAll(msg, s.setDir+"/", "")
	}
	return strings.ReplaceAll(msg, s.dir+"/", "")
}

// stage copies an entry into a fresh temporary tree the way SOURCES.md's
// daemon check laid it out: nginx fragments go to /etc/nginx/sites-enabled/
// of Debian's stock tree and single nginx files to /etc/nginx/lbcheck.conf
// beside it, sets holding etc/nginx become /etc/nginx, other nginx sets sit
// at /corpus/<set> of a Debian root, and HAProxy and keepalived files are
// read in place of the copy.
func stage(t testing.TB, corpus string, e entry) staged {
	dir := t.TempDir()
	src := filepath.Join(corpus, e.daemon, e.file)
	s := staged{dir: dir, cwd: dir}
	set, rest, isSet := strings.Cut(e.file, "/")
	if e.daemon != "nginx" {
		if isSet {
			copyTree(t, filepath.Join(corpus, e.daemon, set), dir, "")
			s.path = filepath.Join(dir, rest)
		} else {
			s.path = filepath.Join(dir, e.file)
			copyFile(t, src, s.path)
		}
		s.setDir, s.cwd = dir, filepath.Dir(s.path)
		return s
	}
	// nginx reads more than its own files (mime.types, conf.d/*.conf of
	// /etc/nginx): every entry gets a root, so the host's own /etc/nginx
	// never leaks into a listing.
	s.root = parsers.Root(dir)
	s.etcNginx = filepath.Join(dir, "etc", "nginx")
	if strings.HasPrefix(rest, "etc/nginx/") {
		copyTree(t, filepath.Join(corpus, "nginx", set), dir, "")
		s.path, s.setDir = "/"+rest, "/"
		return s
	}
	copyTree(t, filepath.Join(corpus, "nginx", "debian-nginx__etc_nginx"), dir, "etc/nginx/sites-enabled/")
	switch {
	case isSet:
		s.setDir = "/corpus/" + set
		s.path = s.setDir + "/" + rest
		copyTree(t, filepath.Join(corpus, "nginx", set), filepath.Join(dir, "corpus", set), "")
		return s
	case e.fragment:
		s.main, s.path = "/etc/nginx/sites-enabled/"+e.file, "/etc/nginx/nginx.conf"
	default:
		s.main, s.path = "/etc/nginx/lbcheck.conf", "/etc/nginx/lbcheck.conf"
	}
	copyFile(t, src, filepath.Join(dir, s.main))
	return s
}

// copyTree copies src into dst, leaving out the contents of the folder
// skip (relative, ending in "/"). The corpus keeps symlinks as small files
// holding the target, as git does where links cannot be made; copyTree
// makes them links again, since the daemon follows them on a real host.
func copyTree(t testing.TB, src, dst, skip string) {
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if skip != "" && strings.HasPrefix(rel, skip) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if target := strings.TrimSpace(string(data)); len(data) < 256 && strings.HasPrefix(target, ".") &&
			!strings.ContainsAny(target, " \t\n;{#") {
			if fi, err := os.Stat(filepath.Join(filepath.Dir(p), target)); err == nil && fi.Mode().IsRegular() {
				return os.Symlink(target, filepath.Join(dst, rel))
			}
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, src, dst string) {
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// parse reads a staged entry with lbdoctor's parser for its daemon.
func parse(e entry, s staged) (*parsers.Config, error) {
	switch e.daemon {
	case "nginx":
		return nginx.Parse(s.path, nginx.Options{Root: s.root})
	case "haproxy":
		return haproxy.Parse([]string{s.path}, haproxy.Options{Root: s.root})
	case "keepalived":
		return keepalived.Parse(s.path, keepalived.Options{Root: s.root})
	}
	return nil, fmt.Errorf("no parser for %s", e.daemon)
}

// listing is the golden text of one parse: a line per listener, VIP and
// error, in the parser's order.
func listing(e entry, s staged, cfg *parsers.Config) string {
	var b strings.Builder
	vips := 0
	for _, in := range cfg.VRRP {
		vips += len(in.VIPs)
	}
	fmt.Fprintf(&b, "# lbdoctor's reading of corpus/%s (%s check: %s)\n", e.name(), e.daemon, summary(e))
	fmt.Fprintf(&b, "# %d listeners, %d VIPs, %d errors; rewrite with: go test ./parsers/corpus -update\n",
		len(cfg.Listeners), vips, len(cfg.Errors))
	pos := func(p parsers.Pos) string {
		return s.fileName(e, p.File) + ":" + strconv.Itoa(p.Line)
	}
	for _, l := range cfg.Listeners {
		fmt.Fprintf(&b, "%s  %s  %s", pos(l.Pos), l.Proto, socket(l))
		if l.Via != "" {
			fmt.Fprintf(&b, "  via %s", l.Via)
		}
		if l.V6Only != parsers.V6OnlyDefault {
			fmt.Fprintf(&b, "  v6only=%s", l.V6Only)
		}
		if l.Transparent {
			b.WriteString("  transparent")
		}
		if l.Interface != "" {
			fmt.Fprintf(&b, "  dev %s", l.Interface)
		}
		if l.Namespace != "" {
			fmt.Fprintf(&b, "  netns %s", l.Namespace)
		}
		if l.Uncheckable != "" {
			fmt.Fprintf(&b, "  uncheckable (%s)", s.clean(l.Uncheckable))
		}
		if l.Conditional != "" {
			fmt.Fprintf(&b, "  if (%s)", s.clean(l.Conditional))
		}
		b.WriteString("\n")
	}
	for _, in := range cfg.VRRP {
		for _, v := range in.VIPs {
			fmt.Fprintf(&b, "%s  vip  %s dev %s  instance %s", pos(v.Pos), v.Prefix, v.Dev, in.Name)
			if v.Excluded {
				b.WriteString("  excluded")
			}
			b.WriteString("\n")
		}
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(&b, "%s  warning  %s\n", pos(w.Pos), s.clean(w.Msg))
	}
	for _, w := range cfg.DaemonWarnings {
		fmt.Fprintf(&b, "%s  daemon-warning  %s\n", pos(w.Pos), s.clean(w.Msg))
	}
	for _, u := range cfg.Unread {
		fmt.Fprintf(&b, "%s  unread  %s\n", pos(u.Pos), s.clean(u.Msg))
	}
	for _, er := range cfg.Errors {
		fmt.Fprintf(&b, "%s  error  %s\n", pos(er.Pos), s.clean(er.Msg))
	}
	return b.String()
}

// socket is a listener's address as the golden lines write it.
func socket(l parsers.Listener) string {
	switch {
	case l.Proto == parsers.Unix && l.Path != "":
		return l.Path
	case l.Proto == parsers.Unix || l.Address() == "":
		return l.Raw
	}
	return parsers.JoinHostPort(l.Address(), l.Port)
}

// summary is the daemon check verdict, short.
func summary(e entry) string {
	switch {
	case e.accepted && len(e.standIns) > 0:
		return "accepted with stand-ins"
	case e.accepted:
		return "accepted"
	}
	return "rejected"
}

// flawedVerdicts are configurations SOURCES.md calls accepted where the
// daemon's check never read the lines lbdoctor objects to, with the reason;
// lbdoctor's errors there are not false positives.
// None today: configs_n.conf's "no-track" (line 173), once an error here,
// is a warning keepalived prints and runs past (LBD005).
var flawedVerdicts = map[string]string{}

func goldenPath(e entry) string {
	return filepath.Join(goldenDir, e.daemon, e.file+".txt")
}

// TestGoldens parses every corpus configuration and holds the listing to
// its golden file; a configuration the daemon accepts must parse with no
// error, since any error there is a false positive.
func TestGoldens(t *testing.T) {
	corpus := corpusDir(t)
	all := entries(t, corpus)
	type tally struct{ files, accepted, listeners, vias, vips, errs int }
	counts := map[string]*tally{}
	want := map[string]bool{}
	for _, e := range all {
		want[goldenPath(e)] = true
		t.Run(e.name(), func(t *testing.T) {
			s := stage(t, corpus, e)
			cfg, err := parse(e, s)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			c := counts[e.daemon]
			if c == nil {
				c = &tally{}
				counts[e.daemon] = c
			}
			c.files++
			c.listeners += len(cfg.Listeners)
			for _, l := range cfg.Listeners {
				if l.Via != "" {
					c.vias++
				}
			}
			for _, in := range cfg.VRRP {
				c.vips += len(in.VIPs)
			}
			c.errs += len(cfg.Errors)
			if e.accepted {
				c.accepted++
			}
			if why, ok := flawedVerdicts[e.name()]; ok && len(cfg.Errors) > 0 {
				t.Logf("%s accepts this file, lbdoctor reports %d errors: expected, %s", e.daemon, len(cfg.Errors), why)
			} else if e.accepted {
				for _, er := range cfg.Errors {
					t.Errorf("%s accepts this file, lbdoctor reports: %s: %s", e.daemon, s.fileName(e, er.Pos.File), er.Msg)
				}
			}
			got := listing(e, s, cfg)
			path := goldenPath(e)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./parsers/corpus -update)", err)
			}
			if string(data) != got {
				t.Errorf("listing differs from %s (review the change, then -update):\n%s", path, diff(string(data), got))
			}
		})
	}
	for _, d := range daemons {
		if c := counts[d]; c != nil {
			t.Logf("%-10s %3d configs (%d accepted by the daemon): %4d listeners (%d served via another socket), %3d VIPs, %3d errors",
				d, c.files, c.accepted, c.listeners, c.vias, c.vips, c.errs)
		}
	}
	// A golden whose configuration left the corpus would otherwise rot
	// unnoticed.
	_ = filepath.WalkDir(goldenDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".txt") && !want[p] {
			if *update {
				return os.Remove(p)
			}
			t.Errorf("%s: no such configuration in the corpus (remove it, or run -update)", p)
		}
		return nil
	})
}

// diff lists the lines only one side has, enough to see what changed.
func diff(want, got string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	w, g := count(want), count(got)
	var out []string
	for l, n := range w {
		if g[l] < n {
			out = append(out, "- "+l)
		}
	}
	for l, n := range g {
		if w[l] < n {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
