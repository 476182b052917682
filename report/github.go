package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/lbdoctor/lbdoctor/checks"
)

// GitHub writes findings as GitHub Actions workflow commands, which the
// runner turns into annotations on the config lines. With several results
// (one per --host), each message names its host.
func GitHub(w io.Writer, rs ...*checks.Result) error {
	for _, r := range rs {
		if err := github(w, r, len(rs) > 1); err != nil {
			return err
		}
	}
	return nil
}

func github(w io.Writer, r *checks.Result, label bool) error {
	for _, f := range r.Findings {
		level := "error"
		switch f.Severity {
		case checks.Warning:
			level = "warning"
		case checks.Info:
			level = "notice"
		}
		msg := Clean(f.Message) // the runner log renders ANSI escapes
		if label {
			msg = "[" + Clean(r.Input.Host.Hostname) + "] " + msg
		}
		if f.Why != "" {
			msg += "\n" + Clean(f.Why)
		}
		for _, c := range f.Fix {
			msg += "\nfix: " + Clean(c)
		}
		if _, err := fmt.Fprintf(w, "::%s file=%s,line=%d,title=%s::%s\n", level,
			ghProperty(Clean(f.Pos.File)), f.Pos.Line, ghProperty(f.ID+" "+checkTitle(f.ID)), ghData(msg)); err != nil {
			return err
		}
	}
	return nil
}

// ghData escapes a workflow command's message as the runner expects.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func checkTitle(id string) string {
	if c := checks.ByID(id); c != nil {
		return c.Title
	}
	return ""
}
