package report

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/muesli/termenv"
)

// styles names every colour by what it means; no other file picks colours.
type styles struct {
	error, warning, info, ok style
	id, path, command, dim   style
	heading                  style
}

// style is a lipgloss style that is only applied with colour on. Without
// colour it would change nothing in the (cleaned, single-line) text we
// render, yet lipgloss.Style.Render costs microseconds per call, and a
// report of 20,000 findings calls it 100,000 times.
type style struct {
	lipgloss.Style
	on bool
}

// Render styles s, or returns it as it is without colour.
func (st style) Render(s string) string {
	if !st.on {
		return s
	}
	return st.Style.Render(s)
}

// severity is the severity's name in its colour.
func (st styles) severity(sev checks.Severity) string {
	switch sev {
	case checks.Error:
		return st.error.Render(sev.String())
	case checks.Warning:
		return st.warning.Render(sev.String())
	}
	return st.info.Render(sev.String())
}

func newStyles(w io.Writer, color bool) styles {
	r := lipgloss.NewRenderer(w)
	if color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	s := func(ls lipgloss.Style) style { return style{ls, color} }
	return styles{
		error:   s(r.NewStyle().Foreground(lipgloss.Color("9")).Bold(true)),
		warning: s(r.NewStyle().Foreground(lipgloss.Color("11")).Bold(true)),
		info:    s(r.NewStyle().Foreground(lipgloss.Color("12"))),
		ok:      s(r.NewStyle().Foreground(lipgloss.Color("10"))),
		id:      s(r.NewStyle().Foreground(lipgloss.Color("13"))),
		path:    s(r.NewStyle().Foreground(lipgloss.Color("14"))),
		command: s(r.NewStyle().Bold(true)),
		dim:     s(r.NewStyle().Faint(true)),
		heading: s(r.NewStyle().Bold(true).Underline(true)),
	}
}
