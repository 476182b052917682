package checks

import (
	"fmt"

	"github.com/lbdoctor/lbdoctor/parsers"
)

// LBD508 says when the two sides of one VRRP router authenticate
// differently.
var LBD508 = &Check{
	ID:       "LBD508",
	Name:     "peer-auth-mismatch",
	Title:    "Peers of a VRRP instance authenticate differently",
	Severity: Error,
	Doc: `Two nodes' vrrp_instances act as one VRRP router, but their
authentication blocks differ: one has none, the auth_type differs, or the
auth_pass does (keepalived uses only its first 8 characters). Each node
drops the other's adverts ("bad authentication" / "received an invalid
passwd"), so both become MASTER and hold the VIP.

Bundles never carry the password itself: lbdoctor snapshot --with-configs
replaces auth_pass with a digest, and lbdoctor compares digests of the
first 8 characters, so two nodes compare equal exactly when keepalived
would.

Fix: use the same authentication block on every node of the pair.

    authentication {
        auth_type PASS
        auth_pass s3cret12
    }`,
	RunCluster: func(p *ClusterPass) error {
		for _, pr := range p.Peers {
			a, b := pr.A.Inst, pr.B.Inst
			if a.AuthType == b.AuthType && authDigest(a.AuthPass) == authDigest(b.AuthPass) {
				continue
			}
			what := "auth_pass"
			if a.AuthType != b.AuthType {
				what = fmt.Sprintf("auth_type (%s on %s, %s on %s)", orNone(a.AuthType), pr.A.Node.Name, orNone(b.AuthType), pr.B.Node.Name)
			}
			p.Report(pairFinding(pr, a.Line("authentication"), b.Line("authentication"),
				fmt.Sprintf("vrrp_instance %s authenticates differently on %s and %s: %s differs", a.Name, pr.A.Node.Name, pr.B.Node.Name, what),
				"each node drops the other's adverts as unauthenticated, so both become MASTER and hold the VIP",
				"use the same authentication block on both nodes"))
		}
		return nil
	},
}

// authDigest is the digest of the part of an auth_pass keepalived uses.
func authDigest(pass string) string {
	if pass == "" {
		return ""
	}
	if len(pass) > 8 && !isDigest(pass) {
		pass = pass[:8]
	}
	return parsers.SecretDigest(pass)
}

func isDigest(s string) bool {
	return len(s) > len(parsers.DigestPrefix) && s[:len(parsers.DigestPrefix)] == parsers.DigestPrefix
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
