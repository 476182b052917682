package checks_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
)

// afterRebootIDs are the checks whose warnings say that a listener binds
// now but fails after the next reboot (or at boot).
var afterRebootIDs = []string{"LBD402", "LBD410", "LBD413", "LBD420", "LBD421", "LBD422", "LBD423", "LBD424", "LBD425"}

// TestAfterRebootListenerStatus holds the after-reboot findings to the
// contract's listeners[].status: "warn" is a listener that binds now but
// fails in another role or after a reboot. Over every case of those
// checks, a listener with such a warning is warn, with the warning's errno,
// unless an error fails it now (then fail); LBD425's error (a stale socket
// file: nginx fails now) is fail. Each check that warns on a listener
// must have been seen doing so.
func TestAfterRebootListenerStatus(t *testing.T) {
	seen := map[string]int{}
	defer func() {
		for _, id := range []string{"LBD402", "LBD410", "LBD413", "LBD420", "LBD422", "LBD423", "LBD424", "LBD425"} {
			if seen[id] == 0 {
				t.Errorf("%s: no case has a finding of it on a listener: the status of its listeners went unchecked", id)
			}
		}
	}()
	for _, id := range afterRebootIDs {
		files, err := filepath.Glob(filepath.Join("..", "testdata", "checks", id, "*.txtar"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no cases: %v", id, err)
		}
		for _, file := range files {
			t.Run(id+"/"+filepath.Base(file), func(t *testing.T) {
				dir, nodes := extractCase(t, file)
				if len(nodes) > 0 {
					t.Skip("a cluster case: judged per node by TestChecks")
				}
				in := loadInput(t, dir, dir, checks.RoleCurrent)
				res, err := checks.Run(in, checks.All())
				if err != nil {
					t.Fatal(err)
				}
				status := map[*parsers.Listener]checks.ListenerResult{}
				for _, s := range res.Services {
					for _, l := range s.Listeners {
						status[l.Listener] = l
					}
				}
				fails := map[*parsers.Listener]bool{}
				for _, f := range res.Findings {
					if f.Listener != nil && f.Severity == checks.Error && f.Errno != "" {
						fails[f.Listener] = true
					}
				}
				for _, f := range res.Findings {
					if !slices.Contains(afterRebootIDs, f.ID) || f.Listener == nil || f.Severity == checks.Info {
						continue
					}
					seen[f.ID]++
					l := status[f.Listener]
					switch {
					case fails[f.Listener]:
						if l.Status != checks.StatusFail {
							t.Errorf("%s at %s fails now, listener status %q, want fail", f.Listener.Socket(), f.Listener.Pos, l.Status)
						}
					case l.Status != checks.StatusWarn || l.Errno == "" || l.Errno != f.Errno:
						t.Errorf("%s %s on %s at %s: listener status %q errno %q (finding %s), want warn with errno %q",
							f.ID, f.Message, f.Listener.Socket(), f.Listener.Pos, l.Status, l.Errno, l.Finding, f.Errno)
					}
				}
			})
		}
	}
}
