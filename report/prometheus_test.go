package report

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers/host"
)

// promRun is the fixture as one run: its time and duration fixed.
func promRun(rs ...*checks.Result) PrometheusRun {
	return PrometheusRun{Results: rs, Up: true, Start: time.Date(2026, 12, 6, 7, 30, 0, 500e6, time.UTC), Duration: 1250 * time.Millisecond, Version: "v0.0.0-test"}
}

// samples reads the text back with the Prometheus text parser, as
// node_exporter's textfile collector does (with the stricter legacy names),
// and lists each sample as `name{label="value",...} value`, sorted. Every
// family must have HELP and be a gauge, and no sample may repeat.
func samples(t *testing.T, text []byte) []string {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("the text parser rejects the output: %v\n%s", err, text)
	}
	var out []string
	for name, mf := range mfs {
		if mf.GetHelp() == "" || mf.GetType().String() != "GAUGE" {
			t.Errorf("%s: help %q, type %s; want a help text and a gauge", name, mf.GetHelp(), mf.GetType())
		}
		if !strings.HasPrefix(name, "lbdoctor_") {
			t.Errorf("%s: not prefixed lbdoctor_", name)
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			s := name
			if len(labels) > 0 {
				s += "{" + strings.Join(labels, ",") + "}"
			}
			out = append(out, fmt.Sprintf("%s %v", s, m.GetGauge().GetValue()))
		}
	}
	sort.Strings(out)
	if d := slices.Compact(slices.Clone(out)); len(d) != len(out) {
		t.Errorf("a sample repeats:\n%s", strings.Join(out, "\n"))
	}
	return out
}

func checkSamples(t *testing.T, got, want []string) {
	t.Helper()
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("metrics read back:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPrometheusParsesBack reads every metric of the fixture back with its
// labels and value: the nginx listens that fail in either role make
// service_ok 0, as do haproxy's parse error; the host's name is cleaned of
// its terminal escape.
func TestPrometheusParsesBack(t *testing.T) {
	var b bytes.Buffer
	if err := Prometheus(&b, promRun(fixture())); err != nil {
		t.Fatal(err)
	}
	h := `host="lb2\\x1b[2J"`
	checkSamples(t, samples(t, b.Bytes()), []string{
		`lbdoctor_build_info{version="v0.0.0-test"} 1`,
		`lbdoctor_up 1`,
		`lbdoctor_last_run_timestamp_seconds 1.7965422005e+09`,
		`lbdoctor_run_duration_seconds 1.25`,
		`lbdoctor_service_config_found{` + h + `,service="haproxy"} 1`,
		`lbdoctor_service_config_found{` + h + `,service="keepalived"} 0`,
		`lbdoctor_service_config_found{` + h + `,service="nginx"} 1`,
		`lbdoctor_service_ok{` + h + `,role="both",service="haproxy"} 0`,
		`lbdoctor_service_ok{` + h + `,role="both",service="nginx"} 0`,
		`lbdoctor_findings{` + h + `,id="LBD001",service="haproxy",severity="error"} 1`,
		`lbdoctor_findings{` + h + `,id="LBD401",service="haproxy",severity="warning"} 1`,
		`lbdoctor_findings{` + h + `,id="LBD401",service="nginx",severity="error"} 2`,
		`lbdoctor_listeners{` + h + `,service="haproxy",status="fail"} 0`,
		`lbdoctor_listeners{` + h + `,service="haproxy",status="ok"} 2`,
		`lbdoctor_listeners{` + h + `,service="haproxy",status="warn"} 1`,
		`lbdoctor_listeners{` + h + `,service="nginx",status="fail"} 2`,
		`lbdoctor_listeners{` + h + `,service="nginx",status="ok"} 2`,
		`lbdoctor_listeners{` + h + `,service="nginx",status="warn"} 0`,
	})
	if bytes.ContainsRune(b.Bytes(), 0x1b) {
		t.Error("the metrics hold a raw ESC byte")
	}
}

// TestPrometheusDown is the run that could not do the job: up 0 with the
// time of the run, and nothing about services it never judged.
func TestPrometheusDown(t *testing.T) {
	run := promRun()
	run.Up = false
	var b bytes.Buffer
	if err := Prometheus(&b, run); err != nil {
		t.Fatal(err)
	}
	checkSamples(t, samples(t, b.Bytes()), []string{
		`lbdoctor_build_info{version="v0.0.0-test"} 1`,
		`lbdoctor_up 0`,
		`lbdoctor_last_run_timestamp_seconds 1.7965422005e+09`,
		`lbdoctor_run_duration_seconds 1.25`,
	})
}

// TestPrometheusHosts judges several hosts in one run (--host twice): each
// host's series carry its name, or its snapshot file when two hosts share
// a name; two configs of one service add up, ok only when both are. A
// name that is not UTF-8 (which the registry would refuse) is escaped.
func TestPrometheusHosts(t *testing.T) {
	mk := func(name, source string, statuses ...string) *checks.Result {
		r := &checks.Result{Input: &checks.Input{Role: checks.RoleBackup, Host: &host.Facts{Hostname: name, Source: source}}}
		for _, st := range statuses {
			r.Services = append(r.Services, checks.ServiceResult{Name: "nginx", Status: st})
		}
		return r
	}
	var b bytes.Buffer
	if err := Prometheus(&b, promRun(mk("lb1", "a.yaml", checks.StatusOK), mk("lb1", "b.yaml", checks.StatusOK, checks.StatusFail), mk("lb2", "c.yaml", checks.StatusFail, checks.StatusOK), mk("lb\xff", "d.yaml", checks.StatusOK))); err != nil {
		t.Fatal(err)
	}
	got := samples(t, b.Bytes())
	var ok []string
	for _, s := range got {
		if strings.HasPrefix(s, "lbdoctor_service_ok") {
			ok = append(ok, s)
		}
	}
	checkSamples(t, ok, []string{
		`lbdoctor_service_ok{host="a.yaml",role="backup",service="nginx"} 1`,
		`lbdoctor_service_ok{host="b.yaml",role="backup",service="nginx"} 0`,
		`lbdoctor_service_ok{host="lb2",role="backup",service="nginx"} 0`,
		`lbdoctor_service_ok{host="lb\\xff",role="backup",service="nginx"} 1`, // invalid UTF-8, escaped
	})
}
