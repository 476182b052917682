package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/lbdoctor/lbdoctor/checks"
)

// ClusterSchema tags the JSON document of lbdoctor cluster: the contract's
// lbdoctor/v1, extended with clusters[].
const ClusterSchema = Schema

// ClusterText writes the report of lbdoctor cluster: each cluster, its
// findings with both sides' node, file and line, then each of its nodes as
// check reports it; at the end the fleet summary (FleetText), with the
// unreachable hosts named.
func ClusterText(w io.Writer, clusters []*checks.Cluster, role checks.Role, opts TextOptions, unreachable ...string) error {
	st := newStyles(w, opts.Color)
	b := bufio.NewWriterSize(w, 64<<10)
	var total checks.Summary
	for i, c := range clusters {
		if i > 0 {
			b.WriteString("\n")
		}
		var names []string
		for _, n := range c.Nodes {
			names = append(names, Clean(n.Name)+" ("+Clean(n.Source)+")")
		}
		fmt.Fprintf(b, "%s %s  %d %s: %s, role %s\n\n", st.heading.Render("lbdoctor cluster"), st.command.Render(Clean(c.Name)),
			len(c.Nodes), plural(len(c.Nodes), "node"), joinComma(names), role)
		if len(c.Findings) > 0 {
			fmt.Fprintf(b, "%s\n\n", st.heading.Render("Cluster findings"))
			for _, f := range c.Findings {
				writeClusterFinding(b, st, f)
			}
		} else if !opts.Quiet {
			fmt.Fprintf(b, "%s the nodes agree: no cluster finding\n\n", st.ok.Render("✔"))
		}
		if opts.ShowIgnored && len(c.Ignored) > 0 {
			fmt.Fprintf(b, "%s\n\n", st.heading.Render("Ignored cluster findings"))
			for _, f := range c.Ignored {
				writeClusterFinding(b, st, f)
			}
		}
		for _, n := range c.Nodes {
			fmt.Fprintf(b, "%s %s\n", st.heading.Render("── node"), st.command.Render(Clean(n.Name)))
			if err := b.Flush(); err != nil {
				return err
			}
			if err := Text(w, n.Result, opts); err != nil {
				return err
			}
			b.WriteString("\n")
		}
		s := c.Summary()
		total.Errors += s.Errors
		total.Warnings += s.Warnings
		total.Infos += s.Infos
		mark := st.ok.Render("✔")
		switch w := c.Worst(); {
		case w >= checks.Error:
			mark = st.error.Render("✖")
		case w >= checks.Warning:
			mark = st.warning.Render("!")
		}
		fmt.Fprintf(b, "%s cluster %s: %d %s, %d %s, %d %s (nodes and cluster)\n", mark, Clean(c.Name),
			s.Errors, plural(s.Errors, "error"), s.Warnings, plural(s.Warnings, "warning"), s.Infos, plural(s.Infos, "info"))
	}
	if len(clusters) > 1 {
		fmt.Fprintf(b, "\n%d clusters: %d %s, %d %s, %d %s\n", len(clusters),
			total.Errors, plural(total.Errors, "error"), total.Warnings, plural(total.Warnings, "warning"), total.Infos, plural(total.Infos, "info"))
	}
	b.WriteString("\n")
	if err := FleetText(b, checks.Summarize(clusters, unreachable)); err != nil {
		return err
	}
	return b.Flush()
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}

func writeClusterFinding(b textWriter, st styles, f checks.Finding) {
	sev := st.severity(f.Severity)
	fmt.Fprintf(b, "%s %s  %s  %s  %s\n", st.command.Render(Clean(f.Node)), st.path.Render(Clean(f.Pos.String())), st.id.Render(f.ID), sev, Clean(f.Message))
	if f.Peer != nil {
		fmt.Fprintf(b, "    other side: %s %s\n", st.command.Render(Clean(f.Peer.Node)), st.path.Render(Clean(f.Peer.Pos.String())))
	}
	if f.Why != "" {
		fmt.Fprintf(b, "    why: %s\n", Clean(f.Why))
	}
	if len(f.Fix) > 0 {
		b.WriteString("    fix:\n")
		for _, c := range f.Fix {
			fmt.Fprintf(b, "      %s\n", st.command.Render("$ "+Clean(c)))
		}
	}
	b.WriteString("\n")
}

type jsonPeer struct {
	Node string `json:"node"`
	File string `json:"file"`
	Line int    `json:"line"`
}

type jsonClusterFinding struct {
	jsonFinding
	Node string    `json:"node"`
	Peer *jsonPeer `json:"peer,omitempty"`
}

type jsonNode struct {
	Node   string          `json:"node"`
	Bundle string          `json:"bundle"`
	Report json.RawMessage `json:"report"`
}

type jsonCluster struct {
	Name     string               `json:"name"`
	Nodes    []jsonNode           `json:"nodes"`
	Findings []jsonClusterFinding `json:"findings"`
	Summary  jsonSummary          `json:"summary"`
}

type jsonClusterDoc struct {
	Schema   string        `json:"schema"`
	Command  string        `json:"command"`
	Role     string        `json:"role"`
	Clusters []jsonCluster `json:"clusters"`
	Summary  jsonSummary   `json:"summary"`
	Fleet    jsonFleet     `json:"fleet"`
}

// ClusterJSON writes one lbdoctor/v1 document for the whole run:
// clusters[], each with its nodes (each node's report as check --json
// writes it) and the cluster findings, which name their node and the
// other side's node, file and line; then the fleet summary (fleet: per
// cluster and per node the counts, status and worst finding, and the
// unreachable hosts).
func ClusterJSON(w io.Writer, clusters []*checks.Cluster, role checks.Role, unreachable ...string) error {
	doc := jsonClusterDoc{Schema: ClusterSchema, Command: "cluster", Role: string(role), Clusters: []jsonCluster{}, Fleet: fleetJSON(checks.Summarize(clusters, unreachable))}
	for _, c := range clusters {
		jc := jsonCluster{Name: c.Name, Nodes: []jsonNode{}, Findings: []jsonClusterFinding{}}
		for _, n := range c.Nodes {
			var buf bytes.Buffer
			if err := JSON(&buf, n.Result); err != nil {
				return err
			}
			jc.Nodes = append(jc.Nodes, jsonNode{Node: n.Name, Bundle: n.Source, Report: buf.Bytes()})
		}
		for _, f := range c.Findings {
			fix := f.Fix
			if fix == nil {
				fix = []string{}
			}
			jf := jsonClusterFinding{jsonFinding: jsonFinding{
				ID: f.ID, Severity: f.Severity.String(), Service: f.Service, File: f.Pos.File, Line: f.Pos.Line,
				Address: f.Address, Port: f.Port, Message: f.Message, DaemonError: f.DaemonError, Why: f.Why, Fix: fix, Errno: f.Errno,
			}, Node: f.Node}
			if f.Peer != nil {
				jf.Peer = &jsonPeer{Node: f.Peer.Node, File: f.Peer.Pos.File, Line: f.Peer.Pos.Line}
			}
			jc.Findings = append(jc.Findings, jf)
		}
		s := c.Summary()
		ignored := len(c.Ignored)
		for _, n := range c.Nodes {
			ignored += len(n.Result.Ignored)
		}
		jc.Summary = jsonSummary{Errors: s.Errors, Warnings: s.Warnings, Infos: s.Infos, Ignored: ignored}
		doc.Summary.Errors += s.Errors
		doc.Summary.Warnings += s.Warnings
		doc.Summary.Infos += s.Infos
		doc.Summary.Ignored += ignored
		doc.Clusters = append(doc.Clusters, jc)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

// ClusterResults are the nodes' results for the formats that label by
// host (SARIF, GitHub, JUnit): each node's own findings and the cluster
// findings on its files, which name the other side in their message.
func ClusterResults(clusters []*checks.Cluster) []*checks.Result {
	var rs []*checks.Result
	for _, c := range clusters {
		for _, n := range c.Nodes {
			r := *n.Result
			in := *r.Input
			h := *in.Host
			h.Hostname = n.Name
			in.Host = &h
			r.Input = &in
			r.Findings = append([]checks.Finding{}, n.Result.Findings...)
			for _, f := range c.Findings {
				if f.Node != n.Name {
					continue
				}
				if f.Peer != nil {
					f.Message += fmt.Sprintf(" (other side: %s %s)", f.Peer.Node, f.Peer.Pos)
				}
				r.Findings = append(r.Findings, f)
			}
			rs = append(rs, &r)
		}
	}
	return rs
}
