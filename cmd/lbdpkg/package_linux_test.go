package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The packages' files, by format. The examples are added from the tree.
var (
	commonFiles = []string{
		"/usr/bin/lbdoctor",
		"/usr/share/bash-completion/completions/lbdoctor",
		"/usr/share/doc/lbdoctor/README.md",
		"/usr/share/doc/lbdoctor/changelog.gz",
		"/usr/share/fish/vendor_completions.d/lbdoctor.fish",
		"/usr/share/man/man1/lbdoctor.1.gz",
	}
	debFiles = []string{
		"/usr/share/doc/lbdoctor/copyright",
		"/usr/share/zsh/vendor-completions/_lbdoctor",
	}
	rpmFiles = []string{
		"/usr/share/licenses/lbdoctor/LICENSE",
		"/usr/share/zsh/site-functions/_lbdoctor",
	}
)

var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// TestPackages runs make package for amd64 and arm64, reads both formats
// back with dpkg-deb and rpm, installs the host's .deb for real with
// dpkg -i inside a private mount namespace whose /usr, /etc and /var are
// throwaway overlays, runs the installed lbdoctor and man from there,
// installs the .rpm into a throwaway root, and checks that the host is as
// it was.
func TestPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("TestPackages SKIPPED with -short: it runs make package")
	}
	for _, tool := range []string{"make", "git", "go", "dpkg", "dpkg-deb", "rpm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("TestPackages SKIPPED: %s is not installed (%v)", tool, err)
		}
	}
	host := runtime.GOARCH
	if _, ok := elfMachine[host]; !ok {
		t.Skipf("TestPackages SKIPPED: packages are built for amd64 and arm64, this machine is %s", host)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(runOK(t, root, "sh", "cmd/lbdpkg/version.sh"))
	if !versionRE.MatchString(version) {
		t.Fatalf("version.sh printed %q, not a deb and rpm version", version)
	}
	out := t.TempDir()
	start := time.Now()
	// make package as a user types it: no VERSION or flags inherited from
	// a make test that runs this test.
	mk := exec.Command("make", "--no-print-directory", "package", "PKGDIR="+out, "ARCHES=amd64 arm64")
	mk.Dir = root
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !slices.Contains([]string{"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "VERSION", "COMMIT", "ARCH", "ARCHES", "PKGDIR"}, k) {
			mk.Env = append(mk.Env, kv)
		}
	}
	if b, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, b)
	}
	t.Logf("make package (amd64, arm64): %v", time.Since(start).Round(time.Millisecond))

	examples := exampleFiles(t, root)
	want := map[string][]string{
		"deb": sorted(commonFiles, debFiles, examples),
		"rpm": sorted(commonFiles, rpmFiles, examples),
	}
	license := mustRead(t, filepath.Join(root, "LICENSE"))
	changelog := mustRead(t, filepath.Join(root, "CHANGELOG.md"))
	for _, arch := range []string{"amd64", "arm64"} {
		deb := filepath.Join(out, fmt.Sprintf("lbdoctor_%s_%s.deb", version, arch))
		rpmFile := filepath.Join(out, fmt.Sprintf("lbdoctor-%s.%s.rpm", version, rpmArch(arch)))
		t.Run("deb-"+arch, func(t *testing.T) {
			checkDeb(t, deb, arch, version, want["deb"], license, changelog)
		})
		t.Run("rpm-"+arch, func(t *testing.T) {
			checkRPM(t, rpmFile, arch, version, want["rpm"])
		})
	}
	t.Run("install-deb", func(t *testing.T) {
		installDeb(t, filepath.Join(out, fmt.Sprintf("lbdoctor_%s_%s.deb", version, host)), version, want["deb"])
	})
	t.Run("install-rpm", func(t *testing.T) {
		installRPM(t, filepath.Join(out, fmt.Sprintf("lbdoctor-%s.%s.rpm", version, rpmArch(host))), version, want["rpm"])
	})
}

// checkDeb reads a .deb with dpkg-deb: its control fields, its file list
// and modes, that it runs no maintainer script (so nothing is ever
// enabled), and the binary, licence and changelog inside.
func checkDeb(t *testing.T, deb, arch, version string, want []string, license, changelog []byte) {
	fields := runOK(t, "", "dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Section", "Maintainer", "Homepage")
	for _, f := range []string{"Package: lbdoctor", "Version: " + version, "Architecture: " + arch, "Section: admin", "Homepage: https://github.com/lbdoctor/lbdoctor"} {
		if !strings.Contains(fields, f+"\n") {
			t.Errorf("dpkg-deb -f: no %q in\n%s", f, fields)
		}
	}
	listing := runOK(t, "", "dpkg-deb", "-c", deb)
	t.Logf("dpkg-deb -c %s\n%s", filepath.Base(deb), listing)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(listing), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c line %q", line)
		}
		mode, owner, name := f[0], f[1], strings.TrimPrefix(f[5], ".")
		if owner != "root/root" {
			t.Errorf("%s is owned by %s", name, owner)
		}
		if strings.HasPrefix(mode, "d") {
			continue
		}
		got = append(got, name)
		wantMode := "-rw-r--r--"
		if name == "/usr/bin/lbdoctor" {
			wantMode = "-rwxr-xr-x"
		}
		if mode != wantMode {
			t.Errorf("%s has mode %s, want %s", name, mode, wantMode)
		}
	}
	if sort.Strings(got); !slices.Equal(got, want) {
		t.Errorf("files of %s:\n got %q\nwant %q", filepath.Base(deb), got, want)
	}
	// No maintainer scripts: the package enables and starts nothing.
	ctrl := tarNames(t, runBytes(t, "dpkg-deb", "--ctrl-tarfile", deb))
	if !slices.Equal(ctrl, []string{"control", "md5sums"}) {
		t.Errorf("control archive holds %q, want only control and md5sums", ctrl)
	}
	data := tarFiles(t, runBytes(t, "dpkg-deb", "--fsys-tarfile", deb))
	checkStaticELF(t, data["/usr/bin/lbdoctor"], arch)
	if !bytes.Equal(data["/usr/share/doc/lbdoctor/copyright"], license) {
		t.Error("/usr/share/doc/lbdoctor/copyright is not LICENSE")
	}
	if got := gunzip(t, data["/usr/share/doc/lbdoctor/changelog.gz"]); !bytes.Equal(got, changelog) {
		t.Error("/usr/share/doc/lbdoctor/changelog.gz is not CHANGELOG.md")
	}
	if man := gunzip(t, data["/usr/share/man/man1/lbdoctor.1.gz"]); !bytes.HasPrefix(man, []byte(".TH LBDOCTOR 1 ")) ||
		!bytes.Contains(man, []byte(`"lbdoctor `+strings.ReplaceAll(version, "-", `\-`)+" commit ")) {
		t.Errorf("man page does not start with .TH LBDOCTOR 1 and name version %s:\n%.200s", version, man)
	}
}

// checkRPM reads an .rpm with rpm -qip and -qlp (Debian's rpm, with a
// throwaway database so the host's stays untouched) and checks its
// digests.
func checkRPM(t *testing.T, file, arch, version string, want []string) {
	db := "--dbpath=" + t.TempDir()
	info := runOK(t, "", "rpm", db, "-qip", file)
	t.Logf("rpm -qip %s\n%s", filepath.Base(file), info)
	for _, f := range [][2]string{
		{"Name", "lbdoctor"}, {"Version", version}, {"Release", "1"}, {"Architecture", rpmArch(arch)},
		{"License", "Apache-2.0"}, {"URL", "https://github.com/lbdoctor/lbdoctor"},
		{"Summary", summary},
	} {
		if got := rpmField(info, f[0]); got != f[1] {
			t.Errorf("rpm -qip %s: %q, want %q", f[0], got, f[1])
		}
	}
	listing := runOK(t, "", "rpm", db, "-qlp", file)
	t.Logf("rpm -qlp %s\n%s", filepath.Base(file), listing)
	if got := strings.Fields(listing); !slices.Equal(got, want) {
		t.Errorf("files of %s:\n got %q\nwant %q", filepath.Base(file), got, want)
	}
	// Modes, owners and the %doc / %license flags.
	flags := runOK(t, "", "rpm", db, "-qp", "--qf", `[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags}= %{FILENAMES}\n]`, file)
	for _, line := range strings.Split(strings.TrimSpace(flags), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("rpm --qf line %q", line)
		}
		mode, owner, fl, name := f[0], f[1], strings.TrimSuffix(f[2], "="), f[3]
		wantMode, wantFlag := "-rw-r--r--", ""
		switch {
		case name == "/usr/bin/lbdoctor":
			wantMode = "-rwxr-xr-x"
		case strings.HasPrefix(name, "/usr/share/doc/"):
			wantFlag = "d"
		case strings.HasPrefix(name, "/usr/share/licenses/"):
			wantFlag = "l"
		}
		if mode != wantMode || owner != "root:root" || fl != wantFlag {
			t.Errorf("%s: %s %s flags %q, want %s root:root flags %q", name, mode, owner, fl, wantMode, wantFlag)
		}
	}
	if scripts := runOK(t, "", "rpm", db, "-qp", "--scripts", file); strings.TrimSpace(scripts) != "" {
		t.Errorf("the rpm runs scripts:\n%s", scripts)
	}
	if k := runOK(t, "", "rpm", db, "-K", "--nosignature", file); !strings.Contains(k, "digests OK") {
		t.Errorf("rpm -K: %s", k)
	}
}

// installRPM installs the .rpm into a throwaway root with rpm -i --root,
// verifies it with rpm -V and runs the installed lbdoctor from there.
func installRPM(t *testing.T, file, version string, want []string) {
	if os.Geteuid() != 0 {
		t.Skip("install-rpm SKIPPED: needs root (rpm -i --root chroots into the throwaway root)")
	}
	r := t.TempDir()
	runOK(t, "", "rpm", "--root", r, "--dbpath", "/rpmdb", "-i", file)
	if v := runOK(t, "", "rpm", "--root", r, "--dbpath", "/rpmdb", "-V", "lbdoctor"); strings.TrimSpace(v) != "" {
		t.Errorf("rpm -V after rpm -i --root:\n%s", v)
	}
	if got := runOK(t, "", filepath.Join(r, "usr/bin/lbdoctor"), "version"); !strings.HasPrefix(got, "lbdoctor "+version+" commit ") {
		t.Errorf("lbdoctor version from the rpm's root: %q, want lbdoctor %s commit ...", got, version)
	}
	var installed []string
	filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(p, filepath.Join(r, "rpmdb")) {
			installed = append(installed, strings.TrimPrefix(p, r))
		}
		return err
	})
	sort.Strings(installed)
	if !slices.Equal(installed, want) {
		t.Errorf("rpm -i --root installed %q, want %q", installed, want)
	}
}

// installDeb installs the .deb with the real dpkg into a private mount
// namespace whose /usr, /etc and /var are overlays on a tmpfs: dpkg, its
// database, the man-db trigger and the installed files all write to the
// tmpfs, which vanishes with the namespace. It runs the installed lbdoctor,
// man and the bash completion there, removes the package again, and then
// checks on the host that nothing of it is left.
func installDeb(t *testing.T, deb, version string, want []string) {
	if os.Geteuid() != 0 {
		t.Skip("install-deb SKIPPED: needs root for unshare -m, mounts and dpkg -i")
	}
	for _, tool := range []string{"unshare", "man", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("install-deb SKIPPED: %s is not installed (%v)", tool, err)
		}
	}
	hostState := func() (string, bool) {
		out, err := exec.Command("dpkg-query", "-W", "-f", "${Status}", "lbdoctor").CombinedOutput()
		_, statErr := os.Stat("/usr/bin/lbdoctor")
		return strings.TrimSpace(string(out)), err == nil || !errors.Is(statErr, fs.ErrNotExist)
	}
	if st, present := hostState(); present {
		t.Skipf("install-deb SKIPPED: lbdoctor is on this host already (dpkg: %q, or /usr/bin/lbdoctor exists), so an install could not be told apart", st)
	}
	tag := fmt.Sprintf("lbdpkg-%d", os.Getpid())
	work, results := t.TempDir(), t.TempDir()
	script := `
set -u
mount -t tmpfs "$TAG" "$WORK" || exit 90
for d in /usr /etc /var; do
	n=$(echo "$d" | tr / _)
	mkdir -p "$WORK/up$n" "$WORK/wk$n" || exit 91
	mount -t overlay "$TAG" -o "lowerdir=$d,upperdir=$WORK/up$n,workdir=$WORK/wk$n" "$d" || exit 92
done
run() { name=$1; shift; "$@" >"$RESULTS/$name.out" 2>"$RESULTS/$name.err"; echo $? >"$RESULTS/$name.rc"; }
run install dpkg -i "$DEB"
run status dpkg-query -W -f '${Status} ${Version}' lbdoctor
run files sh -c 'dpkg -L lbdoctor | while read -r f; do if [ -d "$f" ]; then echo "d $f"; else echo "f $f"; fi; done'
run which sh -c 'command -v lbdoctor'
run version lbdoctor version
run list lbdoctor list
run manw man -w lbdoctor
run man env MANWIDTH=80 MANPAGER=cat man --warnings lbdoctor
run bash bash -c '. /usr/share/bash-completion/completions/lbdoctor && complete -p lbdoctor'
if [ -n "$UNITS" ]; then run units systemd-analyze verify $UNITS; fi
run purge dpkg --purge lbdoctor
run gone sh -c 'if dpkg-query -W lbdoctor; then exit 1; fi; test ! -e /usr/bin/lbdoctor'
`
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "--", "bash", "-c", script)
	// The example units, once examples/systemd has them: systemd-analyze
	// verify checks them where the package put them, against the installed
	// /usr/bin/lbdoctor and man page.
	var units []string
	for _, f := range want {
		if strings.HasPrefix(f, "/usr/share/doc/lbdoctor/examples/systemd/") && (strings.HasSuffix(f, ".service") || strings.HasSuffix(f, ".timer")) {
			units = append(units, f)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil && len(units) > 0 {
		t.Logf("systemd-analyze is not installed: the example units %q are not verified", units)
		units = nil
	}
	cmd.Env = append(os.Environ(), "TAG="+tag, "WORK="+work, "RESULTS="+results, "DEB="+deb, "LC_ALL=C", "UNITS="+strings.Join(units, " "))
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 90 && ee.ExitCode() <= 92 {
			t.Skipf("install-deb SKIPPED: this kernel or sandbox refuses a tmpfs or overlay mount in a private namespace (%v):\n%s", err, out)
		}
		t.Fatalf("unshare: %v\n%s", err, out)
	}
	t.Logf("dpkg -i, the checks and dpkg --purge in a private mount namespace: %v", time.Since(start).Round(time.Millisecond))
	result := func(name string, wantRC int) string {
		t.Helper()
		rc, out := readResult(t, results, name)
		if rc != wantRC {
			t.Errorf("%s: exit %d, want %d\n%s", name, rc, wantRC, out)
		}
		return out
	}
	t.Logf("dpkg -i:\n%s", result("install", 0))
	if got := result("status", 0); got != "install ok installed "+version {
		t.Errorf("dpkg-query after dpkg -i: %q", got)
	}
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(result("files", 0)), "\n") {
		if f, ok := strings.CutPrefix(line, "f "); ok {
			files = append(files, f)
		}
	}
	if sort.Strings(files); !slices.Equal(files, want) {
		t.Errorf("dpkg -L files: %q, want %q", files, want)
	}
	if got := strings.TrimSpace(result("which", 0)); got != "/usr/bin/lbdoctor" {
		t.Errorf("command -v lbdoctor: %q", got)
	}
	if got := result("version", 0); !strings.HasPrefix(got, "lbdoctor "+version+" commit ") {
		t.Errorf("installed lbdoctor version: %q, want lbdoctor %s commit ...", got, version)
	}
	if got := result("list", 0); !strings.Contains(got, "LBD101") {
		t.Errorf("installed lbdoctor list does not name LBD101:\n%s", got)
	}
	if got := strings.TrimSpace(result("manw", 0)); got != "/usr/share/man/man1/lbdoctor.1.gz" {
		t.Errorf("man -w lbdoctor: %q", got)
	}
	if got := result("man", 0); !strings.Contains(got, "lbdoctor - would these load-balancer services bind?") {
		t.Errorf("man lbdoctor does not show the NAME line:\n%.600s", got)
	}
	if errText := string(mustRead(t, filepath.Join(results, "man.err"))); errText != "" {
		t.Errorf("man --warnings lbdoctor warned:\n%s", errText)
	}
	if got := strings.TrimSpace(result("bash", 0)); got != "complete -F _lbdoctor lbdoctor" {
		t.Errorf("bash completion: %q", got)
	}
	if len(units) > 0 {
		t.Logf("systemd-analyze verify %s:\n%s", strings.Join(units, " "), result("units", 0))
	} else {
		t.Log("no example units under examples/systemd: systemd-analyze verify not run")
	}
	result("purge", 0)
	result("gone", 0)

	// The host: no package, no file, no mount left.
	if st, present := hostState(); present {
		t.Errorf("after the namespace: lbdoctor is on the host (dpkg: %q)", st)
	}
	out, err := exec.Command("dpkg", "-s", "lbdoctor").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is not installed") {
		t.Errorf("dpkg -s lbdoctor on the host: %v\n%s", err, out)
	}
	for _, f := range want {
		if _, err := os.Lstat(f); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after the namespace: %s exists on the host (%v)", f, err)
		}
	}
	if mi := string(mustRead(t, "/proc/self/mountinfo")); strings.Contains(mi, tag) {
		t.Errorf("a %s mount is left on the host", tag)
	}
	if entries, err := os.ReadDir(work); err != nil || len(entries) != 0 {
		t.Errorf("the tmpfs's mount point %s on the host is not empty (%d entries, %v)", work, len(entries), err)
	}
}

// TestRunRefuses checks that lbdpkg refuses what would make a package
// dpkg or rpm cannot take.
func TestRunRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"-version", "v1.2.3", "-gen", "x", "-bin", "amd64=x"},       // leading v
		{"-version", "1.2.3-rc1", "-gen", "x", "-bin", "amd64=x"},    // '-' needs a revision in deb, is refused by rpm
		{"-version", "1.2.3", "-gen", "x", "-bin", "riscv64=x"},      // no such package architecture
		{"-version", "1.2.3", "-bin", "amd64=x"},                     // no -gen
		{"-version", "1.2.3", "-gen", "x"},                           // no -bin
		{"-version", "1.2.3", "-gen", "x", "-bin", "amd64"},          // no path
		{"-version", "1.2.3", "-gen", "x", "-bin", "amd64=x", "arg"}, // stray argument
	} {
		var out, errb bytes.Buffer
		if err := run(args, &out, &errb); err == nil {
			t.Errorf("lbdpkg %q: no error", args)
		}
	}
}

// TestVersionScript runs version.sh in a scratch git repository through
// its cases, and asks dpkg and rpm whether each version is valid and
// sorts after the one before.
func TestVersionScript(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skipf("TestVersionScript SKIPPED: git is not installed (%v)", err)
	}
	script, err := filepath.Abs("version.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(runOK(t, dir, "git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...))
	}
	version := func() string { return strings.TrimSpace(runOK(t, dir, "sh", script)) }
	commit := func(content string) string {
		os.WriteFile(filepath.Join(dir, "f"), []byte(content), 0o644)
		git("add", "f")
		git("commit", "-q", "-m", content)
		return git("rev-parse", "--short=12", "HEAD")
	}
	var seen []string
	check := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("version.sh: %q, want %q", got, want)
		}
		seen = append(seen, got)
	}
	check(version(), "0.0.0") // not a git repository
	git("init", "-q")
	h := commit("1")
	check(version(), "0.0.0+1.g"+h)
	h = commit("2")
	check(version(), "0.0.0+2.g"+h)
	os.WriteFile(filepath.Join(dir, "f"), []byte("changed"), 0o644)
	check(version(), "0.0.0+2.g"+h+".dirty")
	git("checkout", "-q", "f")
	git("tag", "v1.0.0-rc1")
	check(version(), "1.0.0~rc1")
	commit("3")
	git("tag", "v1.0.0")
	check(version(), "1.0.0")
	os.WriteFile(filepath.Join(dir, "f"), []byte("changed"), 0o644)
	check(version(), "1.0.0+dirty")
	git("checkout", "-q", "f")
	h = commit("4")
	check(version(), "1.0.0+1.g"+h)
	git("tag", "not-a-version") // ignored: only v[0-9]* tags count
	check(version(), "1.0.0+1.g"+h)

	t.Logf("versions: %q", seen)
	for _, v := range seen {
		if !versionRE.MatchString(v) {
			t.Errorf("%q does not match %s", v, versionRE)
		}
	}
	// Ordering as dpkg and rpm see it, skipping the dirty builds and the
	// repeats: each version sorts after the one before.
	var order []string
	for _, v := range seen {
		if !strings.Contains(v, "dirty") && (len(order) == 0 || order[len(order)-1] != v) {
			order = append(order, v)
		}
	}
	if _, err := exec.LookPath("dpkg"); err == nil {
		for i := 1; i < len(order); i++ {
			if err := exec.Command("dpkg", "--compare-versions", order[i-1], "lt", order[i]).Run(); err != nil {
				t.Errorf("dpkg: %s is not before %s", order[i-1], order[i])
			}
		}
	}
	if _, err := exec.LookPath("rpm"); err == nil {
		for i := 1; i < len(order); i++ {
			out, err := exec.Command("rpm", "--eval", fmt.Sprintf(`%%{lua: print(rpm.vercmp(%q, %q))}`, order[i-1], order[i])).Output()
			if err != nil || strings.TrimSpace(string(out)) != "-1" {
				t.Errorf("rpm.vercmp(%s, %s) = %q (%v), want -1", order[i-1], order[i], out, err)
			}
		}
	}
}

func exampleFiles(t *testing.T, root string) []string {
	var files []string
	dir := filepath.Join(root, "examples")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, path.Join("/usr/share/doc/lbdoctor/examples", filepath.ToSlash(rel)))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(files, "/usr/share/doc/lbdoctor/examples/ci/github-actions.yml") {
		t.Fatalf("examples/ci/github-actions.yml is missing from the tree: %q", files)
	}
	return files
}

func sorted(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	sort.Strings(all)
	return all
}

func runOK(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func runBytes(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readResult(t *testing.T, dir, name string) (int, string) {
	t.Helper()
	var rc int
	if _, err := fmt.Sscan(string(mustRead(t, filepath.Join(dir, name+".rc"))), &rc); err != nil {
		t.Fatalf("%s.rc: %v", name, err)
	}
	out := string(mustRead(t, filepath.Join(dir, name+".out")))
	errText := string(mustRead(t, filepath.Join(dir, name+".err")))
	if rc != 0 {
		out += errText
	}
	return rc, out
}

func rpmField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func tarNames(t *testing.T, data []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(gzipOrPlain(t, data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeDir {
			names = append(names, strings.TrimPrefix(h.Name, "./"))
		}
	}
	sort.Strings(names)
	return names
}

// tarFiles reads the regular files of a tar stream by absolute path.
func tarFiles(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[strings.TrimPrefix(h.Name, ".")] = b
		}
	}
	return files
}

func gzipOrPlain(t *testing.T, data []byte) io.Reader {
	if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
		return zr
	}
	return bytes.NewReader(data)
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkStaticELF checks that the packaged binary is a static ELF executable
// for arch: no interpreter, no shared libraries.
func checkStaticELF(t *testing.T, bin []byte, arch string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("/usr/bin/lbdoctor: %v", err)
	}
	if f.Machine != elfMachine[arch] {
		t.Errorf("/usr/bin/lbdoctor is for %v, want %v", f.Machine, elfMachine[arch])
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("/usr/bin/lbdoctor is not static: it has %v", p.Type)
		}
	}
}
