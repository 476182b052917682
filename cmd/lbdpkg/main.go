// Command lbdpkg builds lbdoctor's .deb and .rpm packages with nfpm, for
// make package: the static binary, the man page and shell completions that
// lbdoctor prints of itself, the examples, the licence and the changelog.
//
//	lbdpkg -version 1.2.3 -gen bin/linux_amd64/lbdoctor \
//	    -bin amd64=bin/linux_amd64/lbdoctor -bin arm64=bin/linux_arm64/lbdoctor
//
// writes bin/lbdoctor_1.2.3_amd64.deb, bin/lbdoctor-1.2.3.x86_64.rpm and
// the same for arm64. -gen names a binary this machine can run; the man
// page and completions are the same for every architecture.
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"
)

const (
	name    = "lbdoctor"
	docDir  = "/usr/share/doc/" + name
	summary = "pre-flight linter for load-balancer hosts (nginx, HAProxy, keepalived)"
	longDoc = `lbdoctor reads nginx, HAProxy and keepalived configurations, finds every
address they listen on, compares them with the host (addresses, local
routes, sysctls, listening sockets, now and on the other node of an HA
pair) and says which service would fail to start, the error it would
print, why, and the commands that fix it. It never changes the host.`
)

// versionRE is what both dpkg and rpm accept as an upstream version
// without a revision: a leading digit, then letters, digits, '.', '+', '~'.
var versionRE = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)

// archFlag collects -bin ARCH=PATH pairs.
type archFlag map[string]string

func (a archFlag) String() string { return fmt.Sprint(map[string]string(a)) }

func (a archFlag) Set(s string) error {
	arch, p, ok := strings.Cut(s, "=")
	if !ok || arch == "" || p == "" {
		return fmt.Errorf("want ARCH=PATH, got %q", s)
	}
	if _, dup := a[arch]; dup {
		return fmt.Errorf("architecture %s given twice", arch)
	}
	a[arch] = p
	return nil
}

// options is what one lbdpkg run builds.
type options struct {
	version, release, maintainer string
	root, out, gen               string
	bins                         map[string]string // GOARCH -> binary
	mtime                        time.Time
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lbdpkg:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	o := options{bins: archFlag{}}
	fl := flag.NewFlagSet("lbdpkg", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&o.version, "version", "", "package `VERSION` (a valid deb and rpm version)")
	fl.StringVar(&o.release, "release", "1", "rpm `RELEASE`")
	fl.StringVar(&o.maintainer, "maintainer", "lbdoctor maintainers <maintainers@lbdoctor.invalid>", "package `MAINTAINER`")
	fl.StringVar(&o.root, "root", ".", "source `DIR` holding LICENSE, CHANGELOG.md, README.md and examples/")
	fl.StringVar(&o.out, "out", "bin", "output `DIR`")
	fl.StringVar(&o.gen, "gen", "", "lbdoctor `BINARY` this machine runs, to print the man page and completions")
	fl.Var(archFlag(o.bins), "bin", "`GOARCH=PATH` of the static binary to package (repeatable)")
	epoch := fl.String("mtime", "", "`UNIX` time of every file in the packages (default $SOURCE_DATE_EPOCH, else now)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	if !versionRE.MatchString(o.version) {
		return fmt.Errorf("version %q is not a valid deb and rpm version (want %s)", o.version, versionRE)
	}
	if len(o.bins) == 0 || o.gen == "" {
		return errors.New("need -gen BINARY and at least one -bin ARCH=PATH")
	}
	for arch := range o.bins {
		if _, ok := archNames[arch]; !ok {
			return fmt.Errorf("architecture %s: lbdpkg packages amd64 and arm64", arch)
		}
	}
	o.mtime = time.Now().UTC().Truncate(time.Second)
	for _, s := range []string{*epoch, os.Getenv("SOURCE_DATE_EPOCH")} {
		if s != "" {
			sec, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("mtime %q: %w", s, err)
			}
			o.mtime = time.Unix(sec, 0).UTC()
			break
		}
	}
	built, err := build(o)
	for _, p := range built {
		fmt.Fprintln(stdout, p)
	}
	return err
}

// build writes a .deb and an .rpm for every architecture and returns their
// paths.
func build(o options) ([]string, error) {
	stage, err := os.MkdirTemp("", "lbdpkg-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	if err := generate(o, stage); err != nil {
		return nil, err
	}
	arches := make([]string, 0, len(o.bins))
	for a := range o.bins {
		arches = append(arches, a)
	}
	sort.Strings(arches)
	var built []string
	for _, arch := range arches {
		for _, format := range []string{"deb", "rpm"} {
			p, err := pack(o, stage, arch, format)
			if err != nil {
				return built, fmt.Errorf("%s %s: %w", format, arch, err)
			}
			built = append(built, p)
		}
	}
	return built, nil
}

// generate writes into stage what the packages carry besides the binary
// and the source tree's files: the gzipped man page, the completions and
// the gzipped changelog.
func generate(o options, stage string) error {
	outputs := []struct {
		file string
		args []string
		gz   bool
	}{
		{"lbdoctor.1.gz", []string{"man"}, true},
		{"lbdoctor.bash", []string{"completion", "bash"}, false},
		{"_lbdoctor", []string{"completion", "zsh"}, false},
		{"lbdoctor.fish", []string{"completion", "fish"}, false},
	}
	for _, g := range outputs {
		var out, errb bytes.Buffer
		cmd := exec.Command(o.gen, g.args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %w: %s", o.gen, strings.Join(g.args, " "), err, errb.String())
		}
		if out.Len() == 0 {
			return fmt.Errorf("%s %s printed nothing", o.gen, strings.Join(g.args, " "))
		}
		data := out.Bytes()
		if g.gz {
			data = gz(data)
		}
		if err := os.WriteFile(filepath.Join(stage, g.file), data, 0o644); err != nil {
			return err
		}
	}
	changelog, err := os.ReadFile(filepath.Join(o.root, "CHANGELOG.md"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(stage, "changelog.gz"), gz(changelog), 0o644)
}

// gz compresses as gzip -9n does: no name, no time, so the packages do not
// change with the build's clock.
func gz(data []byte) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// contents lists a package's files for one packager ("deb" or "rpm").
// Debian keeps the licence as /usr/share/doc/NAME/copyright and zsh's
// packaged completions in vendor-completions; RPM distributions keep the
// licence under /usr/share/licenses and completions in site-functions.
func contents(o options, stage, binary, format string) (files.Contents, error) {
	file := func(src, dst string, mode os.FileMode) *files.Content {
		return &files.Content{Source: src, Destination: dst, FileInfo: &files.ContentFileInfo{Mode: mode, MTime: o.mtime}}
	}
	doc := func(src, dst string) *files.Content {
		c := file(src, dst, 0o644)
		if format == "rpm" {
			c.Type = files.TypeRPMDoc
		}
		return c
	}
	cs := files.Contents{
		file(binary, "/usr/bin/lbdoctor", 0o755),
		file(filepath.Join(stage, "lbdoctor.1.gz"), "/usr/share/man/man1/lbdoctor.1.gz", 0o644),
		file(filepath.Join(stage, "lbdoctor.bash"), "/usr/share/bash-completion/completions/lbdoctor", 0o644),
		file(filepath.Join(stage, "lbdoctor.fish"), "/usr/share/fish/vendor_completions.d/lbdoctor.fish", 0o644),
		doc(filepath.Join(stage, "changelog.gz"), docDir+"/changelog.gz"),
		doc(filepath.Join(o.root, "README.md"), docDir+"/README.md"),
	}
	switch format {
	case "deb":
		cs = append(cs,
			file(filepath.Join(stage, "_lbdoctor"), "/usr/share/zsh/vendor-completions/_lbdoctor", 0o644),
			file(filepath.Join(o.root, "LICENSE"), docDir+"/copyright", 0o644))
	case "rpm":
		lic := file(filepath.Join(o.root, "LICENSE"), "/usr/share/licenses/lbdoctor/LICENSE", 0o644)
		lic.Type = files.TypeRPMLicense
		cs = append(cs,
			file(filepath.Join(stage, "_lbdoctor"), "/usr/share/zsh/site-functions/_lbdoctor", 0o644),
			lic)
	}
	// Every file under examples/, whatever is there when the package is
	// built: installed as documentation, never as enabled units.
	examples := filepath.Join(o.root, "examples")
	err := filepath.WalkDir(examples, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			if d.IsDir() {
				return nil
			}
			return fmt.Errorf("%s: not a regular file", p)
		}
		rel, err := filepath.Rel(examples, p)
		if err != nil {
			return err
		}
		cs = append(cs, doc(p, path.Join(docDir, "examples", filepath.ToSlash(rel))))
		return nil
	})
	return cs, err
}

// pack builds one package and returns its path.
func pack(o options, stage, arch, format string) (string, error) {
	binary, err := filepath.Abs(o.bins[arch])
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(binary); err != nil {
		return "", err
	}
	cs, err := contents(o, stage, binary, format)
	if err != nil {
		return "", err
	}
	info := &nfpm.Info{
		Name:            name,
		Arch:            arch,
		Platform:        "linux",
		Version:         o.version,
		VersionSchema:   "none",
		Section:         "admin",
		Priority:        "optional",
		Maintainer:      o.maintainer,
		Description:     summary + "\n" + longDoc,
		Homepage:        "https://github.com/lbdoctor/lbdoctor",
		License:         "Apache-2.0",
		DisableGlobbing: true,
		MTime:           o.mtime,
		Overridables: nfpm.Overridables{
			Contents: cs,
			RPM: nfpm.RPM{
				Summary:  summary,
				Group:    "Applications/System",
				Packager: o.maintainer,
			},
		},
	}
	var packager nfpm.Packager
	var out string
	switch format {
	case "deb":
		packager = deb.Default
		out = fmt.Sprintf("%s_%s_%s.deb", name, o.version, debArch(arch))
	case "rpm":
		// The release stays in the package's metadata, not in the file
		// name (make package's promise: lbdoctor-VERSION.ARCH.rpm).
		info.Release = o.release
		info.Description = longDoc // rpm keeps the summary apart
		info.RPM.BuildHost = "lbdoctor"
		packager = rpm.DefaultRPM
		out = fmt.Sprintf("%s-%s.%s.rpm", name, o.version, rpmArch(arch))
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", err
	}
	out = filepath.Join(o.out, out)
	tmp, err := os.CreateTemp(o.out, "."+filepath.Base(out)+".*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := packager.Package(info, tmp); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return out, os.Rename(tmp.Name(), out)
}

// archNames maps each GOARCH lbdpkg packages to dpkg's and rpm's names.
var archNames = map[string][2]string{
	"amd64": {"amd64", "x86_64"},
	"arm64": {"arm64", "aarch64"},
}

func debArch(goarch string) string { return archNames[goarch][0] }

func rpmArch(goarch string) string { return archNames[goarch][1] }
