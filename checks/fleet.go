package checks

// Fleet is the summary of a cluster run: per cluster and per node, the
// findings by severity and the worst of them, and the hosts that were
// meant to be judged but gave no bundle (unreachable).
type Fleet struct {
	Clusters    []FleetCluster
	Nodes       []FleetNode
	Unreachable []string
}

// FleetCluster is one cluster's line of the fleet summary: its cluster
// findings and all its nodes' findings together.
type FleetCluster struct {
	Name    string
	Nodes   int
	Summary Summary
	Worst   *Finding // nil when the cluster has no finding
	// WorstNode is the node whose file the worst finding is in.
	WorstNode string
}

// FleetNode is one node's line of the fleet summary: its own findings and
// the cluster findings on its files.
type FleetNode struct {
	Cluster string
	Node    string
	Source  string
	Summary Summary
	Worst   *Finding
}

// Status is "error", "warning" or "ok" (infos only, or nothing) by the
// worst finding counted.
func (s Summary) Status() string {
	switch {
	case s.Errors > 0:
		return "error"
	case s.Warnings > 0:
		return "warning"
	}
	return "ok"
}

func (s *Summary) add(f Finding) {
	switch f.Severity {
	case Error:
		s.Errors++
	case Warning:
		s.Warnings++
	default:
		s.Infos++
	}
}

// worse keeps the first finding of the highest severity: w or f.
func worse(w *Finding, f *Finding) *Finding {
	if w == nil || f.Severity > w.Severity {
		return f
	}
	return w
}

// Summarize sums the clusters up, in their order and their nodes' order.
// A node's worst finding is its first of the highest severity, the
// cluster findings on its files first; a cluster's is the first of the
// highest severity of its cluster findings, then its nodes'.
func Summarize(clusters []*Cluster, unreachable []string) Fleet {
	fl := Fleet{Clusters: []FleetCluster{}, Nodes: []FleetNode{}, Unreachable: append([]string{}, unreachable...)}
	for _, c := range clusters {
		fc := FleetCluster{Name: c.Name, Nodes: len(c.Nodes)}
		for i := range c.Findings {
			fc.Summary.add(c.Findings[i])
			if w := worse(fc.Worst, &c.Findings[i]); w != fc.Worst {
				fc.Worst, fc.WorstNode = w, c.Findings[i].Node
			}
		}
		for _, n := range c.Nodes {
			fn := FleetNode{Cluster: c.Name, Node: n.Name, Source: n.Source}
			for i := range c.Findings {
				if c.Findings[i].Node == n.Name {
					fn.Summary.add(c.Findings[i])
					fn.Worst = worse(fn.Worst, &c.Findings[i])
				}
			}
			for i := range n.Result.Findings {
				f := &n.Result.Findings[i]
				fn.Summary.add(*f)
				fc.Summary.add(*f)
				fn.Worst = worse(fn.Worst, f)
				if w := worse(fc.Worst, f); w != fc.Worst {
					fc.Worst, fc.WorstNode = w, n.Name
				}
			}
			fl.Nodes = append(fl.Nodes, fn)
		}
		fl.Clusters = append(fl.Clusters, fc)
	}
	return fl
}
