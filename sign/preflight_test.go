package sign

import (
	"testing"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/test/testworld"
)

// TestPreflightProvenanceUsesTheEngineConditions: preflight judges the
// provenance a run will attach with verify.CheckProvenance, the cluster's
// own conditions, and reports the failing field with expected and actual.
func TestPreflightProvenanceUsesTheEngineConditions(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	p := loadPolicy(t, w)
	claims, err := ci.ParseToken(token(githubClaims("acme/app", "refs/heads/main")))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := claims.ExpectedCertificate("https://github.com")
	if err != nil {
		t.Fatal(err)
	}
	signer := Signer{Certificate: &sum}
	image := w.Ref("acme/prov/app:1")
	for _, c := range []struct {
		name   string
		mutate func(*attest.Provenance)
		field  string
	}{
		{"provenance from the signer's repository on main is accepted", func(*attest.Provenance) {}, ""},
		{"provenance naming a fork as its source breaks sourceMatchesSigner", func(p *attest.Provenance) {
			p.BuildDefinition.ExternalParameters.Workflow.Repository = "https://github.com/acme/fork"
		}, "provenance.sourceMatchesSigner"},
		{"provenance from a feature branch breaks sourceRefs", func(p *attest.Provenance) {
			p.BuildDefinition.ExternalParameters.Workflow.Ref = "refs/heads/feature"
		}, "provenance.sourceRefs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			prov, err := attest.FromCI(ci.MapEnv(nil), claims)
			if err != nil {
				t.Fatal(err)
			}
			c.mutate(prov)
			pred, err := attest.ProvenancePredicate(prov)
			if err != nil {
				t.Fatal(err)
			}
			r := Preflight(p, image, signer, []attest.Predicate{pred})
			if c.field == "" {
				if !r.OK {
					t.Fatalf("refused: %+v", r.Problems)
				}
				return
			}
			if r.OK || len(r.Problems) != 1 || r.Problems[0].Field != c.field || r.Problems[0].Expected == "" || r.Problems[0].Actual == "" {
				t.Fatalf("want one %s problem with expected and actual, got ok=%v %+v", c.field, r.OK, r.Problems)
			}
		})
	}
}
