package node

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// Limits of what a bundle carries: a config bigger than this is not a
// config, and a bundle stays below what host.Load reads.
const (
	maxBundleFile  = 8 << 20
	maxBundleTotal = 48 << 20
)

// Directories the bundle copies *.conf files from: what systemd-sysctl
// and systemd-tmpfiles read at boot.
var (
	sysctlDirs   = []string{"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"}
	tmpfilesDirs = []string{"/etc/tmpfiles.d", "/run/tmpfiles.d", "/usr/local/lib/tmpfiles.d", "/usr/lib/tmpfiles.d"}
	unitDirs     = []string{
		"/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
		"/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached",
		"/run/systemd/system", "/run/systemd/system.attached", "/run/systemd/generator",
		"/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
		"/run/systemd/generator.late",
	}
	// daemonUnits name the daemons' unit files and drop-in directories
	// (MoreServices' units among them: apache2 and httpd, postgresql@,
	// redis-server and its aliases); judging also reads the type-wide
	// "service.d".
	daemonUnits  = []string{"nginx", "haproxy", "keepalived", "apache2", "httpd", "postgresql", "redis", "envoy"}
	unitPrefixes = append(append([]string{}, daemonUnits...), "service.d")
)

// collector gathers the files of a bundle below root, each by the name the
// node gives it, symlinks kept as links.
type collector struct {
	root    parsers.Root
	files   map[string]*host.File
	omitted map[string]string
	total   int
	// secret says how to redact a file, by name: "keepalived" or
	// "haproxy".
	secret map[string]string
}

func newCollector(root parsers.Root) *collector {
	return &collector{root: root, files: map[string]*host.File{}, omitted: map[string]string{}, secret: map[string]string{}}
}

// add records name and what it takes to reach it: every symlink on the
// way, then the file (or, for a directory, its entries when deep).
func (c *collector) add(name string, deep bool) error {
	if !path.IsAbs(name) {
		if c.root != "" {
			return nil // outside the tree: not the node's file
		}
		abs, err := filepath.Abs(name)
		if err != nil {
			return err
		}
		name = abs
	}
	// The name resolves as the judge resolves it, with Chase; the links
	// on the way are kept as links, so that the bundle's tree resolves
	// the name the same.
	resolved, links, err := c.root.ChaseLinks(name)
	for _, l := range links {
		if _, ok := c.files[l.Name]; !ok {
			c.files[l.Name] = &host.File{Path: l.Name, Link: l.Target}
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
			errors.Is(err, parsers.ErrLoop) || errors.Is(err, syscall.ENOTDIR) {
			return nil // what the node lacks, the bundle lacks
		}
		return err
	}
	if resolved == "/" {
		return nil // the root itself is no config
	}
	fi, err := os.Lstat(c.root.Path(resolved))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil
		}
		return err
	}
	switch {
	case fi.Mode().IsRegular():
		return c.addFile(resolved, fi.Size())
	case fi.IsDir():
		if _, ok := c.files[resolved]; !ok {
			c.files[resolved] = &host.File{Path: resolved, Dir: true}
		}
		if !deep {
			return nil
		}
		entries, err := os.ReadDir(c.root.Path(resolved))
		if err != nil {
			return nil
		}
		for _, e := range entries {
			if err := c.add(path.Join(resolved, e.Name()), false); err != nil {
				return err
			}
		}
	}
	return nil
}

// keyFile matches the names keys and certificates go by.
var keyFile = regexp.MustCompile(`(?i)\.(pem|key|crt|cer|der|p12|pfx|jks)$`)

// addFile records a regular file's content, unless it is a key or a
// certificate, or too big.
func (c *collector) addFile(name string, size int64) error {
	if _, ok := c.files[name]; ok {
		return nil
	}
	if _, ok := c.omitted[name]; ok {
		return nil
	}
	if keyFile.MatchString(name) {
		c.omitted[name] = "key or certificate: never carried"
		return nil
	}
	if size > maxBundleFile || c.total+int(size) > maxBundleTotal {
		c.omitted[name] = fmt.Sprintf("%d bytes: larger than a bundle carries", size)
		return nil
	}
	data, err := c.root.ReadRegular(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil
		}
		return err
	}
	if bytes.Contains(data, []byte("-----BEGIN ")) && (bytes.Contains(data, []byte("PRIVATE KEY-----")) || bytes.Contains(data, []byte("CERTIFICATE-----"))) {
		c.omitted[name] = "holds a PEM key or certificate: never carried"
		return nil
	}
	c.total += len(data)
	f := &host.File{Path: name}
	c.files[name] = f
	var redacted []int
	switch c.secret[name] {
	case "keepalived":
		data, redacted = redact(data, keepalivedSecret)
	case "haproxy":
		data, redacted = redact(data, haproxySecret)
	}
	f.Redacted = redacted
	if utf8.Valid(data) {
		f.Content = string(data)
	} else {
		f.Base64 = base64.StdEncoding.EncodeToString(data)
	}
	return nil
}

// The secrets a bundle replaces with a digest: keepalived's auth_pass, and
// the passwords of HAProxy's userlist users. The digest keeps the line and
// lets two nodes be compared.
var (
	keepalivedSecret = regexp.MustCompile(`^(\s*auth_pass\s+)(\S+)`)
	haproxySecret    = regexp.MustCompile(`^(\s*user\s+\S+.*?\s(?:insecure-)?password\s+)(\S+)`)
)

// redact replaces the secret of each line re matches, and says which lines.
func redact(data []byte, re *regexp.Regexp) ([]byte, []int) {
	lines := strings.SplitAfter(string(data), "\n")
	var changed []int
	for i, l := range lines {
		m := re.FindStringSubmatchIndex(l)
		if m == nil {
			continue
		}
		secret := l[m[4]:m[5]]
		if strings.HasPrefix(secret, parsers.DigestPrefix) {
			continue
		}
		if re == keepalivedSecret && len(secret) > 8 {
			secret = secret[:8] // keepalived uses the first 8 characters only
		}
		lines[i] = l[:m[4]] + parsers.SecretDigest(secret) + l[m[5]:]
		changed = append(changed, i+1)
	}
	return []byte(strings.Join(lines, "")), changed
}

// list is the collected files, sorted by path.
func (c *collector) list() ([]host.File, []host.Omitted) {
	files := make([]host.File, 0, len(c.files))
	for _, f := range c.files {
		files = append(files, *f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var omitted []host.Omitted
	for p, why := range c.omitted {
		omitted = append(omitted, host.Omitted{Path: p, Reason: why})
	}
	sort.Slice(omitted, func(i, j int) bool { return omitted[i].Path < omitted[j].Path })
	return files, omitted
}

// collectBundle records every file that judging the services reads.
func collectBundle(o Options, root parsers.Root, services []checks.Service) ([]host.File, []host.Omitted, error) {
	c := newCollector(root)
	var names []string
	for _, s := range services {
		if s.Config == nil {
			continue
		}
		for _, f := range s.Config.Files {
			c.secret[f] = s.Name
			if r, err := root.Chase(f); err == nil {
				c.secret[r] = s.Name
			}
		}
		names = append(names, s.Config.Files...)
		names = append(names, strings.Split(s.Path, ", ")...)
		if s.Unit != nil {
			names = append(names, s.Unit.Files...)
		}
	}
	names = append(names, DefaultNginx...)
	names = append(names, DefaultHAProxy...)
	names = append(names, DefaultKeepalived...)
	names = append(names, haproxyEnvFiles...)
	names = append(names, o.EnvFiles...)
	names = append(names, "/etc/hosts")
	// The container definitions, named or found, and their configs above.
	names = append(names, containerSources(o, root, !o.named())...)
	// The boot loader's configuration says whether the next boot has IPv6.
	names = append(names, "/etc/default/grub", "/etc/default/grub.d", "/etc/kernel/cmdline")
	for _, n := range names {
		if err := c.add(n, true); err != nil {
			return nil, nil, fmt.Errorf("bundle %s: %w", n, err)
		}
	}
	for _, d := range append(append([]string{}, sysctlDirs...), tmpfilesDirs...) {
		if err := c.add(d, true); err != nil {
			return nil, nil, fmt.Errorf("bundle %s: %w", d, err)
		}
	}
	for _, d := range unitDirs {
		entries, err := os.ReadDir(root.Path(d))
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := path.Join(d, e.Name())
			take := false
			for _, p := range unitPrefixes {
				take = take || strings.HasPrefix(e.Name(), p)
			}
			// An alias: a link to one of the daemons' unit files.
			if !take && e.Type()&fs.ModeSymlink != 0 {
				if t, err := os.Readlink(root.Path(name)); err == nil {
					for _, p := range daemonUnits {
						take = take || strings.HasPrefix(path.Base(t), p)
					}
				}
			}
			if take {
				if err := c.add(name, true); err != nil {
					return nil, nil, fmt.Errorf("bundle %s: %w", name, err)
				}
			}
		}
	}
	files, omitted := c.list()
	return files, omitted, nil
}

// materialize writes a bundle's files below dir, so that dir read as a
// root is the node's own tree. An absolute link target is written relative
// to the link, which resolves the same below dir.
func materialize(facts *host.Facts, dir string) error {
	for _, f := range facts.Files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return fmt.Errorf("bundle %s: file %q: not a clean absolute path", facts.Source, f.Path)
		}
		p := filepath.Join(dir, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		switch {
		case f.Link != "":
			// Resolved as Chase does: from the link's directory, ".."
			// never above the root; then written relative, so that
			// nothing followed below dir leaves it.
			abs := f.Link
			if !path.IsAbs(abs) {
				abs = path.Join(path.Dir(f.Path), abs)
			}
			target, err := filepath.Rel(path.Dir(f.Path), path.Clean(abs))
			if err != nil {
				return err
			}
			if err := os.Symlink(target, p); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("bundle %s: %w", facts.Source, err)
			}
		case f.Dir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		default:
			data := []byte(f.Content)
			if f.Base64 != "" {
				var err error
				if data, err = base64.StdEncoding.DecodeString(f.Base64); err != nil {
					return fmt.Errorf("bundle %s: %s: %w", facts.Source, f.Path, err)
				}
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				return fmt.Errorf("bundle %s: %w", facts.Source, err)
			}
		}
	}
	return nil
}
