package sign

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// Signer is who this run will sign as, known before anything is signed:
// the certificate Fulcio will issue (predicted from the token's claims) or
// the key.
type Signer struct {
	Certificate *certificate.Summary
	Key         *Keypair
}

func (s Signer) String() string {
	if s.Certificate != nil {
		return s.Certificate.SubjectAlternativeName
	}
	if s.Key != nil {
		return "key " + s.Key.KeyID
	}
	return "<nobody>"
}

// Problem is one field where the trust policy expects something else.
type Problem struct {
	Identity string `json:"identity,omitempty"`
	Field    string `json:"field"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
}

// PreflightReport says whether the policy would admit what this run is
// about to sign, and if not, why, field by field.
type PreflightReport struct {
	Image      string    `json:"image"`
	PolicyHash string    `json:"policyHash"`
	Rule       string    `json:"rule,omitempty"`
	Signer     string    `json:"signer"`
	Identity   string    `json:"identity,omitempty"` // the policy identity that accepts the signer
	OK         bool      `json:"ok"`
	Problems   []Problem `json:"problems,omitempty"`
	Notes      []string  `json:"notes,omitempty"`
}

// Preflight checks signer (and prov, the provenance the run will attach,
// nil when not attesting) against the rule governing image. It is pure: no
// registry, no Sigstore.
func Preflight(p *policy.Policy, image string, signer Signer, prov *attest.Provenance) *PreflightReport {
	r := &PreflightReport{Image: image, PolicyHash: p.Hash, Signer: signer.String()}
	m, err := p.Match(image)
	if err != nil {
		r.Problems = append(r.Problems, Problem{Field: "rule", Expected: "a rule matching " + m.Repository, Actual: err.Error()})
		return r
	}
	rule := m.Rule
	r.Rule = rule.Name
	switch {
	case rule.Deny != "":
		r.Problems = append(r.Problems, Problem{Field: "rule", Expected: "an image the policy admits", Actual: fmt.Sprintf("rule %q denies %s: %s", rule.Name, m.Repository, rule.Deny)})
		return r
	case rule.Signature == policy.Optional:
		r.Notes = append(r.Notes, fmt.Sprintf("rule %q is pin-only: the cluster admits %s by digest without checking signatures", rule.Name, m.Repository))
		r.OK = true
		return r
	}
	id, probs := matchSigner(rule.SignedBy, signer)
	if id == nil {
		r.Problems = append(r.Problems, probs...)
		return r
	}
	r.Identity = id.Name
	if rule.Threshold > 1 {
		r.Notes = append(r.Notes, fmt.Sprintf("rule %q needs %d signers; this run provides %s only", rule.Name, rule.Threshold, id.Name))
	}
	if pv := rule.Provenance; pv != nil {
		r.Problems = append(r.Problems, checkProvenance(pv, rule.SignedBy, signer, prov)...)
	}
	r.OK = len(r.Problems) == 0
	return r
}

// matchSigner returns the first identity accepting signer, or every
// identity's objection.
func matchSigner(ids []*policy.Identity, s Signer) (*policy.Identity, []Problem) {
	var probs []Problem
	for _, id := range ids {
		switch {
		case s.Certificate != nil && id.Keyless != nil:
			mm := id.MatchCertificate(*s.Certificate)
			if mm == nil {
				return id, nil
			}
			probs = append(probs, Problem{Identity: id.Name, Field: mm.Field, Expected: mm.Expected, Actual: mm.Actual})
		case s.Key != nil && id.Key != nil:
			if id.Key.KMS != "" && id.Key.KMS == s.Key.KMS || id.Key.KeyID != "" && id.Key.KeyID == s.Key.KeyID {
				return id, nil
			}
			want := id.Key.KeyID
			if id.Key.KMS != "" {
				want = id.Key.KMS
			}
			probs = append(probs, Problem{Identity: id.Name, Field: "key", Expected: want, Actual: s.Key.KeyID + " (" + s.Key.Source + ")"})
		case s.Certificate != nil:
			probs = append(probs, Problem{Identity: id.Name, Field: "kind", Expected: "a key signature", Actual: "keyless " + s.Certificate.SubjectAlternativeName})
		case s.Key != nil:
			probs = append(probs, Problem{Identity: id.Name, Field: "kind", Expected: "keyless " + id.Keyless.ExpectedSAN(), Actual: "key " + s.Key.KeyID})
		}
	}
	return nil, probs
}

// checkProvenance mirrors verify's provenance conditions on the predicate
// this run will produce.
func checkProvenance(pv *policy.Provenance, ruleSigners []*policy.Identity, s Signer, prov *attest.Provenance) []Problem {
	if prov == nil {
		if pv.Required {
			return []Problem{{Field: "provenance", Expected: "a SLSA provenance attestation (run with --attest, or `sign attest`)", Actual: "none will be attached by this run"}}
		}
		return nil
	}
	var probs []Problem
	signers := pv.SignedBy
	if len(signers) == 0 {
		signers = ruleSigners
	}
	if id, p := matchSigner(signers, s); id == nil {
		for i := range p {
			p[i].Field = "provenance.signedBy." + p[i].Field
		}
		probs = append(probs, p...)
	}
	if len(pv.PredicateTypes) > 0 && !slices.Contains(pv.PredicateTypes, attest.PredicateSLSAv1) {
		probs = append(probs, Problem{Field: "provenance.predicateTypes", Expected: strings.Join(pv.PredicateTypes, ", "), Actual: attest.PredicateSLSAv1})
	}
	// The content conditions are verify's own, on the predicate as the
	// engine will parse it: CI and cluster cannot drift apart.
	raw, err := json.Marshal(prov)
	if err != nil {
		return append(probs, Problem{Field: "provenance", Expected: "an encodable SLSA predicate", Actual: err.Error()})
	}
	got, err := verify.ParseSLSA(attest.PredicateSLSAv1, raw)
	if err != nil {
		return append(probs, Problem{Field: "provenance", Expected: "a SLSA v1 predicate", Actual: err.Error()})
	}
	signerRepo := ""
	if s.Certificate != nil {
		signerRepo = s.Certificate.SourceRepositoryURI
	}
	if mm := verify.CheckProvenance(pv, *got, signerRepo); mm != nil {
		probs = append(probs, Problem{Field: mm.Field, Expected: mm.Expected, Actual: mm.Actual})
	}
	return probs
}

// WriteText prints the report for a CI log: the verdict, then expected
// against actual for each field that differs.
func (r *PreflightReport) WriteText(w io.Writer) error {
	verdict := "OK"
	if !r.OK {
		verdict = "REFUSED"
	}
	fmt.Fprintf(w, "preflight %s: %s\n  signer:  %s\n", verdict, r.Image, r.Signer)
	if r.Rule != "" {
		fmt.Fprintf(w, "  rule:    %s\n", r.Rule)
	}
	if r.Identity != "" {
		fmt.Fprintf(w, "  accepted as identity %q\n", r.Identity)
	}
	fmt.Fprintf(w, "  policy:  %s\n", r.PolicyHash)
	for _, p := range r.Problems {
		who := ""
		if p.Identity != "" {
			who = "identity " + p.Identity + ": "
		}
		fmt.Fprintf(w, "  - %s%s\n      expected: %s\n      actual:   %s\n", who, p.Field, p.Expected, p.Actual)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	_, err := fmt.Fprint(w, "")
	return err
}

// Err is nil when the report is OK, else an error naming image and signer.
func (r *PreflightReport) Err() error {
	if r.OK {
		return nil
	}
	var parts []string
	for _, p := range r.Problems {
		parts = append(parts, fmt.Sprintf("%s: expected %s, actual %q", p.Field, p.Expected, p.Actual))
	}
	return fmt.Errorf("preflight: the trust policy would refuse %s signed by %s: %s", r.Image, r.Signer, strings.Join(parts, "; "))
}
