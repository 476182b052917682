package report

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// styles names every colour by what it means; no other file picks colours.
type styles struct {
	error, warning, info, ok lipgloss.Style
	id, path, command, dim   lipgloss.Style
	heading                  lipgloss.Style
}

func newStyles(w io.Writer, color bool) styles {
	r := lipgloss.NewRenderer(w)
	if color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	return styles{
		error:   r.NewStyle().Foreground(lipgloss.Color("9")).Bold(true),
		warning: r.NewStyle().Foreground(lipgloss.Color("11")).Bold(true),
		info:    r.NewStyle().Foreground(lipgloss.Color("12")),
		ok:      r.NewStyle().Foreground(lipgloss.Color("10")),
		id:      r.NewStyle().Foreground(lipgloss.Color("13")),
		path:    r.NewStyle().Foreground(lipgloss.Color("14")),
		command: r.NewStyle().Bold(true),
		dim:     r.NewStyle().Faint(true),
		heading: r.NewStyle().Bold(true).Underline(true),
	}
}
