package policy_test

import (
	"encoding/json"
	"testing"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
)

// benchConditionsPolicy is a rule with three CEL conditions: one on a
// vulnerability scan, two on an SBOM (a deny list, every package has a purl).
const benchConditionsPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - {name: gh, keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app}}
images:
  - match: ["**"]
    signedBy: [gh]
    attestations:
      - type: vuln
        maxAge: 7d
        conditions: ['!vulnerabilities(predicate).exists(v, v.severity == "CRITICAL")']
      - type: cyclonedx
        conditions:
          - '!packages(predicate).exists(p, p.name in ["log4j-core", "xz-utils", "event-stream"])'
          - 'packages(predicate).all(p, p.purl != "")'
`

// BenchmarkAttestationConditions is the evaluation issue 23 asks for: a
// rule's three CEL conditions over a 1 MB SBOM (syft-shaped CycloneDX) and
// a scan report (Trivy, 300 findings with descriptions), in-process.
// "decode+evaluate" includes decoding both statements from their JSON (what
// a verification does once per attestation); "evaluate" only the
// conditions.
func BenchmarkAttestationConditions(b *testing.B) {
	p, err := policy.Parse([]byte(benchConditionsPolicy))
	if err != nil {
		b.Fatal(err)
	}
	scanReq, bomReq := p.Rules[0].Attestations[0], p.Rules[0].Attestations[1]
	statement := func(v any) []byte {
		raw, err := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": "x", "predicate": v})
		if err != nil {
			b.Fatal(err)
		}
		return raw
	}
	bom, scan := statement(testworld.RealisticBOM(1<<20)), statement(testworld.RealisticScan(300))
	b.Logf("SBOM statement %d bytes, scan statement %d bytes", len(bom), len(scan))
	check := func(bomFacts, scanFacts *policy.Facts) {
		budget := policy.NewBudget()
		if failed := policy.CheckConditions(bomReq.Conditions, bomFacts, budget); len(failed) > 0 {
			b.Fatalf("SBOM conditions: %s %s", failed[0].Outcome, failed[0].Err)
		}
		if failed := policy.CheckConditions(scanReq.Conditions, scanFacts, budget); len(failed) > 0 {
			b.Fatalf("scan condition: %s %s", failed[0].Outcome, failed[0].Err)
		}
	}
	decode := func() (*policy.Facts, *policy.Facts) {
		bf, err := policy.NewFacts(bom, policy.SignerFacts{Identity: "gh"})
		if err != nil {
			b.Fatal(err)
		}
		sf, err := policy.NewFacts(scan, policy.SignerFacts{Identity: "gh"})
		if err != nil {
			b.Fatal(err)
		}
		return bf, sf
	}
	b.Run("decode+evaluate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			check(decode())
		}
	})
	b.Run("evaluate", func(b *testing.B) {
		bf, sf := decode()
		b.ReportAllocs()
		for b.Loop() {
			check(bf, sf)
		}
	})
}
