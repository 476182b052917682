package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdoctor/lbdoctor/checks"
	"github.com/lbdoctor/lbdoctor/parsers"
)

// clusterFixture is one fixed cluster run: the fixture's result on two
// nodes, and a cluster finding on lb1 that points to lb2.
func clusterFixture() []*checks.Cluster {
	var nodes []*checks.Node
	for _, name := range []string{"lb1", "lb2"} {
		r := fixture()
		r.Input.Host.Hostname = name
		r.Input.Host.Source = name + ".yaml"
		nodes = append(nodes, &checks.Node{Name: name, Source: name + ".yaml", Input: r.Input, Result: r})
	}
	return []*checks.Cluster{{
		Name:  "lb1+lb2",
		Nodes: nodes,
		Findings: []checks.Finding{{
			ID: "LBD505", Severity: checks.Error, Service: "keepalived", Node: "lb1",
			Pos:     parsers.Pos{File: "/etc/keepalived/keepalived.conf", Line: 17},
			Peer:    &checks.Site{Node: "lb2", Pos: parsers.Pos{File: "/etc/keepalived/keepalived.conf", Line: 4}},
			Message: "vrrp_instance VI_1 has virtual_router_id 51 on lb1 but 52 on lb2",
			Why:     "each node drops the other's adverts as another router's, so both become MASTER and hold the VIP",
			Fix:     []string{"set the same virtual_router_id at /etc/keepalived/keepalived.conf:17 on lb1 and at /etc/keepalived/keepalived.conf:4 on lb2"},
		}},
	}}
}

// TestClusterGolden renders the cluster fixture through every format
// lbdoctor cluster has.
func TestClusterGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer, []*checks.Cluster) error
	}{
		{"cluster-text.golden", func(b *bytes.Buffer, cs []*checks.Cluster) error {
			return ClusterText(b, cs, checks.RoleBoth, TextOptions{}, "lb3")
		}},
		{"cluster-json.golden", func(b *bytes.Buffer, cs []*checks.Cluster) error { return ClusterJSON(b, cs, checks.RoleBoth, "lb3") }},
		{"cluster-prometheus.golden", func(b *bytes.Buffer, cs []*checks.Cluster) error {
			run := promRun()
			return PrometheusCluster(b, PrometheusClusterRun{Clusters: cs, Unreachable: []string{"lb3"}, Up: true, Start: run.Start, Duration: run.Duration, Version: run.Version})
		}},
		{"cluster-sarif.golden", func(b *bytes.Buffer, cs []*checks.Cluster) error {
			return SARIF(b, "v0.0.0-test", ClusterResults(cs)...)
		}},
		{"cluster-github.golden", func(b *bytes.Buffer, cs []*checks.Cluster) error { return GitHub(b, ClusterResults(cs)...) }},
		{"cluster-junit.golden", func(b *bytes.Buffer, cs []*checks.Cluster) error { return JUnit(b, ClusterResults(cs)...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, clusterFixture()); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "\x1b") {
				t.Errorf("%s holds a raw escape", tc.name)
			}
			if strings.Contains(tc.name, "prometheus") {
				samples(t, b.Bytes()) // the Prometheus text parser reads it back
			}
			golden := filepath.Join("..", "testdata", "report", tc.name)
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("%s differs; run go test ./report -update and review the diff\n--- got:\n%s", tc.name, b.String())
			}
		})
	}
}

// TestClusterJSONShape holds the cluster document to its contract: one
// valid document, clusters[] with nodes whose reports are check's, and
// findings naming their node and the other side.
func TestClusterJSONShape(t *testing.T) {
	var b bytes.Buffer
	if err := ClusterJSON(&b, clusterFixture(), checks.RoleBoth, "lb3"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema, Command string
		Clusters        []struct {
			Name  string
			Nodes []struct {
				Node, Bundle string
				Report       struct{ Schema, Role string }
			}
			Findings []struct {
				ID, Node string
				Peer     struct {
					Node string
					Line int
				}
			}
			Summary struct{ Errors int }
		}
		Summary struct{ Errors, Warnings int }
		Fleet   struct {
			Clusters []struct {
				Name, Status            string
				Nodes, Errors, Warnings int
				Worst                   struct{ ID, Node string }
			}
			Nodes []struct {
				Cluster, Node, Bundle, Status string
				Errors                        int
				Worst                         *struct{ ID, Node string }
			}
			Unreachable []string
		}
	}
	dec := json.NewDecoder(&b)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Error("more than one JSON document")
	}
	c := doc.Clusters
	if doc.Schema != "lbdoctor/v1" || doc.Command != "cluster" || len(c) != 1 || len(c[0].Nodes) != 2 ||
		c[0].Nodes[1].Node != "lb2" || c[0].Nodes[1].Report.Schema != "lbdoctor/v1" || c[0].Nodes[1].Report.Role != "both" ||
		len(c[0].Findings) != 1 || c[0].Findings[0].Node != "lb1" || c[0].Findings[0].Peer.Node != "lb2" || c[0].Findings[0].Peer.Line != 4 ||
		c[0].Summary.Errors != 7 || doc.Summary.Errors != 7 {
		t.Errorf("cluster JSON = %+v", doc)
	}
	// The fleet summary: the cluster's worst finding is its cluster
	// finding (the first error), lb1 counts it, lb2 does not.
	fl := doc.Fleet
	if len(fl.Clusters) != 1 || fl.Clusters[0].Name != "lb1+lb2" || fl.Clusters[0].Status != "error" || fl.Clusters[0].Nodes != 2 ||
		fl.Clusters[0].Errors != 7 || fl.Clusters[0].Worst.ID != "LBD505" || fl.Clusters[0].Worst.Node != "lb1" ||
		len(fl.Nodes) != 2 || fl.Nodes[0].Node != "lb1" || fl.Nodes[1].Node != "lb2" || fl.Nodes[0].Errors != fl.Nodes[1].Errors+1 ||
		fl.Nodes[0].Worst == nil || fl.Nodes[0].Worst.ID != "LBD505" || fl.Nodes[1].Worst == nil || fl.Nodes[1].Worst.Node != "lb2" ||
		fl.Nodes[1].Bundle != "lb2.yaml" || len(fl.Unreachable) != 1 || fl.Unreachable[0] != "lb3" {
		t.Errorf("fleet summary = %+v", fl)
	}
}
