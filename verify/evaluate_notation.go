package verify

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

// Notation signatures are evidence like Sigstore signatures: found in the
// same referrers listing (ocisig), their integrity checked and their
// revocation status asked when collected (collect_notation.go), decided
// here against the rule's notation identities, and counted toward the
// same threshold (a signer is the trust anchor plus the leaf's subject:
// evaluate_signers.go).

// notationOf returns the notation identities of ids.
func notationOf(ids []*policy.Identity) []*policy.Identity {
	var out []*policy.Identity
	for _, id := range ids {
		if id.Notation != nil {
			out = append(out, id)
		}
	}
	return out
}

// verifyNotation verifies a Notation signature found on the digest and
// returns the notation identities of ids it satisfies, or why none.
func (e *evaluation) verifyNotation(c *candidate, ids []*policy.Identity) ([]match, []Reason) {
	if len(notationOf(ids)) == 0 {
		return nil, []Reason{notationKindMismatch(c)}
	}
	n := c.notation
	if n.sig == nil {
		return nil, []Reason{n.invalid(c)}
	}
	return e.matchNotation(c, *n.sig, ids)
}

// matchPredictedNotation matches the Notation signature a signing run will
// attach (sign's preflight): every offline check, and no revocation check.
func (e *evaluation) matchPredictedNotation(c *candidate, ids []*policy.Identity) ([]match, []Reason) {
	if len(notationOf(ids)) == 0 {
		return nil, []Reason{notationKindMismatch(c)}
	}
	return e.matchNotation(c, predictedNotation(c.predicted.Notation), ids)
}

func notationKindMismatch(c *candidate) Reason {
	return NewReason(CodeWrongIdentity, "%s (X.509), but the rule accepts only Sigstore identities (keyless or key)", notationLabel(c)).
		With(&policy.Mismatch{Field: "kind", Expected: "a Sigstore signature", Actual: "a Notation signature"})
}

// matchNotation checks sig against each notation identity of ids: the
// offline trust checks, then, for an identity they satisfy, revocation.
func (e *evaluation) matchNotation(c *candidate, sig notationSig, ids []*policy.Identity) ([]match, []Reason) {
	now := time.Now()
	var out []match
	var reasons []Reason
	for _, id := range notationOf(ids) {
		o, r := checkNotation(sig, id, now)
		if r == nil {
			r = e.revoked(c, sig, &o, id)
		}
		if r != nil {
			r.Message = notationLabel(c) + ": " + r.Message
			reasons = append(reasons, *r)
			continue
		}
		out = append(out, match{identity: id, signer: x509Signer(o.anchor.Fingerprint, sig.chain[0]), sig: notationResult(c, id, sig, o)})
	}
	return out, reasons
}

// revoked reads the revocation status of the signing chain and, when a
// timestamp counted, of the TSA's chain, as collected (collect_notation.go):
// nil when neither is revoked, or when a status is unknown and the
// identity allows that (the outcome then says so).
func (e *evaluation) revoked(c *candidate, sig notationSig, o *notationOutcome, id *policy.Identity) *Reason {
	rev := id.Notation.Revocation
	switch {
	case rev.Check == policy.RevocationSkip:
		o.revocation = "not checked (revocation.check: skip)"
		return nil
	case c.predicted != nil:
		o.revocation = "checked at admission"
		return nil
	}
	reqs := revocationRequests(sig, *o, id)
	statuses := c.notation.revocation[id]
	o.revocation = string(RevocationGood)
	for i, req := range reqs {
		st := RevocationStatus{State: RevocationUnknown, Detail: "not checked when the signature was collected"}
		if i < len(statuses) {
			st = statuses[i]
		}
		what := "signing certificate"
		if req.Timestamping {
			what = "timestamp authority certificate"
		}
		switch {
		case st.State == RevocationRevoked:
			return ptr(NewReason(CodeCertificateRevoked, "%s %s is revoked (%s)", what, certName(st.Certificate), st.Detail).
				With(&policy.Mismatch{Identity: id.Name, Field: "revocation", Expected: "a certificate that is not revoked", Actual: "revoked: " + st.Certificate.Subject.String()}))
		case st.State == RevocationUnknown && rev.Unreachable == policy.UnreachableDeny:
			e.d.Transient = true
			return ptr(NewReason(CodeRevocationUnknown, "the revocation status of %s %s is unknown (%s); identity %q denies then (revocation.unreachable: deny)",
				what, subjectOf(st.Certificate), st.Detail, id.Name).
				With(&policy.Mismatch{Identity: id.Name, Field: "revocation", Expected: "a status from the certificate's OCSP responder or CRL", Actual: "unknown: " + st.Detail}).
				WithHint("retry; if the CA's responders are down for long, an operator may set revocation.unreachable: allow"))
		case st.State == RevocationUnknown:
			o.revocation = fmt.Sprintf("unknown, allowed (revocation.unreachable: allow): %s", st.Detail)
		}
	}
	return nil
}

func subjectOf(c *x509.Certificate) string {
	if c == nil {
		return "of the chain"
	}
	return certName(c)
}

// notationResult is the decision's record of a Notation signature that
// satisfied id.
func notationResult(c *candidate, id *policy.Identity, sig notationSig, o notationOutcome) SignatureResult {
	leaf := sig.chain[0]
	r := SignatureResult{Identity: id.Name, Layout: ocisig.LayoutNotation, Subject: leaf.Subject.String(),
		Certificate: fingerprint(leaf), Anchor: o.anchor.String(), SigningScheme: sig.scheme, Revocation: o.revocation}
	if c.notation != nil {
		r.Envelope = c.notation.mediaType
	}
	if o.stamped != nil {
		r.Timestamps = []Timestamp{{Kind: "tsa", Time: *o.stamped}}
	}
	return r
}

// notationLabel names a Notation candidate in a sentence: the referrer
// manifest that carried it, or this run's signature (preflight).
func notationLabel(c *candidate) string {
	if c.notation == nil {
		return "this run's Notation signature"
	}
	return fmt.Sprintf("Notation signature %s", shortHash(c.notation.manifest.String()))
}

// want is what a rule needs read: attestations for provenance; Notation
// signatures when it names a notation identity, and only them when it
// names nothing else (no .sig tag, no bundle is read).
func want(r *policy.Rule) ocisig.Want {
	n := len(notationOf(r.SignedBy))
	atts := r.Provenance != nil || len(r.Attestations) > 0
	return ocisig.Want{Attestations: atts, Notation: n > 0, OnlyNotation: n > 0 && n == len(r.SignedBy) && !atts}
}
