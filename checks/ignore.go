package checks

import (
	"fmt"
	"path"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers/directive"
)

// LBD002 reports lbdoctor:ignore directives that do not say why.
var LBD002 = &Check{
	ID:       "LBD002",
	Name:     "ignore-without-reason",
	Title:    "An lbdoctor:ignore directive has no ID or no reason",
	Severity: Error,
	Doc: `An inline ignore silences findings on its line (as a trailing comment) or
on the next line (as a comment line of its own). Like staticcheck's
//lint:ignore, it must name the IDs it silences and say why, so the next
reader knows whether it still holds:

    # lbdoctor:ignore LBD401 the VIP is added by our orchestrator before nginx starts
    listen 10.0.0.100:80;

A directive without a reason silences nothing and is reported.

Fix: add the IDs (comma-separated, patterns like LBD4* allowed) and a
reason after them.`,
	Run: func(p *Pass) error {
		for _, ig := range p.Ignores {
			if len(ig.IDs) > 0 && ig.Reason != "" {
				continue
			}
			p.Report(Finding{
				Pos:     ig.Pos,
				Message: "lbdoctor:ignore needs the IDs it silences and a reason: # lbdoctor:ignore LBD101 why",
				Why:     "an ignore without a reason cannot be reviewed, so lbdoctor does not apply it",
			})
		}
		return nil
	},
}

// LBD003 reports ignores that silenced nothing; the runner makes these
// findings once every other check has run.
var LBD003 = &Check{
	ID:       "LBD003",
	Name:     "unused-ignore",
	Title:    "An lbdoctor:ignore directive matches no finding",
	Severity: Warning,
	Doc: `An inline lbdoctor:ignore names IDs that no finding on its line (or, for a
comment line of its own, the next line) has. The problem it was written for
is gone, or the directive sits on the wrong line; either way it would
silently hide the next real problem there.

Fix: delete the directive, or move it to the line of the finding.`,
}

// applyIgnores moves the findings that a directive with a reason, or a
// suppression, covers to ignored, and reports directives that covered
// nothing.
func applyIgnores(igs []directive.Ignore, sup []Suppression, findings []Finding, reportUnused bool) (kept, ignored []Finding) {
	if len(igs) == 0 && len(sup) == 0 {
		return findings, nil // nothing to silence: no copy of 20,000 findings
	}
	used := make([]bool, len(igs))
	for _, f := range findings {
		silenced := false
		for _, s := range sup {
			silenced = silenced || s.matches(f)
		}
		for i, ig := range igs {
			if ig.Reason == "" || ig.Pos.File != f.Pos.File || !ig.Covers(f.Pos.Line) || !matchesAny(ig.IDs, f.ID) {
				continue
			}
			used[i], silenced = true, true
		}
		if silenced {
			ignored = append(ignored, f)
		} else {
			kept = append(kept, f)
		}
	}
	if !reportUnused {
		return kept, ignored
	}
	for i, ig := range igs {
		if used[i] || ig.Reason == "" || clusterOnly(ig.IDs) {
			continue
		}
		kept = append(kept, Finding{
			ID:       LBD003.ID,
			Severity: LBD003.Severity,
			Pos:      ig.Pos,
			Message:  fmt.Sprintf("lbdoctor:ignore %s matches no finding", strings.Join(ig.IDs, ",")),
			Why:      "no finding with these IDs is on the line it covers",
			Fix:      []string{fmt.Sprintf("delete the directive at %s", ig.Pos)},
		})
	}
	return kept, ignored
}

// matchesAny reports whether id matches one of the patterns ("LBD101",
// "LBD4*", "all").
func matchesAny(patterns []string, id string) bool {
	for _, p := range patterns {
		if p == "all" {
			return true
		}
		if ok, _ := path.Match(p, id); ok {
			return true
		}
	}
	return false
}

// Select picks checks the way staticcheck's -checks does: a comma list
// applied left to right, "all" adds every check, "ID" or "LBD4*" adds,
// "-ID" removes.
func Select(all []*Check, spec string) ([]*Check, error) {
	on := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		enable := !strings.HasPrefix(item, "-")
		pat := strings.TrimPrefix(item, "-")
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("bad check pattern %q: %w", item, err)
		}
		n := 0
		for _, c := range all {
			if matchesAny([]string{pat}, c.ID) {
				on[c.ID] = enable
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("check pattern %q matches no check (see lbdoctor list)", item)
		}
	}
	var out []*Check
	for _, c := range all {
		if on[c.ID] {
			out = append(out, c)
		}
	}
	return out, nil
}

// clusterOnly reports whether ids name only cluster checks, which a run over
// one node never reports: an ignore of them is for lbdoctor cluster, and
// not unused there.
func clusterOnly(ids []string) bool {
	for _, id := range ids {
		if c := ByID(id); c == nil || c.RunCluster == nil {
			return false
		}
	}
	return len(ids) > 0
}
