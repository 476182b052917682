package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/checks/node"
	"github.com/lbdoctor/lbdoctor/parsers"
)

// runFix prints what would fix every finding it can fix; with --write it
// writes the persistent files, and nothing else: it never runs a command
// and never changes a running setting.
func fixFlagSet(f *checkFlags, write *bool) *flag.FlagSet {
	fl := flag.NewFlagSet("fix", flag.ContinueOnError)
	addConfigFlags(fl, f)
	fl.BoolVar(write, "write", false, "write the persistent files shown (below --root when given); runs nothing")
	return fl
}

func runFix(args []string, stdout, stderr io.Writer) int {
	var f checkFlags
	var write bool
	fl := fixFlagSet(&f, &write)
	if code, ok := parseFlags(fl, "fix", args, stderr); !ok {
		return code
	}
	if err := applyConfig(&f, flagsSet(fl)); err != nil {
		fail(stderr, "fix", err)
		return exitUsage
	}
	results, err := node.Evaluate(f.Options, stderr)
	if err != nil {
		fail(stderr, "fix", err)
		return exitUsage
	}
	// A bundle's fixes belong on its node: --write writes them here only
	// below a --root tree.
	for _, res := range results {
		if write && f.Root == "" && res.Input.Host.IsBundle() {
			fail(stderr, "fix", fmt.Errorf("--write with the bundle %s would write another node's files on this machine; run lbdoctor fix on %s, or give --root DIR", res.Input.Host.Source, res.Input.Host.Hostname))
			return exitUsage
		}
	}
	var findings []checks.Finding
	for _, res := range results {
		findings = append(findings, res.Findings...)
	}
	files := map[string][]string{}
	var now, after, manual []string
	seen := map[string]bool{}
	for _, fd := range findings {
		if len(fd.Persist) == 0 && !onlySysctl(fd.Fix) {
			manual = append(manual, fmt.Sprintf("%s  %s  %s", fd.Pos, fd.ID, fd.Message))
			continue
		}
		for _, c := range fd.Fix {
			switch {
			case seen[c]:
			case strings.HasPrefix(c, "sysctl "):
				now = append(now, c)
			case c == "systemctl daemon-reload":
				after = append(after, c)
			}
			seen[c] = true
		}
		for _, p := range fd.Persist {
			if !contains(files[p.Path], p.Line) {
				files[p.Path] = append(files[p.Path], p.Line)
			}
		}
	}
	if len(files) == 0 && len(manual) == 0 {
		fmt.Fprintln(stdout, "nothing to fix: every service found would start and bind")
		return exitOK
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if len(now) > 0 {
		fmt.Fprintln(stdout, "# now (lbdoctor never runs these; run them yourself):")
		for _, c := range now {
			fmt.Fprintln(stdout, c)
		}
		fmt.Fprintln(stdout)
	}
	root := parsers.Root(f.Root)
	for _, p := range paths {
		content := strings.Join(files[p], "\n") + "\n"
		fmt.Fprintf(stdout, "# at every boot, %s:\n%s\n", root.Path(p), content)
		if write {
			if err := writeFile(root.Path(p), content); err != nil {
				fail(stderr, "fix", err)
				return exitUsage
			}
			fmt.Fprintf(stdout, "# wrote %s\n\n", root.Path(p))
		}
	}
	if len(after) > 0 {
		fmt.Fprintln(stdout, "# once the files are in place (lbdoctor never runs these):")
		for _, c := range after {
			fmt.Fprintln(stdout, c)
		}
		fmt.Fprintln(stdout)
	}
	if len(manual) > 0 {
		fmt.Fprintln(stdout, "# these need a change by hand (lbdoctor explain ID tells how):")
		for _, m := range manual {
			fmt.Fprintln(stdout, "#   "+m)
		}
	}
	if len(paths) > 0 && !write {
		fmt.Fprintln(stdout, "# lbdoctor fix --write writes the files above; it changes nothing else")
	}
	return exitOK
}

// onlySysctl reports whether a fix is only sysctl commands, which fix
// prints for now, like the ones that come with a file.
func onlySysctl(fix []string) bool {
	for _, c := range fix {
		if !strings.HasPrefix(c, "sysctl ") {
			return false
		}
	}
	return len(fix) > 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// writeFile writes a sysctl.d file or systemd drop-in lbdoctor owns,
// keeping the lines an earlier run wrote there.
func writeFile(path, content string) error {
	old, err := os.ReadFile(path)
	if err == nil {
		lines := strings.Split(strings.TrimRight(string(old), "\n"), "\n")
		for _, l := range strings.Split(strings.TrimRight(content, "\n"), "\n") {
			if !contains(lines, l) {
				lines = append(lines, l)
			}
		}
		content = strings.Join(lines, "\n") + "\n"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}
