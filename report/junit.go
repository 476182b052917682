package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
)

// JUnit XML, as GitLab and Jenkins read test reports: a suite per service,
// a test case per listener, and a failed case per finding that no listener
// carries (config errors, ignores).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *struct{}     `xml:"skipped,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes the results as a JUnit XML test report; with several
// results (one per --host) each suite is named HOST/SERVICE.
func JUnit(w io.Writer, rs ...*checks.Result) error {
	out := junitSuites{Name: "lbdoctor"}
	for _, r := range rs {
		prefix := ""
		if len(rs) > 1 {
			prefix = r.Input.Host.Hostname + "/"
		}
		out.Suites = append(out.Suites, junitResult(r, prefix)...)
	}
	for _, s := range out.Suites {
		out.Tests += s.Tests
		out.Failures += s.Failures
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitResult(r *checks.Result, prefix string) []junitSuite {
	// Each listener's findings, in one pass: looking them up listener by
	// listener made a report of 20,000 failing listeners take seconds.
	byListener := map[*parsers.Listener][]checks.Finding{}
	for _, f := range r.Findings {
		if f.Listener != nil {
			byListener[f.Listener] = append(byListener[f.Listener], f)
		}
	}
	var suites []junitSuite
	for _, s := range r.Services {
		suite := junitSuite{Name: prefix + s.Name}
		if s.Status == checks.StatusNotFound {
			suite.Cases = append(suite.Cases, junitCase{Name: "config " + s.Path, Classname: s.Name, Skipped: &struct{}{}})
			suite.Skipped++
		}
		for _, l := range s.Listeners {
			c := junitCase{Name: l.Socket() + "/" + string(l.Proto), Classname: s.Name, File: l.Pos.File, Line: l.Pos.Line}
			if f := junitFailureFor(byListener[l.Listener]); f != nil {
				c.Failure = f
				suite.Failures++
			}
			suite.Cases = append(suite.Cases, c)
		}
		for _, f := range r.Findings {
			if f.Listener != nil || f.Service != s.Name {
				continue
			}
			suite.Cases = append(suite.Cases, junitCase{
				Name: f.ID + " " + f.Pos.String(), Classname: s.Name, File: f.Pos.File, Line: f.Pos.Line,
				Failure: &junitFailure{Message: f.Message, Type: f.ID, Text: findingText(f)},
			})
			suite.Failures++
		}
		suite.Tests = len(suite.Cases)
		suites = append(suites, suite)
	}
	return suites
}

// junitFailureFor is the failure of a listener with these findings, or nil.
func junitFailureFor(findings []checks.Finding) *junitFailure {
	var msgs, ids []string
	var text strings.Builder
	for _, f := range findings {
		ids = append(ids, f.ID)
		msgs = append(msgs, f.Message)
		text.WriteString(findingText(f))
	}
	if len(ids) == 0 {
		return nil
	}
	return &junitFailure{Message: strings.Join(msgs, "; "), Type: strings.Join(ids, ","), Text: text.String()}
}

func findingText(f checks.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s: %s\n", f.Pos, f.ID, f.Severity, f.Message)
	if f.DaemonError != "" {
		fmt.Fprintf(&b, "%s\n", f.DaemonError)
	}
	if f.Why != "" {
		fmt.Fprintf(&b, "why: %s\n", f.Why)
	}
	for _, c := range f.Fix {
		fmt.Fprintf(&b, "fix: %s\n", c)
	}
	return b.String()
}
