package checks

import (
	"slices"
	"strings"

	"github.com/lbdoctor/lbdoctor/parsers"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// The after-reboot verdict: a listener is judged twice, on the host as it
// is now and on the host as the next boot leaves it, where every sysctl
// has the value systemd-sysctl gives it (the kernel default when no
// sysctl.d file sets it). LBD402 and LBD403 do this for the non-local bind
// sysctls; LBD420 and LBD421 for every other sysctl that decides a bind,
// by running the checks that decide a bind on the host with that one
// sysctl changed, so that each difference names the sysctl and the file
// that make it.

// bindChecks are the checks whose error findings say that bind() (or
// socket()) fails.
func bindChecks() []*Check {
	return []*Check{LBD101, LBD102, LBD103, LBD201, LBD202, LBD302, LBD401}
}

// bindFailures runs the bind checks on in and returns, per listener, the
// first error finding with an errno.
func bindFailures(in *Input) map[*parsers.Listener]Finding {
	out := map[*parsers.Listener]Finding{}
	rc := newRunCache(in)
	for _, c := range bindChecks() {
		var fs []Finding
		if err := c.Run(&Pass{Check: c, Input: in, findings: &fs, rc: rc}); err != nil {
			continue
		}
		for _, f := range fs {
			sev := f.Severity
			if sev == 0 {
				sev = c.Severity
			}
			if f.Listener == nil || f.Errno == "" || sev != Error {
				continue
			}
			if _, ok := out[f.Listener]; !ok {
				f.ID = c.ID
				out[f.Listener] = f
			}
		}
	}
	return out
}

// sysctlDiff is a bind sysctl whose value after a reboot differs from
// the running one.
type sysctlDiff struct {
	name, now, boot string
	at              parsers.Pos // the line that sets boot; no file: the kernel default
}

// rebootDiffs lists the sysctls LBD420 and LBD421 judge (every bind
// sysctl but the non-local bind ones, which LBD402 and LBD403 judge; the
// port range and reserved ports decide a race rather than a bind, which
// LBD423 judges, so for them only LBD421's "persisted but not applied"
// can come out) whose value after a reboot differs from now, by name.
func rebootDiffs(h *host.Facts) []sysctlDiff {
	names := []string{host.BindV6Only, host.UnprivilegedPortMin, host.LocalPortRange, host.ReservedPorts}
	for _, itf := range h.Interfaces {
		names = append(names, host.DisableIPv6(itf.Name))
	}
	var out []sysctlDiff
	for _, name := range names {
		now, measured := h.Sysctls[name] // "" is a value: no reserved ports
		boot, at, known := bootValue(h, name)
		if !measured || !known || sameValue(now, boot) {
			continue
		}
		out = append(out, sysctlDiff{name: name, now: now, boot: boot, at: at})
	}
	slices.SortStableFunc(out, func(a, b sysctlDiff) int { return strings.Compare(a.name, b.name) })
	return out
}

// sameValue compares two sysctl values as the kernel reads them: numbers
// separated by any whitespace.
func sameValue(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

// rebootEffect is what one differing sysctl does to the listeners:
// worse are those that bind now and fail after a reboot (with the
// finding that says why), better those that fail now and bind after it.
type rebootEffect struct {
	sysctlDiff
	worse  []*parsers.Listener
	why    map[*parsers.Listener]Finding
	better []*parsers.Listener
}

// rebootEffects judges every listener with each differing sysctl at its
// boot value, one sysctl at a time.
func rebootEffects(p *Pass) []rebootEffect {
	diffs := rebootDiffs(p.Host)
	if len(diffs) == 0 {
		return nil
	}
	now := bindFailures(p.Input)
	var out []rebootEffect
	for _, d := range diffs {
		in := *p.Input
		in.Host = p.Host.WithSysctl(d.name, d.boot)
		boot := bindFailures(&in)
		e := rebootEffect{sysctlDiff: d, why: map[*parsers.Listener]Finding{}}
		for _, l := range p.Listeners() {
			_, failsNow := now[l]
			f, failsBoot := boot[l]
			switch {
			case failsBoot && !failsNow:
				e.worse = append(e.worse, l)
				e.why[l] = f
			case failsNow && !failsBoot:
				e.better = append(e.better, l)
			}
		}
		out = append(out, e)
	}
	return out
}

// rebootEffectsOnce caches rebootEffects for the Run: LBD420 and LBD421
// ask the same question.
func (p *Pass) rebootEffects() []rebootEffect {
	c := p.cache()
	c.rebootOnce.Do(func() { c.reboot = rebootEffects(p) })
	return c.reboot
}

// persistFile is the sysctl.d file lbdoctor's fix for name writes: one per
// sysctl, so that fixes do not overwrite each other, named to sort after
// Debian's 99-sysctl.conf so that it is applied last and wins.
func persistFile(name string) string {
	return "/etc/sysctl.d/99-zz-lbdoctor-" + strings.ReplaceAll(name, "/", ".") + ".conf"
}
