package keepalived

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbdoctor/lbdoctor/parsers"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdataDir = "../../testdata/parsers/keepalived"

// golden is the JSON shape of a parse result in the golden files. Fields
// beyond the VRRP instances are left out when empty, so that each golden
// file shows what its config is about.
type golden struct {
	Files           []string      `json:"files"`
	NetNamespace    *goldenNamed  `json:"net_namespace,omitempty"`
	VRRP            []goldenVRRP  `json:"vrrp"`
	StaticAddresses []goldenVIP   `json:"static_addresses,omitempty"`
	SyncGroups      []goldenGroup `json:"sync_groups,omitempty"`
	VirtualServers  []goldenVS    `json:"virtual_servers,omitempty"`
	VSGroups        []goldenVS    `json:"virtual_server_groups,omitempty"`
	Errors          []goldenError `json:"errors"`
	DaemonWarnings  []goldenError `json:"daemon_warnings,omitempty"`
	Unread          []goldenError `json:"unread,omitempty"`
}

type goldenNamed struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Name string `json:"name"`
}

type goldenVRRP struct {
	File         string       `json:"file"`
	Line         int          `json:"line"`
	Name         string       `json:"name"`
	State        string       `json:"state,omitempty"`
	Interface    string       `json:"interface,omitempty"`
	Priority     int          `json:"priority,omitempty"`
	VRID         int          `json:"virtual_router_id,omitempty"`
	UnicastSrcIP *goldenAddr  `json:"unicast_src_ip,omitempty"`
	McastSrcIP   *goldenAddr  `json:"mcast_src_ip,omitempty"`
	UnicastPeers []goldenAddr `json:"unicast_peers,omitempty"`
	Conditional  string       `json:"conditional,omitempty"`
	VIPs         []goldenVIP  `json:"vips"`
}

type goldenVIP struct {
	File        string `json:"file"`
	Line        int    `json:"line"`
	Prefix      string `json:"prefix"`
	Dev         string `json:"dev,omitempty"`
	Label       string `json:"label,omitempty"`
	Scope       string `json:"scope,omitempty"`
	Broadcast   string `json:"brd,omitempty"`
	Excluded    bool   `json:"excluded,omitempty"`
	NoDAD       bool   `json:"nodad,omitempty"`
	NoTrack     bool   `json:"no_track,omitempty"`
	Conditional string `json:"conditional,omitempty"`
}

type goldenAddr struct {
	File        string `json:"file"`
	Line        int    `json:"line"`
	Addr        string `json:"addr"`
	Raw         string `json:"raw,omitempty"` // only when it differs from addr
	Conditional string `json:"conditional,omitempty"`
}

type goldenGroup struct {
	File        string   `json:"file"`
	Line        int      `json:"line"`
	Name        string   `json:"name"`
	Instances   []string `json:"instances"`
	Conditional string   `json:"conditional,omitempty"`
}

type goldenVS struct {
	File        string `json:"file"`
	Line        int    `json:"line"`
	Raw         string `json:"raw"`
	Addr        string `json:"addr,omitempty"`
	Last        string `json:"last,omitempty"` // only for ranges
	Port        int    `json:"port,omitempty"`
	Proto       string `json:"proto,omitempty"`
	FWMark      uint32 `json:"fwmark,omitempty"`
	Group       string `json:"group,omitempty"`
	RealServers int    `json:"real_servers,omitempty"`
	Conditional string `json:"conditional,omitempty"`
}

type goldenError struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Msg  string `json:"msg"`
}

func toGoldenVIP(a parsers.VIP) goldenVIP {
	return goldenVIP{File: a.Pos.File, Line: a.Pos.Line, Prefix: a.Prefix.String(), Dev: a.Dev, Label: a.Label, Scope: a.Scope,
		Broadcast: a.Broadcast, Excluded: a.Excluded, NoDAD: a.NoDAD, NoTrack: a.NoTrack, Conditional: a.Conditional}
}

func toGoldenAddr(a parsers.VRRPAddr) *goldenAddr {
	if !a.Addr.IsValid() {
		return nil
	}
	g := &goldenAddr{File: a.Pos.File, Line: a.Pos.Line, Addr: a.Addr.String(), Conditional: a.Conditional}
	if a.Raw != g.Addr {
		g.Raw = a.Raw
	}
	return g
}

func toGoldenVS(v parsers.VirtualServer) goldenVS {
	g := goldenVS{File: v.Pos.File, Line: v.Pos.Line, Raw: v.Raw, Port: v.Port, Proto: string(v.Proto), FWMark: v.FWMark,
		Group: v.Group, RealServers: v.RealServers, Conditional: v.Conditional}
	if v.Addr.IsValid() {
		g.Addr = v.Addr.String()
	}
	if v.Last != v.Addr {
		g.Last = v.Last.String()
	}
	return g
}

func toGolden(cfg *parsers.Config) golden {
	g := golden{Files: cfg.Files, VRRP: []goldenVRRP{}, Errors: []goldenError{}}
	if cfg.NetNamespace != "" {
		g.NetNamespace = &goldenNamed{File: cfg.NetNamespacePos.File, Line: cfg.NetNamespacePos.Line, Name: cfg.NetNamespace}
	}
	for _, v := range cfg.VRRP {
		gv := goldenVRRP{File: v.Pos.File, Line: v.Pos.Line, Name: v.Name, State: v.State, Interface: v.Interface, Priority: v.Priority,
			VRID: v.VirtualRouterID, UnicastSrcIP: toGoldenAddr(v.UnicastSrcIP), McastSrcIP: toGoldenAddr(v.McastSrcIP),
			Conditional: v.Conditional, VIPs: []goldenVIP{}}
		for _, p := range v.UnicastPeers {
			gv.UnicastPeers = append(gv.UnicastPeers, *toGoldenAddr(p))
		}
		for _, a := range v.VIPs {
			gv.VIPs = append(gv.VIPs, toGoldenVIP(a))
		}
		g.VRRP = append(g.VRRP, gv)
	}
	for _, a := range cfg.StaticAddresses {
		g.StaticAddresses = append(g.StaticAddresses, toGoldenVIP(a))
	}
	for _, s := range cfg.SyncGroups {
		g.SyncGroups = append(g.SyncGroups, goldenGroup{File: s.Pos.File, Line: s.Pos.Line, Name: s.Name, Instances: s.Instances, Conditional: s.Conditional})
	}
	for _, v := range cfg.VirtualServers {
		g.VirtualServers = append(g.VirtualServers, toGoldenVS(v))
	}
	for _, v := range cfg.VirtualServerGroups {
		g.VSGroups = append(g.VSGroups, toGoldenVS(v))
	}
	for _, e := range cfg.Errors {
		g.Errors = append(g.Errors, goldenError{File: e.Pos.File, Line: e.Pos.Line, Msg: e.Msg})
	}
	for _, e := range cfg.DaemonWarnings {
		g.DaemonWarnings = append(g.DaemonWarnings, goldenError{File: e.Pos.File, Line: e.Pos.Line, Msg: e.Msg})
	}
	for _, e := range cfg.Unread {
		g.Unread = append(g.Unread, goldenError{File: e.Pos.File, Line: e.Pos.Line, Msg: e.Msg})
	}
	return g
}

// configIDDirective, as the first line of a golden test config, sets
// Options.ConfigID for it.
const configIDDirective = "# config-id: "

// goldenOptions are the parse options for the golden test config conf.
func goldenOptions(t *testing.T, root, conf string) Options {
	opts := Options{Root: parsers.Root(root)}
	first, _, _ := strings.Cut(string(mustRead(t, conf)), "\n")
	if id, ok := strings.CutPrefix(first, configIDDirective); ok {
		opts.ConfigID = strings.TrimSpace(id)
	}
	return opts
}

// TestGolden parses every testdata/parsers/keepalived/*.conf as "/NAME"
// below a root at that directory, so that absolute includes go through the
// root and the golden paths do not depend on the checkout.
func TestGolden(t *testing.T) {
	root, err := filepath.Abs(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	confs, err := filepath.Glob(filepath.Join(root, "*.conf"))
	if err != nil || len(confs) == 0 {
		t.Fatalf("no test configs in %s (%v)", root, err)
	}
	for _, conf := range confs {
		name := filepath.Base(conf)
		t.Run(name, func(t *testing.T) {
			cfg, err := Parse("/"+name, goldenOptions(t, root, conf))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(toGolden(cfg), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			goldenPath := strings.TrimSuffix(conf, ".conf") + ".json"
			if *update {
				if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the parse result (run go test -update after checking):\n%s", goldenPath, got)
			}
		})
	}
}

func TestParseMissingFile(t *testing.T) {
	if _, err := Parse(filepath.Join(t.TempDir(), "nope.conf"), Options{}); err == nil {
		t.Fatal("Parse of a missing main file returned no error")
	}
	if _, err := Parse(t.TempDir(), Options{}); err == nil {
		t.Fatal("Parse of a directory returned no error")
	}
}

// TestParseBytes checks single facts that the golden files show only among
// many others.
func TestParseBytes(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		id     string   // Options.ConfigID
		vips   []string // "prefix dev file:line", then " if CONDITION" when conditional
		errors []string // "error: ", "warning: " or "unread: " and a substring, in that order
	}{
		{
			name: "config id decides @id and @^id lines",
			conf: "vrrp_instance V {\n@lb1 interface a\n@^lb1 interface b\nvirtual_ipaddress {\n@lb1 10.0.0.1\n@^lb1 10.0.0.2\n@lb10 10.0.0.3\n}\n}\n",
			id:   "lb1",
			vips: []string{"10.0.0.1/32 a t.conf:5"},
		},
		{
			name: "undecided conditions mark what depends on them, definitions included",
			conf: "@lb1 $VIP=10.0.0.1\nvrrp_instance V {\ninterface a\nvirtual_ipaddress {\n$VIP\n@^lb2 10.0.0.2\n}\n}\n",
			vips: []string{"10.0.0.1/32 a t.conf:5 if @lb1 at t.conf:1", "10.0.0.2/32 a t.conf:6 if @^lb2 at t.conf:6"},
		},
		{
			name: "${_INSTANCE} is the config id",
			conf: "vrrp_instance V {\ninterface ${_INSTANCE}\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n",
			id:   "lb7",
			vips: []string{"10.0.0.1/32 lb7 t.conf:4"},
		},
		{
			name: "escaped comment characters and a bang comment",
			conf: "vrrp_instance V {\ninterface a\\!b ! c\nvirtual_ipaddress {\n10.0.0.1 ! 10.0.0.2\n}\n}\n",
			vips: []string{"10.0.0.1/32 a!b t.conf:4"},
		},
		{
			name: "what follows a brace is a line of its own, definitions too",
			conf: "vrrp_instance V { $IF=e9\ninterface $IF\nvirtual_ipaddress { 10.0.0.1 -nodad\n}\n}\n",
			vips: []string{"10.0.0.1/32 e9 t.conf:3"},
		},
		{
			name: "one-line blocks keep their line",
			conf: "\n\nvrrp_instance V { interface e0\nvirtual_ipaddress { 10.0.0.1 10.0.0.2/8 }\n}\n",
			// The address line holds two words; keepalived reads the
			// second as an unknown option of the first.
			vips:   []string{"10.0.0.1/32 e0 t.conf:4"},
			errors: []string{"warning: t.conf:4: Unknown configuration entry '10.0.0.2/8' for ip address"},
		},
		{
			name: "interface after the addresses",
			conf: "vrrp_instance V {\n virtual_ipaddress {\n  10.0.0.1\n  10.0.0.2 dev x\n }\n interface late\n}\n",
			vips: []string{"10.0.0.1/32 late t.conf:3", "10.0.0.2/32 x t.conf:4"},
		},
		{
			name: "brace glued to words and on the next line",
			conf: "vrrp_instance V{\ninterface e\nvirtual_ipaddress\n{\n10.0.0.1}\n}",
			vips: []string{"10.0.0.1/32 e t.conf:5"},
		},
		{
			name: "comments and quotes",
			conf: "vrrp_instance V { # c {\n interface \"e 1\" ! c }\n virtual_ipaddress {\n  10.0.0.1 label \"a#b\" # 10.0.0.2\n }\n}\n",
			vips: []string{"10.0.0.1/32 e 1 t.conf:4"},
		},
		{
			name:   "bad address reported at its line and skipped",
			conf:   "vrrp_instance V {\n virtual_ipaddress {\n  10.0.0\n  10.0.0.1\n }\n}\n",
			vips:   []string{"10.0.0.1/32  t.conf:4"},
			errors: []string{"warning: t.conf:3: VRRP parsed invalid IP 10.0.0"},
		},
		{
			name:   "stray closing brace",
			conf:   "}\nvrrp_instance V {\n}\n",
			errors: []string{"warning: t.conf:1: Extra '}' found"},
		},
		{
			name:   "unclosed block",
			conf:   "vrrp_instance V {\n virtual_ipaddress {\n  10.0.0.1\n}\n",
			vips:   []string{"10.0.0.1/32  t.conf:3"},
			errors: []string{"warning: t.conf:1: vrrp_instance block opened here is never closed"},
		},
		{
			name:   "unterminated quote",
			conf:   "global_defs {\n router_id \"x\n}\n",
			errors: []string{"warning: t.conf:2: Unterminated quote 'router_id \"x'"},
		},
		{
			name: "multiline definition lines take the line that uses it",
			conf: "$V= \\\n10.0.0.1 \\\n10.0.0.2\n\nvrrp_instance V {\n virtual_ipaddress {\n  $V\n }\n}\n",
			vips: []string{"10.0.0.1/32  t.conf:7", "10.0.0.2/32  t.conf:7"},
		},
		{
			name:   "sequence too long",
			conf:   "vrrp_instance V {\n virtual_ipaddress {\n  ~SEQ(A,1,1000000) 10.0.0.1\n }\n}\n",
			errors: []string{"unread: t.conf:3: ~SEQ \"~SEQ(A,1,1000000) 10.0.0.1\" not expanded: it expands to 1000000 lines, more than lbdoctor expands"},
		},
		{
			name:   "self-referencing definition",
			conf:   "$A=${A}x\nvrrp_instance V {\n interface ${A}\n}\n",
			errors: []string{"unread: t.conf:3: parameter substitution does not terminate"},
		},
		{
			name: "self-referencing multiline definition",
			conf: "$A= \\\nx \\\n$A\n\n$A\n",
			// Each expanded "x" line is a word keepalived does not know at top level.
			errors: append(repeat("warning: t.conf:5: Unknown keyword 'x'", 33), "unread: t.conf:5: definitions or sequences nested more than"),
		},
		{
			name:   "nested sequences are bounded",
			conf:   "~SEQ(A,1,99999) ~SEQ(B,1,99999) ~SEQ(C,1,99999) $X=1\n",
			errors: []string{"unread: t.conf:1: configuration expands to more than"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan *parsers.Config)
			go func() {
				done <- ParseBytes("t.conf", []byte(tt.conf), Options{Root: parsers.Root(t.TempDir()), ConfigID: tt.id})
			}()
			var cfg *parsers.Config
			select {
			case cfg = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("parse did not finish")
			}
			var vips []string
			for _, v := range cfg.VRRP {
				for _, a := range v.VIPs {
					vip := a.Prefix.String() + " " + a.Dev + " " + a.Pos.String()
					if a.Conditional != "" {
						vip += " if " + a.Conditional
					}
					vips = append(vips, vip)
				}
			}
			if strings.Join(vips, "|") != strings.Join(tt.vips, "|") {
				t.Errorf("VIPs:\n got %q\nwant %q", vips, tt.vips)
			}
			var got []string
			for _, l := range []struct {
				kind string
				list []parsers.Error
			}{{"error", cfg.Errors}, {"warning", cfg.DaemonWarnings}, {"unread", cfg.Unread}} {
				for _, e := range l.list {
					got = append(got, l.kind+": "+e.Error())
				}
			}
			if len(got) != len(tt.errors) {
				t.Fatalf("problems: got %q, want %d matching %q", got, len(tt.errors), tt.errors)
			}
			for i, e := range got {
				if !strings.Contains(e, tt.errors[i]) {
					t.Errorf("problem %d: got %q, want it to contain %q", i, e, tt.errors[i])
				}
			}
		})
	}
}

// corpusDir is where the shared real-world configs live, if anywhere.
func corpusDir(t *testing.T) string {
	dir := os.Getenv("LBDOCTOR_CORPUS")
	if dir == "" {
		dir = "../../../shared/corpus"
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.md")); err != nil {
		t.Skipf("no corpus at %s (set LBDOCTOR_CORPUS): %v", dir, err)
	}
	return dir
}

// TestCorpus parses every keepalived config of the shared corpus: the ones
// keepalived accepts must parse without errors, the others must merely not
// break the parser. Files that are only included by others are parsed
// through the file that includes them.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	f, err := os.Open(filepath.Join(dir, "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var accepted, rejected, files, vrrp, vips, netns int
	hostID, _ := os.Hostname()
	hostID, _, _ = strings.Cut(hostID, ".")
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := sc.Text()
		if strings.HasPrefix(text, "## ") {
			section = text
			continue
		}
		if !strings.HasPrefix(section, "## keepalived") || !strings.HasPrefix(text, "| `") {
			continue
		}
		cols := strings.Split(text, "|")
		file := strings.Trim(strings.TrimSpace(cols[1]), "`")
		check := strings.TrimSpace(cols[len(cols)-2])
		if strings.Contains(check, "(included by") {
			continue
		}
		path := filepath.Join(dir, "keepalived", file)
		cfg, err := Parse(path, Options{})
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		files += len(cfg.Files)
		if strings.Contains(file, "/") && len(cfg.Files) < 2 {
			t.Errorf("%s: the includes of this multi-file set were not read: %v", file, cfg.Files)
		}
		vrrp += len(cfg.VRRP)
		for _, v := range cfg.VRRP {
			vips += len(v.VIPs)
		}
		if !strings.HasPrefix(check, "yes") {
			rejected++
			t.Logf("rejected by keepalived (%s), %d errors here: %s %v", check, len(cfg.Errors), file, cfg.Errors)
			continue
		}
		accepted++
		// The keepalived that accepted the file decided its conditional
		// lines with its own config id, the host name; so does this parse.
		cfg, err = Parse(path, Options{ConfigID: hostID})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.NetNamespace != "" {
			// keepalived --config-test switches to the namespace and
			// checks nothing after the global settings, so its verdict
			// says nothing about the rest.
			netns++
			t.Logf("%s sets net_namespace %s: keepalived checked only its global settings, %d errors here: %v", file, cfg.NetNamespace, len(cfg.Errors), cfg.Errors)
			continue
		}
		for _, e := range cfg.Errors {
			t.Errorf("%s is accepted by keepalived, but: %v", file, e)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if accepted == 0 {
		t.Fatal("no accepted keepalived configs found in SOURCES.md")
	}
	t.Logf("corpus: %d accepted configs (%d of them in a net_namespace, so not checked by keepalived), %d rejected ones, %d files read, %d vrrp instances, %d VIPs", accepted, netns, rejected, files, vrrp, vips)
}

// FuzzParse feeds arbitrary bytes to the parser, seeded with the golden
// test configs, and checks that it returns (no panic, no hang) with every
// position filled in.
func FuzzParse(f *testing.F) {
	root, err := filepath.Abs(testdataDir)
	if err != nil {
		f.Fatal(err)
	}
	seeds, _ := filepath.Glob(filepath.Join(root, "*.conf"))
	more, _ := filepath.Glob(filepath.Join(root, "*", "*"))
	for _, s := range append(seeds, more...) {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := ParseBytes("/fuzz.conf", data, Options{Root: parsers.Root(root)})
		if cfg.Service != Service || len(cfg.Files) == 0 || cfg.Files[0] != "/fuzz.conf" {
			t.Fatalf("bad config header: %+v", cfg)
		}
		for _, e := range append(append(append([]parsers.Error(nil), cfg.Errors...), cfg.DaemonWarnings...), cfg.Unread...) {
			if e.Pos.File == "" || e.Pos.Line < 1 || e.Msg == "" {
				t.Fatalf("error without position or message: %+v", e)
			}
		}
		for _, v := range cfg.VRRP {
			if v.Pos.File == "" || v.Pos.Line < 1 || v.Name == "" {
				t.Fatalf("instance without position or name: %+v", v)
			}
			for _, a := range v.VIPs {
				if a.Pos.File == "" || a.Pos.Line < 1 || !a.Prefix.IsValid() {
					t.Fatalf("VIP without position or prefix: %+v", a)
				}
			}
			for _, a := range append(v.UnicastPeers, v.UnicastSrcIP, v.McastSrcIP) {
				if a.Addr.IsValid() && (a.Pos.Line < 1 || a.Raw == "") {
					t.Fatalf("VRRP address without position or text: %+v", a)
				}
			}
		}
		for _, a := range cfg.StaticAddresses {
			if a.Pos.Line < 1 || !a.Prefix.IsValid() {
				t.Fatalf("static address without position or prefix: %+v", a)
			}
		}
		for _, g := range cfg.SyncGroups {
			if g.Pos.Line < 1 || g.Name == "" {
				t.Fatalf("sync group without position or name: %+v", g)
			}
		}
		for _, vs := range append(cfg.VirtualServers, cfg.VirtualServerGroups...) {
			if vs.Pos.Line < 1 || vs.Raw == "" || vs.Addr.IsValid() != vs.Last.IsValid() || vs.Last.Less(vs.Addr) || vs.Port < 0 || vs.Port > 65535 {
				t.Fatalf("bad virtual server: %+v", vs)
			}
		}
		if cfg.NetNamespace != "" && cfg.NetNamespacePos.Line < 1 {
			t.Fatalf("net_namespace without position: %+v", cfg.NetNamespacePos)
		}
	})
}

// TestKeepalivedAgrees runs the real keepalived --config-test on the
// single-file test configs and checks that every line lbdoctor reports an
// error on is a line keepalived complains about too, and that every address
// keepalived calls invalid is one lbdoctor reports. keepalived runs in a
// network namespace of its own (unshare -n), so it sees no host interface.
func TestKeepalivedAgrees(t *testing.T) {
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("keepalived is not installed")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and unshare to run keepalived in a network namespace of its own")
	}
	root, err := filepath.Abs(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	lineRe := regexp.MustCompile(`\((?:[^():]*: )?Line (\d+)\) (.*)`)
	// include.conf reads /abs.d through the root and cycle.conf makes
	// keepalived include itself until it runs out of file descriptors.
	// netns.conf stands alone: with a net_namespace keepalived checks
	// nothing but the global settings.
	for _, name := range []string{"basic.conf", "errors.conf", "params.conf", "unclosed.conf",
		"addresses.conf", "addr_errors.conf", "netns.conf", "lexical.conf", "include_variants.conf", "conditional-lb1.conf", "conditional-lb2.conf"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(root, name)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			opts := goldenOptions(t, root, path)
			args := []string{"-n", bin, "--config-test", "-f", path, "-n", "-l", "-D"}
			if opts.ConfigID != "" {
				args = append(args, "-i", opts.ConfigID)
			}
			cmd := exec.CommandContext(ctx, unshare, args...)
			cmd.Dir = root
			out, _ := cmd.CombinedOutput() // it exits non-zero on any complaint
			if ctx.Err() != nil {
				t.Fatalf("keepalived --config-test did not finish: %v", ctx.Err())
			}
			complained := map[int]bool{}
			var invalid []int
			for _, m := range lineRe.FindAllStringSubmatch(string(out), -1) {
				n, _ := strconv.Atoi(m[1])
				complained[n] = true
				if strings.HasPrefix(m[2], "VRRP parsed invalid IP") {
					invalid = append(invalid, n)
				}
			}
			cfg := ParseBytes(path, mustRead(t, path), Options{ConfigID: opts.ConfigID})
			ours := map[int]bool{}
			for _, e := range cfg.Unread {
				// One of lbdoctor's own limits, not keepalived's.
				ours[e.Pos.Line] = true
			}
			for _, e := range append(append([]parsers.Error(nil), cfg.Errors...), cfg.DaemonWarnings...) {
				ours[e.Pos.Line] = true
				switch {
				case strings.Contains(e.Msg, "never closed"):
					if !strings.Contains(string(out), "missing '}'") {
						t.Errorf("lbdoctor: %v; keepalived does not report a missing '}'", e)
					}
				case !complained[e.Pos.Line]:
					t.Errorf("lbdoctor: %v; keepalived says nothing about line %d", e, e.Pos.Line)
				}
			}
			for _, n := range invalid {
				if !ours[n] {
					t.Errorf("keepalived finds an invalid IP on line %d, lbdoctor does not", n)
				}
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
