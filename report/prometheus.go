package report

import (
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/lbdoctor/lbdoctor/checks"
)

// PrometheusRun is one run of lbdoctor check as node_exporter's textfile
// collector shows it: the results, or, when lbdoctor could not do the job
// (exit 2), none and Up false, so that an alert fires on a broken check
// too.
type PrometheusRun struct {
	Results  []*checks.Result
	Up       bool
	Start    time.Time
	Duration time.Duration
	Version  string
}

// PrometheusRegistry holds the run's metrics, all prefixed lbdoctor_, in a
// registry of their own (no Go runtime or process metrics): for
// prometheus.WriteToTextfile, or for Prometheus to print.
//
// Series about what was judged carry a host label, the judged host's name
// (its snapshot file when two judged hosts share a name), so that several
// --host files in one run never collide. Services of the same name (two
// --nginx configs) add up: a service is ok only when each of them is.
func PrometheusRegistry(run PrometheusRun) *prometheus.Registry {
	reg, gauge := newRegistry()
	if !runMetrics(gauge, "check", "no config found, an unreadable config named on the command line", run.Up, run.Start, run.Duration, run.Version) {
		return reg
	}

	g := newServiceGauges(gauge, "host")
	hosts := hostLabels(run.Results)
	for i, r := range run.Results {
		g.add(r, hosts[i])
	}
	return reg
}

// serviceGauges are the series about the services of a judged host,
// labelled by the host's keys (host, or cluster and node) first.
type serviceGauges struct {
	found, ok, findings, listeners *prometheus.GaugeVec
}

// gaugeFunc makes an lbdoctor_ gauge vector in a registry.
type gaugeFunc func(name, help string, labels ...string) *prometheus.GaugeVec

// newRegistry is a registry of its own (no Go runtime or process metrics)
// and the maker of its gauges.
func newRegistry() (*prometheus.Registry, gaugeFunc) {
	reg := prometheus.NewRegistry()
	return reg, func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lbdoctor_" + name, Help: help}, labels)
		reg.MustRegister(g)
		return g
	}
}

// runMetrics sets the series every run of command writes: whether it could
// do the job (failures names its usual causes besides bad flags or
// settings), when it ran, how long it took, and the build. It reports up.
func runMetrics(gauge gaugeFunc, command, failures string, up bool, start time.Time, took time.Duration, version string) bool {
	upG := gauge("up", "Whether lbdoctor could do the job: 0 when the run exited 2 (bad flags or settings, "+failures+").")
	last := gauge("last_run_timestamp_seconds", "When lbdoctor "+command+" last ran, in seconds since the Unix epoch.")
	tookG := gauge("run_duration_seconds", "How long lbdoctor "+command+" took, in seconds.")
	info := gauge("build_info", "The lbdoctor that wrote these metrics; always 1.", "version")
	last.WithLabelValues().Set(float64(start.UnixNano()) / 1e9)
	tookG.WithLabelValues().Set(took.Seconds())
	info.WithLabelValues(Clean(version)).Set(1)
	if !up {
		upG.WithLabelValues().Set(0)
		return false
	}
	upG.WithLabelValues().Set(1)
	return true
}

func newServiceGauges(gauge gaugeFunc, keys ...string) serviceGauges {
	with := func(l ...string) []string { return append(append([]string{}, keys...), l...) }
	return serviceGauges{
		found:     gauge("service_config_found", "Whether the service's config was found (autodetected services that are absent are 0).", with("service")...),
		ok:        gauge("service_ok", "Whether the service would start and bind all its listeners in the role judged (--role both: in either role, so 0 means a failover would break it).", with("service", "role")...),
		findings:  gauge("findings", "Findings of the run by check ID, severity and service (ignored findings not counted).", with("id", "severity", "service")...),
		listeners: gauge("listeners", "Listeners by status: ok, fail (bind() would fail) or warn (binds now, fails in another role or after a reboot).", with("service", "status")...),
	}
}

// add sets the series of one result, whose keys' values are key.
func (g serviceGauges) add(r *checks.Result, key ...string) {
	with := func(l ...string) []string { return append(append([]string{}, key...), l...) }
	role := string(r.Input.Role)
	// A service seen twice is ok only if every copy is: start from
	// "ok" and let any failing copy lower it.
	seenOK := map[string]bool{}
	for _, s := range r.Services {
		name := Clean(s.Name)
		if s.Status == checks.StatusNotFound {
			g.found.WithLabelValues(with(name)...).Add(0)
			continue
		}
		g.found.WithLabelValues(with(name)...).Set(1)
		v := 0.0
		if s.Status != checks.StatusFail {
			v = 1
		}
		if prev, seen := seenOK[name]; !seen || prev {
			g.ok.WithLabelValues(with(name, role)...).Set(v)
			seenOK[name] = v == 1
		}
		for _, st := range []string{checks.StatusOK, checks.StatusFail, checks.StatusWarn} {
			g.listeners.WithLabelValues(with(name, st)...).Add(0)
		}
		for _, l := range s.Listeners {
			g.listeners.WithLabelValues(with(name, l.Status)...).Inc()
		}
	}
	for _, f := range r.Findings {
		g.findings.WithLabelValues(with(f.ID, f.Severity.String(), Clean(f.Service))...).Inc()
	}
}

// hostLabels names each result's host: its host name, cleaned of control
// bytes, or, when two results share that name, where its facts came from.
func hostLabels(rs []*checks.Result) []string {
	count := map[string]int{}
	for _, r := range rs {
		count[r.Input.Host.Hostname]++
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		h := r.Input.Host
		out[i] = Clean(h.Hostname)
		if count[h.Hostname] > 1 && h.Source != "" {
			out[i] = Clean(h.Source)
		}
	}
	return out
}

// Prometheus writes the run's metrics in the text exposition format that
// node_exporter's textfile collector reads, byte for byte what
// prometheus.WriteToTextfile writes of PrometheusRegistry.
func Prometheus(w io.Writer, run PrometheusRun) error {
	mfs, err := PrometheusRegistry(run).Gather()
	if err != nil {
		return err
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	return nil
}
