package report

import (
	"fmt"
	"io"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/lbdoctor/lbdoctor/checks"
)

// fleetWorstWidth is how many characters of the worst finding's message
// the text table shows (the JSON has all of it).
const fleetWorstWidth = 72

// FleetText writes the fleet summary as a table: a line per cluster
// (NODE "*": its cluster findings and all its nodes'), a line per node
// (its own findings and the cluster findings on its files), and a line per
// unreachable host, which has no verdict.
func FleetText(w io.Writer, fl checks.Fleet) error {
	fmt.Fprintf(w, "Fleet summary: %d %s, %d %s, %d unreachable\n", len(fl.Clusters), plural(len(fl.Clusters), "cluster"),
		len(fl.Nodes), plural(len(fl.Nodes), "node"), len(fl.Unreachable))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tNODE\tSTATUS\tERRORS\tWARNINGS\tINFOS\tWORST FINDING")
	row := func(cluster, node string, s checks.Summary, worst *checks.Finding, where string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", Clean(cluster), Clean(node), s.Status(), s.Errors, s.Warnings, s.Infos, fleetWorst(worst, where))
	}
	for _, c := range fl.Clusters {
		row(c.Name, "*", c.Summary, c.Worst, c.WorstNode)
		for _, n := range fl.Nodes {
			if n.Cluster == c.Name {
				row("", n.Node, n.Summary, n.Worst, "")
			}
		}
	}
	for _, u := range fl.Unreachable {
		fmt.Fprintf(tw, "-\t%s\tunreachable\t-\t-\t-\tnot judged: no bundle from this host\n", Clean(u))
	}
	return tw.Flush()
}

// fleetWorst is the table's cell for a worst finding: its ID, the node
// it is on (for a cluster's line), its severity and its message, cut.
func fleetWorst(f *checks.Finding, node string) string {
	if f == nil {
		return "-"
	}
	s := f.ID + " " + f.Severity.String()
	if node != "" {
		s += " on " + node
	}
	s += ": " + f.Message
	s = Clean(s)
	if utf8.RuneCountInString(s) > fleetWorstWidth {
		r := []rune(s)
		s = string(r[:fleetWorstWidth-1]) + "…"
	}
	return s
}

type jsonFleetWorst struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Node     string `json:"node"`
	Service  string `json:"service"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Message  string `json:"message"`
}

type jsonFleetCluster struct {
	Name     string          `json:"name"`
	Nodes    int             `json:"nodes"`
	Status   string          `json:"status"`
	Errors   int             `json:"errors"`
	Warnings int             `json:"warnings"`
	Infos    int             `json:"infos"`
	Worst    *jsonFleetWorst `json:"worst"`
}

type jsonFleetNode struct {
	Cluster  string          `json:"cluster"`
	Node     string          `json:"node"`
	Bundle   string          `json:"bundle"`
	Status   string          `json:"status"`
	Errors   int             `json:"errors"`
	Warnings int             `json:"warnings"`
	Infos    int             `json:"infos"`
	Worst    *jsonFleetWorst `json:"worst"`
}

type jsonFleet struct {
	Clusters    []jsonFleetCluster `json:"clusters"`
	Nodes       []jsonFleetNode    `json:"nodes"`
	Unreachable []string           `json:"unreachable"`
}

func fleetWorstJSON(f *checks.Finding, node string) *jsonFleetWorst {
	if f == nil {
		return nil
	}
	if f.Node != "" {
		node = f.Node
	}
	return &jsonFleetWorst{ID: f.ID, Severity: f.Severity.String(), Node: node, Service: f.Service, File: f.Pos.File, Line: f.Pos.Line, Message: f.Message}
}

func fleetJSON(fl checks.Fleet) jsonFleet {
	j := jsonFleet{Clusters: []jsonFleetCluster{}, Nodes: []jsonFleetNode{}, Unreachable: append([]string{}, fl.Unreachable...)}
	for _, c := range fl.Clusters {
		j.Clusters = append(j.Clusters, jsonFleetCluster{Name: c.Name, Nodes: c.Nodes, Status: c.Summary.Status(),
			Errors: c.Summary.Errors, Warnings: c.Summary.Warnings, Infos: c.Summary.Infos, Worst: fleetWorstJSON(c.Worst, c.WorstNode)})
	}
	for _, n := range fl.Nodes {
		j.Nodes = append(j.Nodes, jsonFleetNode{Cluster: n.Cluster, Node: n.Node, Bundle: n.Source, Status: n.Summary.Status(),
			Errors: n.Summary.Errors, Warnings: n.Summary.Warnings, Infos: n.Summary.Infos, Worst: fleetWorstJSON(n.Worst, n.Node)})
	}
	return j
}
