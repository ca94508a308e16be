package verify

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	nx509 "github.com/notaryproject/notation-core-go/x509"
	"github.com/notaryproject/tspclient-go"

	"github.com/signet-dev/signet/policy"
)

// This file is the trust decision on one Notation signature under one
// identity, as a function of the signature, the identity's trust material
// (compiled at policy load) and the time: no I/O, so it is evaluated the
// same by the cluster and by sign's preflight, and tested without a
// server. It follows the Notary Project's verification steps in their
// order (trust-store-trust-policy.md): authenticity (the chain holds a
// trust anchor of the signature's scheme), the trusted identity (the leaf
// subject), expiry, and the authentic timestamp. Integrity (the envelope's
// own signature and chain) is checked before, revocation (the one network
// step, notation_revocation.go) after.

// notationSig is what the checks read from a verified envelope, or from
// what a signing run will produce (predictedTSA set, no timestamp yet).
type notationSig struct {
	scheme              string
	chain               []*x509.Certificate // leaf first
	signingTime, expiry time.Time
	// timestamp is the RFC 3161 token countersigning signature.
	timestamp, signature []byte
	// predictedTSA is the root of the TSA a signing run will ask for a
	// timestamp (preflight): the timestamp is taken as that TSA's, now.
	predictedTSA *x509.Certificate
}

// notationOutcome is what held: the anchor the chain reached, the time the
// chain was checked at and, when a timestamp was verified, its time and
// the TSA's chain (for its revocation check).
type notationOutcome struct {
	anchor    policy.Certificate
	stamped   *time.Time
	tsaChain  []*x509.Certificate
	authentic time.Time // the authentic signing time, if the scheme has one
	// revocation is what the revocation check found, for the decision.
	revocation string
}

// checkNotation decides sig under identity id at now: the outcome, or the
// first Notary Project step it fails, as a Reason.
func checkNotation(sig notationSig, id *policy.Identity, now time.Time) (notationOutcome, *Reason) {
	n := id.Notation
	leaf := sig.chain[0]
	fail := func(code ReasonCode, field, expected, actual, format string, args ...any) (notationOutcome, *Reason) {
		r := NewReason(code, format, args...).With(&policy.Mismatch{Identity: id.Name, Field: field, Expected: expected, Actual: actual})
		return notationOutcome{}, &r
	}
	anchor, ok := n.Anchor(sig.scheme, sig.chain)
	if !ok {
		store := "certificateAuthorities"
		if sig.scheme == policy.SchemeX509SigningAuthority {
			store = "signingAuthorities"
		}
		return fail(CodeUntrustedCertificate, "notation."+store, anchorList(n.Anchors(sig.scheme)), certName(sig.chain[len(sig.chain)-1]),
			"the certificate chain of %s (root %s) contains none of identity %q's %s (signing scheme %s)",
			certName(leaf), certName(sig.chain[len(sig.chain)-1]), id.Name, store, sig.scheme)
	}
	if mm := n.MatchSubject(id.Name, leaf); mm != nil {
		return notationOutcome{}, ptr(NewReason(CodeWrongIdentity, "%v", mm).With(mm))
	}
	if !sig.expiry.IsZero() && !now.Before(sig.expiry) {
		return fail(CodeSignatureExpired, "expiry", "a time after "+now.UTC().Format(time.RFC3339), sig.expiry.UTC().Format(time.RFC3339),
			"the signature by %s expired at %s (its signed expiry attribute)", certName(leaf), sig.expiry.UTC().Format(time.RFC3339))
	}
	out := notationOutcome{anchor: anchor}
	if sig.scheme == policy.SchemeX509SigningAuthority {
		// The signing authority vouches for the signing time.
		out.authentic = sig.signingTime
		if c := invalidAt(sig.chain, sig.signingTime); c != nil {
			return fail(CodeCertificateExpired, "certificate", "valid at the authentic signing time "+sig.signingTime.UTC().Format(time.RFC3339), validity(c),
				"certificate %s was not valid at the authentic signing time %s", certName(c), sig.signingTime.UTC().Format(time.RFC3339))
		}
		return out, nil
	}
	if !needsTimestamp(n, sig.chain, now) {
		if c := invalidAt(sig.chain, now); c != nil {
			why := "the identity trusts no timestamp authority (timestampAuthorities), so the chain must be valid now"
			if len(n.TimestampAuthorities) > 0 {
				why = "verifyTimestamp is afterCertExpiry and the chain has not expired"
			}
			return fail(CodeCertificateExpired, "certificate", "valid at "+now.UTC().Format(time.RFC3339), validity(c),
				"certificate %s is not valid now (%s): %s", certName(c), validity(c), why)
		}
		return out, nil
	}
	stamp, tsaChain, r := checkTimestamp(sig, id, now)
	if r != nil {
		return notationOutcome{}, r
	}
	for _, c := range sig.chain {
		if !stamp.BoundedAfter(c.NotBefore) || !stamp.BoundedBefore(c.NotAfter) {
			return fail(CodeCertificateExpired, "certificate", "valid at the timestamp "+stamp.Format(time.RFC3339), validity(c),
				"certificate %s was not valid at the signature's timestamp %s", certName(c), stamp.Format(time.RFC3339))
		}
	}
	t := stamp.Value.UTC()
	out.stamped, out.tsaChain = &t, tsaChain
	return out, nil
}

// needsTimestamp is Notation's rule: with timestamp authorities trusted, a
// notary.x509 signature needs a timestamp, always or (afterCertExpiry) once
// its chain has expired; without them its chain must be valid now.
func needsTimestamp(n *policy.Notation, chain []*x509.Certificate, now time.Time) bool {
	if len(n.TimestampAuthorities) == 0 {
		return false
	}
	if n.VerifyTimestamp == policy.TimestampAfterCertExpiry {
		for _, c := range chain {
			if now.After(c.NotAfter) {
				return true
			}
		}
		return false
	}
	return true
}

// checkTimestamp verifies the signature's RFC 3161 countersignature: it
// covers the signature, chains to one of the identity's TSA roots at its
// own time, and its signer is a timestamping certificate.
func checkTimestamp(sig notationSig, id *policy.Identity, now time.Time) (*tspclient.Timestamp, []*x509.Certificate, *Reason) {
	n := id.Notation
	roots := anchorList(n.TimestampAuthorities)
	fail := func(code ReasonCode, actual, format string, args ...any) (*tspclient.Timestamp, []*x509.Certificate, *Reason) {
		r := NewReason(code, format, args...).With(&policy.Mismatch{Identity: id.Name, Field: "notation.timestampAuthorities",
			Expected: "an RFC 3161 timestamp from " + roots, Actual: actual})
		return nil, nil, &r
	}
	if sig.predictedTSA != nil && sig.timestamp == nil {
		for _, a := range n.TimestampAuthorities {
			if a.Cert.Equal(sig.predictedTSA) {
				return &tspclient.Timestamp{Value: now}, nil, nil
			}
		}
		return fail(CodeInvalidTimestamp, "a timestamp from "+certName(sig.predictedTSA),
			"this run's timestamp authority (root %s) is not one identity %q trusts", certName(sig.predictedTSA), id.Name)
	}
	if len(sig.timestamp) == 0 {
		return fail(CodeNoTrustedTime, "none",
			"the signature by %s has no RFC 3161 timestamp, and identity %q requires one (timestampAuthorities; verifyTimestamp: %s)",
			certName(sig.chain[0]), id.Name, n.VerifyTimestamp)
	}
	token, err := tspclient.ParseSignedToken(sig.timestamp)
	if err != nil {
		return fail(CodeInvalidTimestamp, err.Error(), "the signature's timestamp is not an RFC 3161 token: %v", err)
	}
	info, err := token.Info()
	if err != nil {
		return fail(CodeInvalidTimestamp, err.Error(), "the signature's timestamp is unreadable: %v", err)
	}
	stamp, err := info.Validate(sig.signature)
	if err != nil {
		return fail(CodeInvalidTimestamp, err.Error(), "the signature's timestamp does not cover its signature: %v", err)
	}
	pool := x509.NewCertPool()
	for _, a := range n.TimestampAuthorities {
		pool.AddCert(a.Cert)
	}
	chain, err := token.Verify(context.Background(), x509.VerifyOptions{CurrentTime: stamp.Value, Roots: pool})
	if err != nil {
		return fail(CodeInvalidTimestamp, err.Error(), "the signature's timestamp (%s) is not by a timestamp authority identity %q trusts: %v",
			stamp.Value.UTC().Format(time.RFC3339), id.Name, err)
	}
	if err := nx509.ValidateTimestampingCertChain(chain); err != nil {
		return fail(CodeInvalidTimestamp, err.Error(), "the signature's timestamp authority certificate is not fit for timestamping: %v", err)
	}
	return stamp, chain, nil
}

// invalidAt returns the first certificate of chain not valid at t.
func invalidAt(chain []*x509.Certificate, t time.Time) *x509.Certificate {
	for _, c := range chain {
		if t.Before(c.NotBefore) || t.After(c.NotAfter) {
			return c
		}
	}
	return nil
}

func validity(c *x509.Certificate) string {
	return fmt.Sprintf("valid %s to %s", c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
}

// certName names a certificate in a sentence: its subject.
func certName(c *x509.Certificate) string { return fmt.Sprintf("%q", c.Subject.String()) }

func anchorList(cs []policy.Certificate) string {
	if len(cs) == 0 {
		return "<none>"
	}
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += " or "
		}
		s += c.String()
	}
	return s
}

func ptr[T any](v T) *T { return &v }
