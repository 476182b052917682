package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestHAPairBoot plays a boot of the MASTER of a keepalived pair in the
// order systemd gives it: nginx and HAProxy start as soon as the network
// is up, keepalived with them, and the VIP appears only once keepalived
// has won the election, at least three advert intervals later. lbdoctor
// must say so in the after-reboot verdict of every node (LBD424), the
// MASTER that holds the VIP and serves today included; the real daemons,
// started before keepalived as at boot, must fail as it says; and with its
// fix applied the same boot order must work.
func TestHAPairBoot(t *testing.T) {
	templates, bin := hapairPrepare(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	machineSysctl := hapairReadFile(t, "/proc/sys/net/ipv4/ip_nonlocal_bind")
	t.Cleanup(func() {
		if got := hapairReadFile(t, "/proc/sys/net/ipv4/ip_nonlocal_bind"); got != machineSysctl {
			t.Errorf("the machine's net.ipv4.ip_nonlocal_bind changed from %q to %q", machineSysctl, got)
		}
	})

	master, backup := hapairNodes(ctx, t, templates, "hb")
	sockets := map[string]string{"nginx": "10.0.0.100:80", "haproxy": "10.0.0.100:8080"}
	ports := map[string]int{"nginx": 80, "haproxy": 8080}
	start := func(n *haNode, d string) (daemonOutcome, func()) {
		out, stop := daemonStart(ctx, t, n.ns, d, "", nil, "", n.conf(d), n.dir, "tcp", sockets[d])
		t.Cleanup(stop)
		return out, stop
	}

	// Today: the MASTER holds the VIP and serves it.
	master.startKeepalived(ctx, t)
	if !hapairWaitVIP(ctx, t, master.ns, true, 20*time.Second) {
		t.Fatalf("the VIP never appeared on the MASTER %s; keepalived said:\n%s", master.ns, master.keepalivedLog)
	}
	backup.startKeepalived(ctx, t)
	hapairWaitLog(ctx, t, backup, "Entering BACKUP STATE", 10*time.Second)
	var stops []func()
	for _, d := range []string{"nginx", "haproxy"} {
		out, stop := start(master, d)
		if !out.bound {
			t.Fatalf("%s on the MASTER, which holds the VIP, did not start: %s\n%s", d, out, out.stderr)
		}
		stops = append(stops, stop)
	}
	t.Logf("step 1: the MASTER %s holds 10.0.0.100 and runs nginx and HAProxy on it; the BACKUP waits", master.ns)

	// The after-reboot verdict of both nodes: LBD424, EADDRNOTAVAIL.
	for _, n := range []*haNode{master, backup} {
		r, exit := hapairLbdoctor(ctx, t, bin, n)
		for _, d := range []string{"nginx", "haproxy"} {
			if !hapairHasFinding(r, "LBD424", d, "10.0.0.100", ports[d]) {
				t.Errorf("lbdoctor on the %s: no LBD424 for %s on 10.0.0.100:%d; findings:%s", n.state, d, ports[d], hapairFindings(r))
			}
		}
		if n == master {
			if exit != 0 {
				t.Errorf("lbdoctor on the MASTER: exit %d, want 0 (it binds now; the boot race is a warning)", exit)
			}
			for _, d := range []string{"nginx", "haproxy"} {
				if l, ok := hapairListener(r, d, "10.0.0.100", ports[d]); !ok || l.Status != "warn" || l.Errno != "EADDRNOTAVAIL" {
					t.Errorf("lbdoctor on the MASTER: %s listener = %+v (found %v), want warn EADDRNOTAVAIL", d, l, ok)
				}
			}
		}
		t.Logf("step 2: lbdoctor on the %s (%s): exit %d, findings:%s", n.state, n.ns, exit, hapairFindings(r))
	}
	r, _ := hapairLbdoctor(ctx, t, bin, master)
	fixes := hapairFixes(t, r, "LBD424")

	// The MASTER reboots: everything on it stops, the VIP moves to the
	// BACKUP; then systemd's order: nginx and HAProxy first...
	for _, stop := range stops {
		stop()
	}
	master.stopKeepalived(t)
	if !hapairWaitVIP(ctx, t, backup.ns, true, 15*time.Second) {
		t.Fatalf("the VIP never moved to the BACKUP while the MASTER was down; keepalived said:\n%s", backup.keepalivedLog)
	}
	bootDaemons := func(step string) (bound map[string]bool) {
		bound = map[string]bool{}
		for _, d := range []string{"nginx", "haproxy"} {
			out, _ := start(master, d)
			bound[d] = out.bound
			t.Logf("%s: %s started before keepalived on the MASTER: %s %s", step, d, out, strings.TrimSpace(lastLine(out.stderr)))
		}
		return bound
	}
	bound := bootDaemons("step 3")
	for d, b := range bound {
		if b {
			t.Errorf("%s started before keepalived bound 10.0.0.100 on the MASTER, lbdoctor said it fails (LBD424)", d)
		}
	}
	// ...and keepalived, which takes the VIP back only after its election.
	began := time.Now()
	master.startKeepalived(ctx, t)
	if !hapairWaitVIP(ctx, t, master.ns, true, 20*time.Second) {
		t.Fatalf("the VIP never came back to the MASTER; keepalived said:\n%s", master.keepalivedLog)
	}
	t.Logf("step 4: keepalived started after the daemons; the VIP came back to the MASTER %v later, with nginx and HAProxy already failed", time.Since(began).Round(100*time.Millisecond))

	// The fix as printed, then the same boot again.
	master.applyFixes(ctx, t, fixes)
	r, exit := hapairLbdoctor(ctx, t, bin, master)
	for _, d := range []string{"nginx", "haproxy"} {
		if hapairHasFinding(r, "LBD424", d, "10.0.0.100", ports[d]) {
			t.Errorf("lbdoctor on the fixed MASTER still reports LBD424 for %s", d)
		}
	}
	t.Logf("step 5: applied %q on the MASTER; lbdoctor: exit %d, findings:%s", fixes, exit, hapairFindings(r))
	master.stopKeepalived(t)
	if !hapairWaitVIP(ctx, t, master.ns, false, 10*time.Second) {
		t.Fatalf("the VIP stayed on the MASTER after its keepalived stopped")
	}
	bound = bootDaemons("step 6")
	for d, b := range bound {
		if !b {
			t.Errorf("%s did not start before keepalived on the fixed MASTER", d)
		}
	}
	master.startKeepalived(ctx, t)
	if !hapairWaitVIP(ctx, t, master.ns, true, 20*time.Second) {
		t.Fatalf("the VIP never came back to the fixed MASTER; keepalived said:\n%s", master.keepalivedLog)
	}
	body, err := hapairHTTPGet(master.ns, "10.0.0.100:80")
	if err != nil || !strings.Contains(body, "200 OK") {
		t.Errorf("GET http://10.0.0.100/ on the fixed MASTER after its boot: %v\n%s", err, body)
	}
	t.Logf("step 7: with the fix, nginx and HAProxy started before keepalived, and the MASTER serves the VIP once it is back")
}

// hapairHasFinding reports whether the report has a finding id on the
// service's listener at address and port.
func hapairHasFinding(r daemonReport, id, service, address string, port int) bool {
	for _, f := range r.Findings {
		if f.ID == id && f.Service == service && f.Address == address && f.Port == port {
			return true
		}
	}
	return false
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
