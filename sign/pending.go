package sign

import (
	"slices"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// pending returns the reasons of a post-check denial when each only asks
// for what other runs attach, or nil when any is the run's own failure. A
// trust file may require a signature, provenance, an SBOM and a scan that
// separate CI steps or jobs attach (a nightly re-scan attests alone): a
// run that attached its part correctly does not fail because the others
// have not run yet. What the run attached is judged in full: a condition
// failing on it, a wrong identity, a copied subject are never pending.
func pending(d *verify.Decision, req Request) []string {
	attached := map[string]bool{}
	for _, a := range req.Attest {
		attached[a.Type] = true
	}
	var out []string
	for _, r := range d.Reasons {
		switch {
		case r.Code == verify.CodeNoAttestation && r.Attestation != nil && !attached[r.Attestation.PredicateType]:
		case r.Code == verify.CodeNoProvenance && !slices.ContainsFunc(req.Attest, isProvenance):
		case (r.Code == verify.CodeNoSignature || r.Code == verify.CodeThresholdNotMet) && !req.Sign:
		default:
			return nil
		}
		out = append(out, r.String())
	}
	return out
}

func isProvenance(a attest.Predicate) bool {
	return a.Type == policy.SLSAProvenanceV1 || a.Type == policy.SLSAProvenanceV02
}
