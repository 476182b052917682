package selinux

import (
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Policy is what lbdoctor reads from a policy's module store: the port
// contexts, the name_bind rules of TCP, UDP and SCTP sockets, the process
// type transitions, the permissive types and the booleans, with every
// optional block resolved as the CIL compiler would resolve it.
type Policy struct {
	// Name is the policy's name (SELINUXTYPE): "targeted", "default".
	Name string
	// Store is the module store read, as the host names it.
	Store string
	// Ports are the port contexts in the order the kernel searches them:
	// ports.local first, its last line first, then the policy's, smaller
	// ranges first. The first that holds a port labels it.
	Ports []Port
	// DefaultPortType labels a port no Ports entry holds: the type of the
	// "port" initial SID (port_t).
	DefaultPortType string
	// Booleans are the policy's booleans with their value at boot: the
	// policy's default, or booleans.local's when it sets one.
	Booleans map[string]bool
	// LocalBooleans are the booleans booleans.local sets.
	LocalBooleans map[string]bool
	// Permissive are the types of typepermissive statements
	// ("semanage permissive -a": a permissive_TYPE module).
	Permissive map[string]bool
	// Notes say what could not be read: a module in CIL that uses blocks
	// or macros, an unreadable module.
	Notes []string

	types   map[string]bool // declared types, aliases resolved
	aliases map[string]string
	attrs   map[string][]*node // attribute -> its typeattributeset expressions
	binds   []bindRule
	trans   []transRule
	memo    map[string]map[string]bool
	mu      sync.Mutex
}

// Port is one port context: the ports Low..High of protocol Proto
// ("tcp", "udp", "sctp", "dccp") have type Type. Local marks the ones
// ports.local adds ("semanage port -a/-m").
type Port struct {
	Proto     string
	Low, High int
	Type      string
	Local     bool
}

func (p Port) String() string {
	s := fmt.Sprintf("%s %d", p.Proto, p.Low)
	if p.High != p.Low {
		s = fmt.Sprintf("%s %d-%d", p.Proto, p.Low, p.High)
	}
	s += " " + p.Type
	if p.Local {
		s += " local"
	}
	return s
}

// ParsePort reads a Port as String writes it.
func ParsePort(s string) (Port, error) {
	f := strings.Fields(s)
	if len(f) < 3 || len(f) > 4 || (len(f) == 4 && f[3] != "local") {
		return Port{}, fmt.Errorf("port context %q: want PROTO PORT[-PORT] TYPE [local]", s)
	}
	p := Port{Proto: f[0], Type: f[2], Local: len(f) == 4}
	lo, hi, ok := strings.Cut(f[1], "-")
	var err1, err2 error
	p.Low, err1 = strconv.Atoi(lo)
	p.High = p.Low
	if ok {
		p.High, err2 = strconv.Atoi(hi)
	}
	if err1 != nil || err2 != nil || p.Low < 0 || p.High > 65535 || p.Low > p.High {
		return Port{}, fmt.Errorf("port context %q: bad port range", s)
	}
	return p, nil
}

// bindRule is an allow rule granting name_bind on a socket class.
type bindRule struct {
	src, tgt *node
	class    string
	cond     *node // nil: unconditional
	branch   bool  // the booleanif branch the rule is in
}

type transRule struct {
	src, tgt *node
	domain   string
}

// bindClasses are the socket classes whose name_bind lbdoctor reads.
var bindClasses = map[string]string{"tcp_socket": "tcp", "udp_socket": "udp", "sctp_socket": "sctp", "dccp_socket": "dccp"}

// StoreDir is where the module store of policy name lives below root:
// /var/lib/selinux/NAME/active, or /etc/selinux/NAME/active before
// libsemanage 2.4 (RHEL 7).
func StoreDir(root parsers.Root, name string) (string, bool) {
	for _, d := range []string{"/var/lib/selinux/" + name + "/active", "/etc/selinux/" + name + "/active"} {
		if st, err := root.Stat(d + "/modules"); err == nil && st.IsDir() {
			return d, true
		}
	}
	return "", false
}

type module struct {
	name     string
	priority int
	file     string
}

// ReadPolicy reads policy name's module store below root: every enabled
// module at its highest priority, ports.local and booleans.local.
func ReadPolicy(root parsers.Root, name string) (*Policy, error) {
	store, ok := StoreDir(root, name)
	if !ok {
		return nil, fmt.Errorf("selinux policy %s: no module store at /var/lib/selinux/%s/active", name, name)
	}
	p := &Policy{Name: name, Store: store}
	mods, err := listModules(root, store)
	if err != nil {
		return nil, err
	}
	parsed := make([][]*node, len(mods))
	errs := make([]error, len(mods))
	var wg sync.WaitGroup
	work := make(chan int)
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range work {
				parsed[i], errs[i] = readModule(root, mods[i].file)
			}
		})
	}
	for i := range mods {
		work <- i
	}
	close(work)
	wg.Wait()
	b := newBuilder()
	for i, m := range mods {
		if errs[i] != nil {
			p.Notes = append(p.Notes, fmt.Sprintf("module %s (priority %d) not read: %v", m.name, m.priority, errs[i]))
			continue
		}
		b.walk(parsed[i], -1, nil, true, m.name)
	}
	b.resolve()
	b.fill(p)
	p.Notes = append(p.Notes, b.notes...)
	local, err := readPortsLocal(root, store+"/ports.local")
	if err != nil {
		return nil, err
	}
	for i := range local {
		local[i].Type = p.resolveAlias(local[i].Type)
	}
	p.Ports = append(local, p.Ports...)
	p.LocalBooleans, err = readBooleansLocal(root, store+"/booleans.local")
	if err != nil {
		return nil, err
	}
	for k, v := range p.LocalBooleans {
		if _, ok := p.Booleans[k]; ok {
			p.Booleans[k] = v
		}
	}
	return p, nil
}

func listModules(root parsers.Root, store string) ([]module, error) {
	dir := store + "/modules"
	ents, err := os.ReadDir(root.Path(dir))
	if err != nil {
		return nil, fmt.Errorf("selinux module store: %w", err)
	}
	disabled := map[string]bool{}
	if ds, err := os.ReadDir(root.Path(dir + "/disabled")); err == nil {
		for _, d := range ds {
			disabled[d.Name()] = true
		}
	}
	best := map[string]module{}
	for _, e := range ents {
		prio, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		ms, err := os.ReadDir(root.Path(dir + "/" + e.Name()))
		if err != nil {
			return nil, fmt.Errorf("selinux module store: %w", err)
		}
		for _, m := range ms {
			if disabled[m.Name()] || !m.IsDir() {
				continue
			}
			file := path.Join(dir, e.Name(), m.Name(), "cil")
			if _, err := root.Stat(file); err != nil {
				continue
			}
			if b, ok := best[m.Name()]; !ok || prio > b.priority {
				best[m.Name()] = module{name: m.Name(), priority: prio, file: file}
			}
		}
	}
	out := make([]module, 0, len(best))
	for _, m := range best {
		out = append(out, m)
	}
	// base first, as semodule hands them to the compiler; then by name.
	sort.Slice(out, func(i, j int) bool {
		if (out[i].name == "base") != (out[j].name == "base") {
			return out[i].name == "base"
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

// readModule reads a module's cil file: bzip2-compressed as libsemanage
// stores it (compress-modules), or plain.
func readModule(root parsers.Root, file string) ([]*node, error) {
	data, err := root.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte("BZh")) {
		// CIL compresses about tenfold: room for that saves the copies
		// of a growing buffer.
		out := bytes.NewBuffer(make([]byte, 0, 10*len(data)))
		if _, err := io.Copy(out, bzip2.NewReader(bytes.NewReader(data))); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		data = out.Bytes()
	}
	return parseCIL(data)
}

// readPortsLocal reads ports.local: "portcon PROTO PORT[-PORT] CONTEXT"
// lines. libsemanage puts each before the policy's port contexts, one
// after the other, so the last line is searched first.
func readPortsLocal(root parsers.Root, file string) ([]Port, error) {
	data, err := root.ReadFile(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("selinux: %w", err)
	}
	var out []Port
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 4 || f[0] != "portcon" {
			return nil, fmt.Errorf("%s:%d: want \"portcon PROTO PORT CONTEXT\"", file, i+1)
		}
		p, err := ParsePort(f[1] + " " + f[2] + " " + contextType(f[3]))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, i+1, err)
		}
		p.Local = true
		out = append([]Port{p}, out...)
	}
	return out, nil
}

// contextType is the type field of a context "user:role:type[:level]".
func contextType(ctx string) string {
	f := strings.SplitN(ctx, ":", 4)
	if len(f) < 3 {
		return ctx
	}
	return f[2]
}

// readBooleansLocal reads booleans.local: "NAME=0|1" lines ("setsebool -P").
func readBooleansLocal(root parsers.Root, file string) (map[string]bool, error) {
	data, err := root.ReadFile(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("selinux: %w", err)
	}
	out := map[string]bool{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		b, okv := parseBool(strings.TrimSpace(v))
		if !ok || !okv {
			return nil, fmt.Errorf("%s:%d: want NAME=0|1", file, i+1)
		}
		out[strings.TrimSpace(k)] = b
	}
	return out, nil
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "true", "on":
		return true, true
	case "0", "false", "off":
		return false, true
	}
	return false, false
}
