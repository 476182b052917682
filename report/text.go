package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
)

// TextOptions controls the human report.
type TextOptions struct {
	Color bool
	// Quiet prints only failing listeners and the findings.
	Quiet bool
	// ShowIgnored also prints the findings that ignores silenced.
	ShowIgnored bool
}

// Text writes the human report: each service with one line per listener,
// then each finding with the daemon's own error line, why, and the fix.
func Text(w io.Writer, r *checks.Result, opts TextOptions) error {
	st := newStyles(w, opts.Color)
	// Buffered, not built in memory: a report of 20,000 findings is
	// megabytes, and growing one string that big costs more than writing it.
	b := bufio.NewWriterSize(w, 64<<10)
	h := r.Input.Host
	if !opts.Quiet {
		fmt.Fprintf(b, "%s  host %s (%s), role %s\n\n", st.heading.Render("lbdoctor check"), Clean(h.Hostname), Clean(h.Source), r.Input.Role)
	}
	workers := renderWorkers(opts.Color)
	for _, s := range r.Services {
		writeService(b, st, s, r.Input, opts.Quiet, workers)
	}
	if len(r.Findings) > 0 && !opts.Quiet {
		fmt.Fprintf(b, "%s\n\n", st.heading.Render("Findings"))
	}
	fixes := sharedFixes(r.Findings)
	inBatches(b, len(r.Findings), workers, func(b textWriter, i int) { writeFinding(b, st, r.Findings, i, fixes[i]) })
	if opts.ShowIgnored && len(r.Ignored) > 0 {
		fmt.Fprintf(b, "%s\n\n", st.heading.Render("Ignored"))
		fixes := sharedFixes(r.Ignored)
		inBatches(b, len(r.Ignored), workers, func(b textWriter, i int) { writeFinding(b, st, r.Ignored, i, fixes[i]) })
	}
	writeSummary(b, st, r)
	return b.Flush()
}

func writeService(b *bufio.Writer, st styles, s checks.ServiceResult, in *checks.Input, quiet bool, workers int) {
	if quiet && s.Status != checks.StatusFail {
		return
	}
	var mark string
	switch s.Status {
	case checks.StatusOK:
		mark = st.ok.Render("✔ would start")
	case checks.StatusFail:
		mark = st.error.Render("✖ would fail")
	default:
		mark = st.dim.Render("– not found")
	}
	path := s.Path
	fmt.Fprintf(b, "%s  %s  %s\n", st.command.Render(s.Name), st.path.Render(Clean(path)), mark)
	inBatches(b, len(s.Listeners), workers, func(b textWriter, i int) { writeListener(b, st, s.Listeners[i], quiet) })
	if s.Name == "keepalived" && !quiet {
		for _, v := range in.VIPs() {
			if v.Pos.File == "" {
				continue
			}
			fmt.Fprintf(b, "  %s VIP %-24s %s  vrrp_instance %s on %s\n", st.dim.Render("•"), v.Prefix, st.path.Render(Clean(v.Pos.String())), Clean(v.Instance.Name), Clean(v.Dev))
		}
	}
	b.WriteString("\n")
}

func writeListener(b textWriter, st styles, l checks.ListenerResult, quiet bool) {
	if quiet && l.Status == checks.StatusOK {
		return
	}
	var m string
	switch l.Status {
	case checks.StatusFail:
		m = st.error.Render("✖")
	case checks.StatusWarn:
		m = st.warning.Render("!")
	default:
		m = st.ok.Render("✔")
	}
	sock := l.Socket()
	if l.Proto != parsers.Unix {
		sock += "/" + string(l.Proto)
	}
	why := checks.Unjudged(l.Listener)
	if why != "" {
		m, sock = st.dim.Render("–"), l.Raw
	}
	line := fmt.Sprintf("  %s %-28s %s", m, Clean(sock), st.path.Render(Clean(l.Pos.String())))
	if l.Errno != "" {
		line += "  " + l.Errno + "  " + st.id.Render(l.Finding)
	}
	if l.Via != "" {
		line += st.dim.Render("  served from " + l.Via)
	}
	if why != "" {
		line += st.dim.Render("  not judged: " + Clean(why))
	}
	if l.Conditional != "" {
		line += st.dim.Render("  only if " + Clean(l.Conditional))
	}
	b.WriteString(line + "\n")
}

// sharedFix says where a finding's fix is printed when other findings
// have the very same one: once, with the last of them.
type sharedFix struct {
	n    int // how many findings share the fix (1: only this one)
	last int // the index of the last of them, which prints it
}

// sharedFixes groups the findings by their fix commands: one sysctl fixes
// every listen on every VIP, and ten copies of it bury the findings.
func sharedFixes(fs []checks.Finding) []sharedFix {
	out := make([]sharedFix, len(fs))
	groups := map[string][]int{}
	var keys []string
	for i, f := range fs {
		if len(f.Fix) == 0 {
			continue
		}
		k := strings.Join(f.Fix, "\x00")
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	for _, k := range keys {
		idx := groups[k]
		for _, i := range idx {
			out[i] = sharedFix{n: len(idx), last: idx[len(idx)-1]}
		}
	}
	return out
}

func writeFinding(b textWriter, st styles, fs []checks.Finding, i int, shared sharedFix) {
	f := fs[i]
	sev := st.severity(f.Severity)
	fmt.Fprintf(b, "%s  %s  %s  %s\n", st.path.Render(Clean(f.Pos.String())), st.id.Render(f.ID), sev, Clean(f.Message))
	if f.DaemonError != "" {
		fmt.Fprintf(b, "    %s\n", st.dim.Render(Clean(f.DaemonError)))
	}
	if f.Why != "" {
		fmt.Fprintf(b, "    why: %s\n", Clean(f.Why))
	}
	switch {
	case len(f.Fix) == 0:
	case shared.n > 1 && i != shared.last:
		fmt.Fprintf(b, "    fix: below, after %s (the same for %d findings)\n", st.path.Render(Clean(fs[shared.last].Pos.String())), shared.n)
	default:
		if shared.n > 1 {
			fmt.Fprintf(b, "    fix (the same for %d findings: this one and %d above):\n", shared.n, shared.n-1)
		} else {
			b.WriteString("    fix:\n")
		}
		for _, c := range f.Fix {
			fmt.Fprintf(b, "      %s\n", st.command.Render("$ "+Clean(c)))
		}
	}
	b.WriteString("\n")
}

func writeSummary(b *bufio.Writer, st styles, r *checks.Result) {
	s := r.Summary()
	counts := fmt.Sprintf("%d %s, %d %s, %d %s", s.Errors, plural(s.Errors, "error"), s.Warnings, plural(s.Warnings, "warning"), s.Infos, plural(s.Infos, "info"))
	if n := len(r.Ignored); n > 0 {
		counts += fmt.Sprintf(", %d ignored", n)
	}
	switch {
	case s.Errors > 0:
		fmt.Fprintf(b, "%s %s; next: %s\n", st.error.Render("✖"), counts, st.command.Render("lbdoctor explain "+firstID(r, checks.Error)))
	case s.Warnings > 0:
		fmt.Fprintf(b, "%s %s; next: %s\n", st.warning.Render("!"), counts, st.command.Render("lbdoctor explain "+firstID(r, checks.Warning)))
	default:
		fmt.Fprintf(b, "%s %s: every service found would start and bind\n", st.ok.Render("✔"), counts)
	}
}

func firstID(r *checks.Result, sev checks.Severity) string {
	for _, f := range r.Findings {
		if f.Severity == sev {
			return f.ID
		}
	}
	return ""
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// Clean keeps text taken from configs from driving the terminal: control
// characters (C0, DEL, C1) are printed as Go escapes, and so are the bytes
// of invalid UTF-8 (a raw 0x9b is CSI to an 8-bit terminal) and the
// bidirectional controls that make a terminal show text in another order
// than it is written (Trojan Source).
func Clean(s string) string {
	if printableASCII(s) || utf8.ValidString(s) && strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r < 0x100 && unicode.IsControl(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		case unsafeRune(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// printableASCII reports whether s is all printable ASCII, the common case
// that clean can pass on without decoding runes.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// unsafeRune reports runes that must not reach a terminal as they are.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}
