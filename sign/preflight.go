package sign

import (
	"fmt"
	"io"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// Signer is who this run will sign as, known before anything is signed:
// the certificate Fulcio will issue (predicted from the token's claims) or
// the key.
type Signer struct {
	Certificate *certificate.Summary
	Key         *Keypair
	// Notation is the run's Notation signer, when it has one.
	Notation *verify.NotationSigner
}

func (s Signer) String() string { return s.evidence().String() }

// evidence is the signer as the engine evaluates it.
func (s Signer) evidence() verify.Signer {
	out := verify.Signer{Certificate: s.Certificate, Notation: s.Notation}
	if s.Key != nil {
		out.KeyID, out.KMS = s.Key.KeyID, s.Key.KMS
	}
	return out
}

// PreflightReport says whether the policy would admit what this run is
// about to sign, and if not, why, field by field.
type PreflightReport struct {
	Image      string `json:"image"`
	PolicyHash string `json:"policyHash"`
	Rule       string `json:"rule,omitempty"`
	Signer     string `json:"signer"`
	Identity   string `json:"identity,omitempty"` // the policy identity that accepts the signer
	OK         bool   `json:"ok"`
	// Problems are the fields where the policy expects something else.
	Problems []policy.Mismatch `json:"problems,omitempty"`
	// Conditions are the trust file's conditions that fail on what this
	// run attaches: field, expression, what it saw.
	Conditions []policy.Mismatch `json:"conditions,omitempty"`
	Notes      []string          `json:"notes,omitempty"`
	// Decision is the engine's decision on the evidence this run will
	// produce, which Problems and Notes read.
	Decision *verify.Decision `json:"decision,omitempty"`
}

// Preflight decides, with the engine the cluster runs, what this run will
// attach: a signature by signer and each predicate of attach attested by
// signer (verify.Predicted), under the rule that governs image: the
// identities, provenance's fields and every CEL condition of the
// attestations it attaches. Requirements for what the run does not attach
// are notes (other steps or jobs attach them). It is pure: no registry,
// no Sigstore.
func Preflight(p *policy.Policy, image string, signer Signer, attach []attest.Predicate) *PreflightReport {
	r := &PreflightReport{Image: image, PolicyHash: p.Hash, Signer: signer.String()}
	s, d := verify.Prepare(verify.Request{Image: image, Policy: p})
	if d == nil {
		var statements []verify.Statement
		for _, a := range attach {
			statements = append(statements, verify.Statement{PredicateType: a.Type, Predicate: a.JSON})
		}
		// Predicted evidence needs no trusted material: nothing is verified
		// cryptographically before it is signed.
		d = verify.Evaluate(verify.Target{Subject: s}, verify.Predicted(signer.evidence(), statements...), nil)
	}
	r.Decision = d
	if d.Rule != nil {
		r.Rule = d.Rule.Name
		if d.Rule.Kind == policy.RulePinOnly {
			r.Notes = append(r.Notes, fmt.Sprintf("rule %q is pin-only: the cluster admits %s by digest without checking signatures", d.Rule.Name, s.Match.Repository))
		}
	}
	if len(d.Signatures) > 0 {
		r.Identity = d.Signatures[0].Identity
	}
	r.read(d, len(attach) > 0)
	r.OK = len(r.Problems) == 0 && len(r.Conditions) == 0
	return r
}

// read turns the decision into problems and notes: each objection to
// this run's signature or attestation, field by field, then every reason
// they do not already say. A threshold above one is a note: other runs
// may add the missing signers; so is an attestation the run does not
// attach (and provenance, when it attaches others).
func (r *PreflightReport) read(d *verify.Decision, attests bool) {
	for _, rej := range d.Rejected {
		m := rej.Mismatch
		if m.Field == "" || isCondition(rej.Code) {
			continue // a condition is reported once, from the reasons
		}
		switch a := rej.Attestation; {
		case strings.HasPrefix(m.Field, "images["): // already the trust file's path
		case a != nil && a.Requirement != "provenance":
			m.Field = "attestations." + a.Requirement + ".signedBy." + m.Field
		case rej.Kind == ocisig.KindAttestation && !strings.HasPrefix(m.Field, "provenance"):
			m.Field = "provenance.signedBy." + m.Field
		}
		r.Problems = append(r.Problems, m)
	}
	objected := len(r.Problems) > 0
	for _, reason := range d.Reasons {
		switch {
		case reason.Code == verify.CodeThresholdNotMet && r.Identity != "":
			r.Notes = append(r.Notes, fmt.Sprintf("rule %q needs %s; this run provides %s only", r.Rule, reason.Expected, r.Identity))
		case reason.Code == verify.CodeNoAttestation, reason.Code == verify.CodeNoProvenance && attests:
			r.Notes = append(r.Notes, fmt.Sprintf("rule %q also requires %s, which this run does not attach: %s", r.Rule, reason.Expected, reason.Hint))
		case isCondition(reason.Code):
			r.Conditions = append(r.Conditions, reason.Mismatch)
		case objected && (reason.Code == verify.CodeWrongIdentity || reason.Code == verify.CodeProvenanceMismatch):
			// the objections above say it field by field
		default:
			m := reason.Mismatch
			if m.Field == "" {
				m.Field = string(reason.Code)
			}
			if m.Actual == "" {
				m.Actual = reason.String()
			}
			r.Problems = append(r.Problems, m)
		}
	}
}

// WriteText prints the report for a CI log: the verdict, then expected
// against actual for each field that differs.
func (r *PreflightReport) WriteText(w io.Writer) error {
	verdict := "OK"
	if !r.OK {
		verdict = "REFUSED"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "preflight %s: %s\n  signer:  %s\n", verdict, r.Image, r.Signer)
	if r.Rule != "" {
		fmt.Fprintf(&b, "  rule:    %s\n", r.Rule)
	}
	if r.Identity != "" {
		fmt.Fprintf(&b, "  accepted as identity %q\n", r.Identity)
	}
	fmt.Fprintf(&b, "  policy:  %s\n", r.PolicyHash)
	for _, p := range r.Problems {
		who := ""
		if p.Identity != "" {
			who = "identity " + p.Identity + ": "
		}
		fmt.Fprintf(&b, "  - %s%s\n      expected: %s\n      actual:   %s\n", who, p.Field, p.Expected, p.Actual)
	}
	for _, c := range r.Conditions {
		fmt.Fprintf(&b, "  - condition %s fails on what this run attaches\n      expression: %s\n      saw:        %s\n", c.Field, c.Expected, c.Actual)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
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
	for _, c := range r.Conditions {
		parts = append(parts, fmt.Sprintf("condition %s (%s) fails: %s", c.Field, c.Expected, c.Actual))
	}
	return fmt.Errorf("preflight: the trust policy would refuse %s signed by %s: %s", r.Image, r.Signer, strings.Join(parts, "; "))
}

func isCondition(c verify.ReasonCode) bool {
	return c == verify.CodeConditionFailed || c == verify.CodeConditionError || c == verify.CodeConditionCostExceeded
}
