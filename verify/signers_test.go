package verify

import (
	"testing"

	"github.com/signet-dev/signet/policy"
)

// TestSignerAssignment: the threshold is a matching of distinct signers to
// distinct identities. A greedy count would let a signer that satisfies
// several identities take the only one another signer satisfies.
func TestSignerAssignment(t *testing.T) {
	a, b, c := &policy.Identity{Name: "a"}, &policy.Identity{Name: "b"}, &policy.Identity{Name: "c"}
	ids := []*policy.Identity{a, b, c}
	sat := func(signer string, id *policy.Identity) match {
		return match{identity: id, signer: signerKey(signer), sig: SignatureResult{Identity: id.Name, Subject: signer}}
	}
	cases := []struct {
		name    string
		matches []match
		want    int
	}{
		{"one signer satisfying every identity counts once", []match{sat("s1", a), sat("s1", b), sat("s1", c)}, 1},
		{"a signer seen first must yield the identity only a later signer satisfies",
			[]match{sat("s1", a), sat("s1", b), sat("s2", a)}, 2},
		{"chains of reassignment are followed", []match{sat("s1", a), sat("s1", b), sat("s2", b), sat("s2", c), sat("s3", a)}, 3},
		{"two signers satisfying one identity count once", []match{sat("s1", a), sat("s2", a)}, 1},
		{"nothing satisfied counts nothing", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tally signerTally
			for _, m := range tc.matches {
				tally.add(ids, m)
			}
			got := tally.assign(len(ids))
			if len(got) != tc.want {
				t.Fatalf("%d counted, want %d: %+v", len(got), tc.want, got)
			}
			signers, identities := map[string]bool{}, map[string]bool{}
			for _, s := range got {
				if signers[s.Subject] || identities[s.Identity] {
					t.Fatalf("a signer or an identity counted twice: %+v", got)
				}
				signers[s.Subject], identities[s.Identity] = true, true
			}
		})
	}
}
