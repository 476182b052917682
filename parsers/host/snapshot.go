package host

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"syscall"

	"gopkg.in/yaml.v3"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// maxSnapshot bounds what Decode reads, so a wrong file (a disk image, a
// pipe that never ends) fails instead of eating the memory.
const maxSnapshot = 64 << 20

// snapshotHeader opens every file Write produces.
const snapshotHeader = "# lbdoctor host snapshot: judge configs against it with lbdoctor check --host FILE\n"

// Load reads a snapshot file written by Write (or by hand). Unknown fields,
// wrong types and malformed addresses are errors naming the file and line.
func Load(path string) (*Facts, error) {
	// O_NONBLOCK: a named pipe nobody writes to would block open(2)
	// forever; opened this way it reads as empty. Pipes with a writer
	// (--host /dev/stdin) and regular files read as usual.
	fh, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("load host snapshot: %w", err)
	}
	defer fh.Close()
	return Decode(fh, path)
}

// Decode reads a snapshot from r; name is the file it came from, used in
// errors and as the facts' Source.
func Decode(r io.Reader, name string) (f *Facts, err error) {
	// yaml.v3 has panicked on hostile input before; a snapshot is input.
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, parsers.Error{Pos: parsers.Pos{File: name}, Msg: fmt.Sprintf("malformed YAML: %v", p)}
		}
	}()
	return decode(r, name)
}

func decode(r io.Reader, name string) (*Facts, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSnapshot+1))
	if err != nil {
		return nil, fmt.Errorf("read host snapshot %s: %w", name, err)
	}
	if len(data) > maxSnapshot {
		return nil, parsers.Error{Pos: parsers.Pos{File: name}, Msg: fmt.Sprintf("host snapshot is larger than %d bytes", maxSnapshot)}
	}

	// One parse into a node tree, which gives lines to the checks of
	// values, then decoded into Facts with yaml.v3's own strictness.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, parsers.Error{Pos: parsers.Pos{File: name}, Msg: "empty host snapshot"}
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			return nil, yamlError(name, err)
		}
		return nil, parsers.Error{Pos: parsers.Pos{File: name, Line: line}, Msg: "more than one YAML document in a host snapshot"}
	}
	var f Facts
	unknown := unknownFields(&root, reflect.TypeOf(f))
	if err := root.Decode(&f); err != nil || len(unknown) > 0 {
		var te *yaml.TypeError
		if err != nil && !errors.As(err, &te) {
			return nil, yamlError(name, err)
		}
		all := unknown
		if te != nil {
			all = append(all, te.Errors...)
		}
		sortByLine(all)
		return nil, yamlError(name, &yaml.TypeError{Errors: all})
	}
	if err := validate(&f, &root, name); err != nil {
		return nil, err
	}
	f.Source = name
	return &f, nil
}

// yamlLine finds the "line N: " yaml.v3 puts in its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// sortByLine puts yaml.v3 messages in document order, as its strict
// decoder reports them.
func sortByLine(msgs []string) {
	line := func(msg string) int {
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
		return 0
	}
	sort.SliceStable(msgs, func(i, j int) bool { return line(msgs[i]) < line(msgs[j]) })
}

// yamlError turns yaml.v3's errors into parsers.Errors with a line, one per
// problem it found.
func yamlError(name string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	errs := make([]error, 0, len(msgs))
	for _, m := range msgs {
		pe := parsers.Error{Pos: parsers.Pos{File: name}, Msg: m}
		if sub := yamlLine.FindStringSubmatch(m); sub != nil {
			pe.Pos.Line, _ = strconv.Atoi(sub[1])
			pe.Msg = sub[2]
		}
		errs = append(errs, pe)
	}
	return errors.Join(errs...)
}

// validate checks the values the types cannot: addresses that parse,
// families that match them, ports and prefixes in range.
func validate(f *Facts, root *yaml.Node, name string) error {
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, parsers.Error{Pos: parsers.Pos{File: name, Line: line}, Msg: fmt.Sprintf(format, args...)})
	}
	at := func(path ...any) int { return lineOf(root, path...) }

	if f.SELinux != nil {
		if err := f.SELinux.Validate(); err != nil {
			bad(at("selinux"), "%v", err)
		}
	}
	for i, itf := range f.Interfaces {
		if itf.Name == "" {
			bad(at("interfaces", i), "interface without a name")
		}
	}
	for i, a := range f.Addresses {
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			bad(at("addresses", i, "address"), "address %q is not an IP address", a.Address)
			continue
		}
		want := "ipv4"
		if ip.Is6() {
			want = "ipv6"
		}
		if a.Family != want {
			bad(at("addresses", i, "family"), "address %s has family %q, want %q", a.Address, a.Family, want)
		}
		if a.Prefix < 0 || a.Prefix > ip.BitLen() {
			bad(at("addresses", i, "prefix"), "prefix length %d is out of range for %s", a.Prefix, a.Address)
		}
		if a.Interface == "" {
			bad(at("addresses", i), "address %s has no interface", a.Address)
		}
	}
	for i, r := range f.Routes {
		if _, err := netip.ParsePrefix(r.Prefix); err != nil {
			bad(at("local_routes", i, "prefix"), "local route %q is not a prefix like 10.9.0.0/24", r.Prefix)
		}
		if r.Table < 0 {
			bad(at("local_routes", i, "table"), "routing table %d is negative", r.Table)
		}
		if r.Type != "" && !knownRouteType(r.Type) {
			bad(at("local_routes", i, "type"), "route type %q is not one of ip(8)'s: local, broadcast, multicast, unicast, anycast, blackhole, unreachable, prohibit, throw, nat, xresolve", r.Type)
		}
		if r.Metric < 0 {
			bad(at("local_routes", i, "metric"), "route metric %d is negative", r.Metric)
		}
	}
	for i, s := range f.Sockets {
		if s.Proto != "tcp" && s.Proto != "udp" {
			bad(at("sockets", i, "proto"), "socket proto %q, want tcp or udp", s.Proto)
		}
		if _, err := netip.ParseAddr(s.Address); err != nil {
			bad(at("sockets", i, "address"), "socket address %q is not an IP address", s.Address)
		}
		if s.Port < 0 || s.Port > 65535 {
			bad(at("sockets", i, "port"), "port %d is out of range", s.Port)
		}
	}
	return errors.Join(errs...)
}

// lineOf walks root along path (mapping keys as strings, sequence indexes
// as ints) and returns the line of what it reaches, or of the deepest node
// it could reach.
func lineOf(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, step := range path {
		var next *yaml.Node
		switch s := step.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == s {
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && s < len(n.Content) {
				next = n.Content[s]
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return n.Line
}

// Write writes f as snapshot YAML. The same facts always give the same
// bytes: lists are written in their order (Gather sorts them) and the
// sysctls by name.
func Write(w io.Writer, f *Facts) error {
	var buf bytes.Buffer
	buf.WriteString(snapshotHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("encode host snapshot: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode host snapshot: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write host snapshot: %w", err)
	}
	return nil
}
