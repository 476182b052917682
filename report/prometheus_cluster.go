package report

import (
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/lbdoctor/lbdoctor/checks"
)

// PrometheusClusterRun is one run of lbdoctor cluster for node_exporter's
// textfile collector: the clusters, the hosts named unreachable, or, when
// lbdoctor could not do the job (exit 2), none and Up false.
type PrometheusClusterRun struct {
	Clusters    []*checks.Cluster
	Unreachable []string
	Up          bool
	Start       time.Time
	Duration    time.Duration
	Version     string
}

// PrometheusClusterRegistry holds the cluster run's metrics: the series
// of check's format labelled by cluster and node instead of host (a
// cluster finding counts on the node whose file it is in), and per
// cluster and per node whether it has no error finding, so 0 means that
// some node breaks on a failover or the nodes disagree.
func PrometheusClusterRegistry(run PrometheusClusterRun) *prometheus.Registry {
	reg, gauge := newRegistry()
	if !runMetrics(gauge, "cluster", "an unreadable bundle", run.Up, run.Start, run.Duration, run.Version) {
		return reg
	}

	clusterOK := gauge("cluster_ok", "Whether the cluster has no error finding: its nodes agree and each would start and bind its services in either role (0: a failover would break it).", "cluster")
	clusterNodes := gauge("cluster_nodes", "How many nodes the cluster has among the bundles judged.", "cluster")
	nodeOK := gauge("node_ok", "Whether the node has no error finding, its own or a cluster finding on its files.", "cluster", "node")
	unreachable := gauge("node_unreachable", "Hosts named unreachable (no bundle): always 1; they have no verdict.", "node")
	g := newServiceGauges(gauge, "cluster", "node")
	fleet := checks.Summarize(run.Clusters, run.Unreachable)
	for _, c := range fleet.Clusters {
		clusterOK.WithLabelValues(Clean(c.Name)).Set(boolValue(c.Summary.Errors == 0))
		clusterNodes.WithLabelValues(Clean(c.Name)).Set(float64(c.Nodes))
	}
	for _, n := range fleet.Nodes {
		nodeOK.WithLabelValues(Clean(n.Cluster), Clean(n.Node)).Set(boolValue(n.Summary.Errors == 0))
	}
	for _, u := range fleet.Unreachable {
		unreachable.WithLabelValues(Clean(u)).Set(1)
	}
	for _, c := range run.Clusters {
		for _, n := range c.Nodes {
			r := *n.Result
			r.Findings = append([]checks.Finding{}, n.Result.Findings...)
			for _, f := range c.Findings {
				if f.Node == n.Name {
					r.Findings = append(r.Findings, f)
				}
			}
			g.add(&r, Clean(c.Name), Clean(n.Name))
		}
	}
	return reg
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// PrometheusCluster writes the cluster run's metrics in the text
// exposition format, as prometheus.WriteToTextfile writes
// PrometheusClusterRegistry.
func PrometheusCluster(w io.Writer, run PrometheusClusterRun) error {
	mfs, err := PrometheusClusterRegistry(run).Gather()
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
