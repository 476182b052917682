package checks

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// Status values of services and listeners, as the JSON contract spells them.
const (
	StatusOK       = "ok"
	StatusFail     = "fail"
	StatusWarn     = "warn"
	StatusNotFound = "not-found"
)

// Result is the verdict: every service with its listeners, and the findings.
type Result struct {
	Input    *Input
	Services []ServiceResult
	Findings []Finding // sorted by file, line, ID
	// Ignored are the findings an lbdoctor:ignore directive silenced.
	Ignored []Finding
}

// ServiceResult is one service's verdict.
type ServiceResult struct {
	Name      string
	Path      string
	Status    string
	Listeners []ListenerResult
}

// ListenerResult is one listener's verdict.
type ListenerResult struct {
	*parsers.Listener
	Status  string
	Errno   string
	Finding string // the ID of the finding that decided Status
}

// Summary counts findings by severity.
type Summary struct{ Errors, Warnings, Infos int }

// Summary counts the result's findings by severity.
func (r *Result) Summary() Summary {
	var s Summary
	for _, f := range r.Findings {
		switch f.Severity {
		case Error:
			s.Errors++
		case Warning:
			s.Warnings++
		default:
			s.Infos++
		}
	}
	return s
}

// Worst is the highest severity found, or 0 when nothing was found.
func (r *Result) Worst() Severity {
	var w Severity
	for _, f := range r.Findings {
		w = max(w, f.Severity)
	}
	return w
}

// Run runs the checks over the input and derives each listener's and each
// service's status from the findings. An error means a check broke, never
// that it found something.
func Run(in *Input, cs []*Check) (*Result, error) {
	// Checks only read the input and the shared indexes, so they run at
	// the same time; their findings are joined in check order, as one
	// after the other would have made them.
	reportUnused := false
	rc := newRunCache(in)
	rc.running = map[string]bool{}
	for _, c := range cs {
		rc.running[c.ID] = c.Run != nil
	}
	perCheck := make([][]Finding, len(cs))
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		if c.Run == nil {
			reportUnused = reportUnused || c == LBD003
			continue
		}
		wg.Go(func() {
			errs[i] = c.Run(&Pass{Check: c, Input: in, findings: &perCheck[i], rc: rc})
		})
	}
	wg.Wait()
	total := 0
	for i, c := range cs {
		if errs[i] != nil {
			return nil, fmt.Errorf("check %s: %w", c.ID, errs[i])
		}
		total += len(perCheck[i])
	}
	// Sized once: growing it finding by finding copied tens of megabytes.
	findings := make([]Finding, 0, total)
	for i := range cs {
		findings = append(findings, perCheck[i]...)
		perCheck[i] = nil
	}
	tolerate(in, findings)
	for i := range findings {
		if sev, ok := in.Severity[findings[i].ID]; ok {
			findings[i].Severity = sev
		}
	}
	findings, ignored := applyIgnores(in.Ignores, in.Suppress, findings, reportUnused)
	findings = sortFindings(findings)
	ignored = sortFindings(ignored)
	r := &Result{Input: in, Findings: findings, Ignored: ignored}
	// Each listener's bind failures, in the order of findings: one pass
	// over the findings instead of one per listener.
	byListener := map[*parsers.Listener][]*Finding{}
	for i := range findings {
		if f := &findings[i]; f.Listener != nil && f.Errno != "" {
			byListener[f.Listener] = append(byListener[f.Listener], f)
		}
	}
	for _, s := range in.Services {
		r.Services = append(r.Services, serviceResult(s, findings, byListener))
	}
	return r, nil
}

// sortFindings returns findings ordered by file, line, ID and address,
// keeping the order checks made them in where those are equal. It sorts
// positions, not the findings themselves: a stable sort moves each (large)
// finding O(log n) times, which made a run of 100,000 findings grow faster
// than its input. The findings are then copied once, into a new slice.
func sortFindings(findings []Finding) []Finding {
	if len(findings) == 0 {
		return findings
	}
	order := make([]int32, len(findings))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		// One comparison at a time: cmp.Or would compute all of them.
		a, b := &findings[i], &findings[j]
		if c := strings.Compare(a.Pos.File, b.Pos.File); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Pos.Line, b.Pos.Line); c != 0 {
			return c
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		if c := strings.Compare(a.Address, b.Address); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Port, b.Port); c != 0 {
			return c
		}
		return cmp.Compare(i, j)
	})
	sorted := make([]Finding, len(findings))
	for k, i := range order {
		sorted[k] = findings[i]
	}
	return sorted
}

// errnoStage orders the errors of one listener by when the kernel returns
// them: socket() fails first (a seccomp filter's EAFNOSUPPORT), then a
// cgroup BPF bind program's EPERM, then bind()'s own checks, whose order
// the checks' IDs follow.
func errnoStage(errno string) int {
	switch errno {
	case "EAFNOSUPPORT":
		return 0
	case "EPERM":
		return 1
	}
	return 2
}

func serviceResult(s Service, findings []Finding, byListener map[*parsers.Listener][]*Finding) ServiceResult {
	sr := ServiceResult{Name: s.Name, Path: s.Path, Status: StatusOK}
	if s.Config == nil {
		sr.Status = StatusNotFound
		return sr
	}
	for i := range s.Config.Listeners {
		l := &s.Config.Listeners[i]
		lr := ListenerResult{Listener: l, Status: StatusOK}
		for _, f := range byListener[l] {
			switch {
			case f.Severity == Error && (lr.Status != StatusFail || errnoStage(f.Errno) < errnoStage(lr.Errno)):
				lr.Status, lr.Errno, lr.Finding = StatusFail, f.Errno, f.ID
			case lr.Status == StatusOK:
				lr.Status, lr.Errno, lr.Finding = StatusWarn, f.Errno, f.ID
			}
		}
		if lr.Status == StatusFail {
			sr.Status = StatusFail
		}
		sr.Listeners = append(sr.Listeners, lr)
	}
	for _, f := range findings {
		if f.Service == s.Name && f.ID == LBD001.ID && f.Severity == Error {
			sr.Status = StatusFail
		}
	}
	sort.SliceStable(sr.Listeners, func(i, j int) bool {
		return posLess(sr.Listeners[i].Pos, sr.Listeners[j].Pos)
	})
	return sr
}

// tolerate turns the bind failures a daemon survives into warnings: a
// listener whose Optional errors include the finding's errno, in a group
// where another listener binds (PostgreSQL's listen_addresses: it logs
// "could not bind" and starts as long as one address binds; Redis's
// "-"-prefixed bind addresses). When no listener of the group binds, the
// daemon exits ("could not create any TCP/IP sockets", "Configured to not
// listen anywhere"), and the findings stay errors.
func tolerate(in *Input, findings []Finding) {
	type group struct {
		cfg  *parsers.Config
		name string
	}
	failing := map[*parsers.Listener]bool{}
	for _, f := range findings {
		if f.Listener != nil && f.Errno != "" && f.Severity == Error {
			failing[f.Listener] = true
		}
	}
	if len(failing) == 0 {
		return
	}
	binds := map[group]*parsers.Listener{}
	groupOf := map[*parsers.Listener]group{}
	for _, s := range in.Services {
		if s.Config == nil {
			continue
		}
		for i := range s.Config.Listeners {
			l := &s.Config.Listeners[i]
			if l.Group == "" {
				continue
			}
			g := group{s.Config, l.Group}
			groupOf[l] = g
			if _, ok := binds[g]; !ok && !failing[l] && (l.Addr.IsValid() || l.Proto == parsers.Unix) && l.Uncheckable == "" {
				binds[g] = l
			}
		}
	}
	for i := range findings {
		f := &findings[i]
		l := f.Listener
		if l == nil || f.Errno == "" || f.Severity != Error || !l.Tolerates(f.Errno) {
			continue
		}
		other, ok := binds[groupOf[l]]
		if !ok || l.Group == "" {
			continue
		}
		f.Severity = Warning
		f.Message = strings.Replace(f.Message, " would fail: ", " would start without this socket: ", 1)
		f.Why = fmt.Sprintf("%s; %s logs the failure and starts anyway, because %s (%s) binds", f.Why, l.Service, other.Socket(), other.Pos)
	}
}
