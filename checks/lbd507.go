package checks

import "fmt"

// LBD507 says when the two sides of one VRRP router advertise at different
// intervals.
var LBD507 = &Check{
	ID:       "LBD507",
	Name:     "peer-advert-int-mismatch",
	Title:    "Peers of a VRRP instance use different advert_int",
	Severity: Error,
	Doc: `Two nodes' vrrp_instances act as one VRRP router, but their advert_int
differ. keepalived compares the interval in every advert it receives with
its own and drops adverts that do not match ("advertisement interval
mismatch"): the BACKUP never hears the MASTER, times out and becomes MASTER
too, so both hold the VIP.

Fix: set the same advert_int on every node of the pair (the default is 1
second).

    lb1: advert_int 1
    lb2: advert_int 1`,
	RunCluster: func(p *ClusterPass) error {
		for _, pr := range p.Peers {
			a, b := advertInt(pr.A.Inst.AdvertInt), advertInt(pr.B.Inst.AdvertInt)
			if a == b {
				continue
			}
			p.Report(pairFinding(pr, pr.A.Inst.Line("advert_int"), pr.B.Inst.Line("advert_int"),
				fmt.Sprintf("vrrp_instance %s advertises every %s on %s but every %s on %s", pr.A.Inst.Name, seconds(a), pr.A.Node.Name, seconds(b), pr.B.Node.Name),
				"keepalived drops adverts whose interval is not its own, so neither node hears the other and both become MASTER",
				"set the same advert_int on both nodes"))
		}
		return nil
	},
}

// advertInt is an advert_int in milliseconds, with keepalived's default.
func advertInt(ms int) int {
	if ms == 0 {
		return 1000
	}
	return ms
}

func seconds(ms int) string {
	if ms%1000 == 0 {
		return fmt.Sprintf("%ds", ms/1000)
	}
	return fmt.Sprintf("%gs", float64(ms)/1000)
}
