package checks_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/checks"
)

// TestIfcfgSlotsAcrossChecks: LBD410 and LBD411 append to one ifcfg file.
// The IPADDRn indexes are given once per run, in address order, so the
// two fixes never write the same IPADDRn, and the lines are the same
// whatever order the checks are listed (and scheduled) in; a run without
// LBD410 numbers LBD411's address alone, leaving no gap.
func TestIfcfgSlotsAcrossChecks(t *testing.T) {
	dir, _ := extractCase(t, "../testdata/checks/LBD411/ifcfg_shared_file.txtar")
	in := loadInput(t, dir, dir, checks.RoleCurrent)
	persist := func(cs ...*checks.Check) []string {
		t.Helper()
		res, err := checks.Run(in, cs)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, f := range res.Findings {
			for _, l := range f.Persist {
				if strings.HasSuffix(l.Path, "/ifcfg-eth1") {
					lines = append(lines, f.ID+" "+l.Line)
				}
			}
		}
		slices.Sort(lines)
		return lines
	}
	both := []string{"LBD410 IPADDR1=10.1.0.9", "LBD410 PREFIX1=24", "LBD411 IPADDR2=10.1.0.23", "LBD411 PREFIX2=24"}
	for range 20 {
		for _, cs := range [][]*checks.Check{{checks.LBD410, checks.LBD411}, {checks.LBD411, checks.LBD410}, checks.All()} {
			if got := persist(cs...); !slices.Equal(got, both) {
				t.Fatalf("checks %s: ifcfg-eth1 lines %q, want %q", ids(cs), got, both)
			}
		}
	}
	if got, want := persist(checks.LBD411), []string{"LBD411 IPADDR1=10.1.0.23", "LBD411 PREFIX1=24"}; !slices.Equal(got, want) {
		t.Fatalf("LBD411 alone: ifcfg-eth1 lines %q, want %q", got, want)
	}
}

func ids(cs []*checks.Check) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.ID)
	}
	if len(s) > 3 {
		return "all"
	}
	return strings.Join(s, ",")
}
