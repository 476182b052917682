package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterKACase is one keepalived pair: each node's vrrp_instance body
// (between "vrrp_instance VI_1 {" and "}"), the cluster finding lbdoctor
// must report ("" for none) and its severity. An error says the pair
// splits (the VIP on both nodes); a warning that it does not yet.
type clusterKACase struct {
	name     string
	lb1, lb2 string
	want     string
	severity string
}

// The instance of a healthy pair, lb1 MASTER and lb2 BACKUP, unicast; the
// cases below change one thing on one side.
const (
	clusterLB1 = `
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret12
    }
    unicast_src_ip 10.0.0.11
    unicast_peer {
        10.0.0.12
    }
    virtual_ipaddress {
        10.0.0.100/24 dev eth0
    }
`
	clusterLB2 = `
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret12
    }
    unicast_src_ip 10.0.0.12
    unicast_peer {
        10.0.0.11
    }
    virtual_ipaddress {
        10.0.0.100/24 dev eth0
    }
`
)

func clusterKACases() []clusterKACase {
	return []clusterKACase{
		{name: "healthy", lb1: clusterLB1, lb2: clusterLB2},
		{name: "vrid", lb1: clusterLB1, lb2: strings.Replace(clusterLB2, "virtual_router_id 51", "virtual_router_id 52", 1), want: "LBD505", severity: "error"},
		{name: "advert-int", lb1: clusterLB1, lb2: strings.Replace(clusterLB2, "advert_int 1", "advert_int 2", 1), want: "LBD507", severity: "error"},
		{name: "auth-pass", lb1: clusterLB1, lb2: strings.Replace(clusterLB2, "auth_pass s3cret12", "auth_pass other123", 1), want: "LBD508", severity: "error"},
		// keepalived compares only the first 8 characters: no finding.
		{name: "auth-pass-9th-char", lb1: strings.Replace(clusterLB1, "s3cret12", "s3cret12a", 1), lb2: strings.Replace(clusterLB2, "s3cret12", "s3cret12b", 1)},
		// The MASTER sends its adverts to an address that is not lb2.
		{name: "unicast-peer", lb1: strings.Replace(clusterLB1, "        10.0.0.12\n", "        10.0.0.13\n", 1), lb2: clusterLB2, want: "LBD510", severity: "error"},
		// Both start as MASTER with one priority: both add the VIP at
		// start, and the adverts settle it (a warning, no split brain).
		{name: "dual-master", lb1: clusterLB1, lb2: strings.Replace(strings.Replace(clusterLB2, "state BACKUP", "state MASTER", 1), "priority 100", "priority 150", 1), want: "LBD511", severity: "warning"},
		{name: "nopreempt-one-side", lb1: clusterLB1, lb2: strings.Replace(clusterLB2, "    advert_int 1\n", "    advert_int 1\n    nopreempt\n", 1), want: "LBD512", severity: "warning"},
		// The BACKUP sends its adverts elsewhere: the MASTER never hears
		// it, which does not matter while the MASTER has the higher
		// priority (a warning, and no split brain).
		{name: "unicast-peer-backup", lb1: clusterLB1, lb2: strings.Replace(clusterLB2, "        10.0.0.11\n", "        10.0.0.13\n", 1), want: "LBD510", severity: "warning"},
	}
}

// TestClusterKeepalived plays each pair for real: two network namespaces
// joined by a veth link, each node's bundle made inside its namespace (and
// its own UTS namespace, for its host name) before keepalived starts, then
// keepalived started on both (the MASTER first). keepalived is the judge:
// a pair lbdoctor cluster calls broken must end with the VIP on both nodes
// (split brain), a pair it passes with the VIP on the MASTER only.
func TestClusterKeepalived(t *testing.T) {
	if testing.Short() {
		t.Skip("TestClusterKeepalived runs keepalived pairs in network namespaces: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("TestClusterKeepalived SKIPPED: needs root to create network namespaces and run keepalived")
	}
	for _, tool := range []string{"ip", "unshare", "hostname", "keepalived"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("TestClusterKeepalived SKIPPED: %s is not installed (%v)", tool, err)
		}
	}
	bin := lbdoctorBin(t)
	var (
		mu   sync.Mutex
		rows []string
	)
	t.Run("case", func(t *testing.T) {
		for i, tc := range clusterKACases() {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				row := clusterKARun(t, bin, i, tc)
				mu.Lock()
				rows = append(rows, row)
				mu.Unlock()
			})
		}
	})
	slices.Sort(rows)
	t.Logf("keepalived against lbdoctor cluster (%d pairs):\n%-20s  %-28s  %s\n%s", len(rows), "CASE", "KEEPALIVED", "LBDOCTOR CLUSTER", strings.Join(rows, "\n"))
}

func clusterKARun(t *testing.T, bin string, i int, tc clusterKACase) string {
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	lb1 := &haNode{name: "lb1", ns: fmt.Sprintf("lbd-c%d-%d-1", os.Getpid(), i), self: "10.0.0.11", state: "MASTER"}
	lb2 := &haNode{name: "lb2", ns: fmt.Sprintf("lbd-c%d-%d-2", os.Getpid(), i), self: "10.0.0.12", state: "BACKUP"}
	hapairLink(ctx, t, lb1, lb2)
	var bundles []string
	for _, n := range []struct {
		node *haNode
		body string
	}{{lb1, tc.lb1}, {lb2, tc.lb2}} {
		n.node.dir = t.TempDir()
		n.node.root = filepath.Join(n.node.dir, "root")
		conf := "global_defs {\n    router_id " + n.node.name + "\n    enable_script_security\n    script_user root\n}\n\nvrrp_instance VI_1 {" + n.body + "}\n"
		daemonWriteFile(t, n.node.conf("keepalived"), conf)
		bundle := filepath.Join(n.node.dir, n.node.name+".bundle.yaml")
		// The node's own host name, in a UTS namespace of its own.
		script := fmt.Sprintf("hostname %s && exec %s snapshot --with-configs --keepalived %s -o %s", n.node.name, bin, n.node.conf("keepalived"), bundle)
		daemonCmd(ctx, t, "ip", "netns", "exec", n.node.ns, "unshare", "--uts", "sh", "-c", script)
		bundles = append(bundles, bundle)
	}
	out, err := exec.CommandContext(ctx, bin, append([]string{"cluster", "--json", "--checks", "LBD5*"}, bundles...)...).Output()
	if err != nil && !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("lbdoctor cluster: %v", err)
	}
	var doc struct {
		Clusters []struct {
			Name     string
			Findings []struct{ ID, Severity, Node, Message string }
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("lbdoctor cluster --json: %v\n%s", err, out)
	}
	var ids, msgs []string
	split := false // an error: lbdoctor says the pair splits
	for _, c := range doc.Clusters {
		for _, f := range c.Findings {
			ids = append(ids, f.ID+" "+f.Severity)
			msgs = append(msgs, f.Node+": "+f.ID+" "+f.Severity+" "+f.Message)
			split = split || f.Severity == "error"
		}
	}
	if len(doc.Clusters) != 1 || doc.Clusters[0].Name != "lb1+lb2" {
		t.Errorf("lbdoctor grouped the pair as %+v, want one cluster lb1+lb2", doc.Clusters)
	}
	verdict := "no finding"
	if len(ids) > 0 {
		verdict = strings.Join(ids, ",")
	}

	// keepalived decides: the MASTER first, then the BACKUP, then time
	// for the BACKUP to hear (or not) three adverts of the slower side.
	lb1.startKeepalived(ctx, t)
	if !hapairWaitVIP(ctx, t, lb1.ns, true, 20*time.Second) {
		t.Fatalf("the VIP never appeared on lb1; keepalived said:\n%s", lb1.keepalivedLog)
	}
	lb2.startKeepalived(ctx, t)
	time.Sleep(9 * time.Second)
	both := hapairHasVIP(ctx, t, lb1.ns) && hapairHasVIP(ctx, t, lb2.ns)
	outcome := "VIP on lb1 only"
	if both {
		outcome = "VIP on both (split brain)"
	} else if !hapairHasVIP(ctx, t, lb1.ns) {
		outcome = "VIP not on lb1"
	}

	switch {
	case tc.want == "" && len(ids) > 0:
		t.Errorf("lbdoctor cluster reports %q on a pair it should pass", msgs)
	case tc.want != "" && !slices.Contains(ids, tc.want+" "+tc.severity):
		t.Errorf("lbdoctor cluster reports %q, want %s %s", msgs, tc.want, tc.severity)
	}
	if both != split {
		t.Errorf("keepalived: %s, but lbdoctor cluster says %s", outcome, verdict)
		t.Logf("lb1's keepalived said:\n%s\nlb2's keepalived said:\n%s", lb1.keepalivedLog, lb2.keepalivedLog)
	}
	return fmt.Sprintf("%-20s  %-28s  %s", tc.name, outcome, verdict)
}
