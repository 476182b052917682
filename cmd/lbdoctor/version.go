package main

import "runtime/debug"

// stampedVersion and stampedCommit are set by make build and make package
// (-ldflags "-X main.stampedVersion=... -X main.stampedCommit=..."), so a
// packaged binary names its package's version, and a build from a git
// worktree (where Go cannot read the commit itself) still names its commit.
var stampedVersion, stampedCommit string

// version is the module version (or the version make stamped) and, for a
// build from a checkout, the commit it was built from.
func version() string {
	v := stampedVersion
	info, ok := debug.ReadBuildInfo()
	if !ok && v == "" {
		return "(unknown)"
	}
	if v == "" {
		v = info.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	var rev, dirty string
	if ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
	}
	if rev == "" {
		rev = stampedCommit
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " commit " + rev + dirty
	}
	return v
}
