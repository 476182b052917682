package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// series is one sample of a textfile, as Prometheus would store it.
type series struct {
	labels map[string]string // with __name__
	value  float64
}

// readTextfile reads metrics as node_exporter's textfile collector does:
// with the Prometheus text parser (legacy names, the strict rule).
func readTextfile(t *testing.T, text []byte) []series {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("the Prometheus text parser rejects the metrics: %v\n%s", err, text)
	}
	var out []series
	for name, mf := range mfs {
		if mf.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
		for _, m := range mf.GetMetric() {
			s := series{labels: map[string]string{"__name__": name}, value: m.GetGauge().GetValue()}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			out = append(out, s)
		}
	}
	return out
}

func (s series) String() string {
	var ls []string
	for k, v := range s.labels {
		if k != "__name__" {
			ls = append(ls, fmt.Sprintf("%s=%q", k, v))
		}
	}
	sort.Strings(ls)
	return fmt.Sprintf("%s{%s} %v", s.labels["__name__"], strings.Join(ls, ","), s.value)
}

// eval evaluates the instant expressions that alert rules on a textfile
// use (a selector compared with or subtracted from a number, time()) over
// one scrape, parsed by Prometheus's own PromQL parser. It is no engine:
// anything else fails the test, so the rules stay within what it proves.
func eval(t *testing.T, e parser.Expr, data []series, now float64) (vec []series, scalar float64, isScalar bool) {
	t.Helper()
	switch e := e.(type) {
	case *parser.ParenExpr:
		return eval(t, e.Expr, data, now)
	case *parser.NumberLiteral:
		return nil, e.Val, true
	case *parser.Call:
		if e.Func.Name == "time" {
			return nil, now, true
		}
	case *parser.VectorSelector:
		for _, s := range data {
			if !slices.ContainsFunc(e.LabelMatchers, func(m *labels.Matcher) bool { return !m.Matches(s.labels[m.Name]) }) {
				vec = append(vec, s)
			}
		}
		return vec, 0, false
	case *parser.BinaryExpr:
		lv, ls, lScalar := eval(t, e.LHS, data, now)
		rv, rs, rScalar := eval(t, e.RHS, data, now)
		if !lScalar && !rScalar {
			break
		}
		apply := func(a, b float64) (float64, bool) {
			switch e.Op {
			case parser.ADD:
				return a + b, true
			case parser.SUB:
				return a - b, true
			case parser.EQLC:
				return a, a == b
			case parser.NEQ:
				return a, a != b
			case parser.GTR:
				return a, a > b
			case parser.LSS:
				return a, a < b
			case parser.GTE:
				return a, a >= b
			case parser.LTE:
				return a, a <= b
			}
			t.Fatalf("eval: operator %s is not supported", e.Op)
			return 0, false
		}
		if lScalar && rScalar {
			v, _ := apply(ls, rs)
			return nil, v, true
		}
		for _, s := range append(lv, rv...) {
			a, b := s.value, rs
			if lScalar {
				a, b = ls, s.value
			}
			v, keep := apply(a, b)
			if !keep {
				continue
			}
			out := series{labels: map[string]string{}, value: v}
			for k, l := range s.labels {
				if k != "__name__" || e.Op.IsComparisonOperator() {
					out.labels[k] = l
				}
			}
			vec = append(vec, out)
		}
		return vec, 0, false
	}
	t.Fatalf("eval: %T %s is not supported", e, e)
	return nil, 0, false
}

// TestPrometheusExamples loads examples/prometheus/lbdoctor.rules.yml with
// Prometheus's own rule loader (model/rulefmt: YAML, PromQL, templates, as
// promtool check rules does) and evaluates each alert on the metrics the
// demo's BACKUP node writes, and on those of a run that could not do the
// job: the failover alert fires for exactly the services that would break,
// the down alert only when lbdoctor_up is 0, the stale one only when the
// file is old.
func TestPrometheusExamples(t *testing.T) {
	rulesFile := filepath.Join("..", "..", "examples", "prometheus", "lbdoctor.rules.yml")
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation, p, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if len(errs) > 0 {
		t.Fatalf("Prometheus rejects %s: %v", rulesFile, errs)
	}
	rules := map[string]string{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			rules[r.Alert] = r.Expr
		}
	}

	// The demo's BACKUP node, judged in both roles, through -o as the timer
	// runs it.
	dir := t.TempDir()
	out := filepath.Join(dir, "lbdoctor.prom")
	demo := filepath.Join("..", "..", "testdata", "demo")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "--root", filepath.Join(demo, "lb2"), "--host", filepath.Join(demo, "lb2.host.yaml"), "--role", "both", "--format", "prometheus", "-o", out}, &stdout, &stderr); code != exitFindings || stdout.Len() > 0 {
		t.Fatalf("check exit %d, want 1 and nothing on stdout: %s%s", code, stdout.String(), stderr.String())
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	good := readTextfile(t, text)
	// A run that could not do the job: an nginx config that is not there.
	stdout.Reset()
	if code := run([]string{"check", "--nginx", filepath.Join(dir, "missing.conf"), "--host", filepath.Join(demo, "lb2.host.yaml"), "--format", "prometheus"}, &stdout, io.Discard); code != exitUsage {
		t.Fatalf("check of a missing config: exit %d, want 2", code)
	}
	down := readTextfile(t, stdout.Bytes())

	// Now is when the run wrote the file; an hour later it is stale.
	now := -1.0
	for _, s := range good {
		if s.labels["__name__"] == "lbdoctor_last_run_timestamp_seconds" {
			now = s.value
		}
	}
	if now < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Fatalf("lbdoctor_last_run_timestamp_seconds %v is not the time of the run", now)
	}
	fires := func(alert string, data []series, now float64) []string {
		expr, ok := rules[alert]
		if !ok {
			t.Fatalf("%s has no alert %s", rulesFile, alert)
		}
		e, err := p.ParseExpr(expr)
		if err != nil {
			t.Fatal(err)
		}
		vec, _, isScalar := eval(t, e, data, now)
		if isScalar {
			t.Fatalf("%s: %s is a scalar, not an alert", alert, expr)
		}
		var got []string
		for _, s := range vec {
			s.value = math.Round(s.value*1000) / 1000 // the age of a file, in seconds since it was written
			got = append(got, s.String())
		}
		sort.Strings(got)
		return got
	}
	for _, tc := range []struct {
		alert string
		data  []series
		now   float64
		want  []string
	}{
		{"LBDoctorFailoverWouldBreakService", good, now, []string{
			`lbdoctor_service_ok{host="lb2",role="both",service="haproxy"} 0`,
			`lbdoctor_service_ok{host="lb2",role="both",service="nginx"} 0`,
			`lbdoctor_service_ok{host="lb2",role="both",service="redis"} 0`,
		}},
		{"LBDoctorFailoverWouldBreakService", down, now, nil},
		{"LBDoctorDown", good, now, nil},
		{"LBDoctorDown", down, now, []string{`lbdoctor_up{} 0`}},
		{"LBDoctorStale", good, now, nil},
		{"LBDoctorStale", good, now + 3600, []string{"{} 3600"}},
	} {
		got := fires(tc.alert, tc.data, tc.now)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s fires for %q, want %q", tc.alert, got, tc.want)
		}
	}
}

// TestSystemdExamples checks examples/systemd with systemd's own tools:
// systemd-analyze verify (which needs no running systemd, and here has
// none as PID 1) on the units as written, but for ExecStart's binary,
// pointed at this lbdoctor, and with this lbdoctor's man page for
// Documentation=; systemd-analyze security --offline scores the hardening.
// The ExecStart command line is then run as is (the output directory
// moved to a temporary one): it must write a textfile Prometheus reads.
func TestSystemdExamples(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("SKIP: systemd-analyze is not installed (Debian: systemd): the example units are not verified")
	}
	bin, err := exec.LookPath("lbdoctor") // testscript's TestMain puts this binary there, as lbdoctor
	if err != nil {
		t.Fatalf("no lbdoctor command from TestMain: %v", err)
	}
	dir := t.TempDir()
	units := filepath.Join("..", "..", "examples", "systemd")
	service, err := os.ReadFile(filepath.Join(units, "lbdoctor.service"))
	if err != nil {
		t.Fatal(err)
	}
	timer, err := os.ReadFile(filepath.Join(units, "lbdoctor.timer"))
	if err != nil {
		t.Fatal(err)
	}
	const installed = "ExecStart=/usr/bin/lbdoctor "
	if bytes.Count(service, []byte(installed)) != 1 {
		t.Fatalf("lbdoctor.service: want one %q line", installed)
	}
	service = bytes.Replace(service, []byte(installed), []byte("ExecStart="+bin+" "), 1)
	must(t, os.WriteFile(filepath.Join(dir, "lbdoctor.service"), service, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "lbdoctor.timer"), timer, 0o644))
	man := filepath.Join(dir, "man")
	must(t, os.MkdirAll(filepath.Join(man, "man1"), 0o755))
	var page bytes.Buffer
	if code := run([]string{"man"}, &page, io.Discard); code != exitOK {
		t.Fatal("lbdoctor man failed")
	}
	must(t, os.WriteFile(filepath.Join(man, "man1", "lbdoctor.1"), page.Bytes(), 0o644))

	verify := func(files ...string) (string, error) {
		cmd := exec.Command(sa, append([]string{"verify"}, files...)...)
		cmd.Env = append(os.Environ(), "MANPATH="+man, "SYSTEMD_LOG_COLOR=0")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// systemd-analyze verify exits 0 on unknown keys and bad values (it
	// only warns), so any output is a failure.
	if out, err := verify(filepath.Join(dir, "lbdoctor.service"), filepath.Join(dir, "lbdoctor.timer")); err != nil || out != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// It does judge: a typo of a hardening value is reported.
	broken := bytes.Replace(service, []byte("ProtectSystem=strict"), []byte("ProtectSystem=stricter"), 1)
	must(t, os.MkdirAll(filepath.Join(dir, "broken"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "broken", "lbdoctor.service"), broken, 0o644))
	if out, _ := verify(filepath.Join(dir, "broken", "lbdoctor.service")); !strings.Contains(out, "stricter") {
		t.Errorf("systemd-analyze verify says nothing of ProtectSystem=stricter: %q", out)
	}
	// Exposure 3.0 or less ("OK" on systemd's scale, 0 safe to 10 unsafe).
	cmd := exec.Command(sa, "security", "--offline=yes", "--threshold=30", filepath.Join(dir, "lbdoctor.service"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze security --threshold=30: %v\n%s", err, out)
	} else {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Logf("systemd-analyze security --offline: %s", lines[len(lines)-1])
	}

	// The ExecStart command line, as the unit runs it on this machine.
	var args []string
	for _, l := range strings.Split(string(service), "\n") {
		if rest, ok := strings.CutPrefix(l, "ExecStart="+bin+" "); ok {
			args = strings.Fields(strings.ReplaceAll(rest, "/var/lib/prometheus/node-exporter", dir))
		}
	}
	var stderr bytes.Buffer
	code := run(args, io.Discard, &stderr)
	text, err := os.ReadFile(filepath.Join(dir, "lbdoctor.prom"))
	if err != nil {
		t.Fatalf("lbdoctor %s (exit %d) wrote no textfile: %v\n%s", strings.Join(args, " "), code, err, stderr.String())
	}
	up := -1.0
	for _, s := range readTextfile(t, text) {
		if s.labels["__name__"] == "lbdoctor_up" {
			up = s.value
		}
	}
	// No config on this machine is exit 2 with up 0; otherwise up 1.
	if code == exitUsage && up != 0 || code != exitUsage && up != 1 {
		t.Errorf("lbdoctor %s: exit %d with lbdoctor_up %v", strings.Join(args, " "), code, up)
	}
	t.Logf("the unit's command on this machine: exit %d, lbdoctor_up %v", code, up)
}
