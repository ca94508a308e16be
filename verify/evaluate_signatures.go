package verify

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

// match is an identity a verified candidate satisfied.
type match struct {
	identity *policy.Identity
	// cert is the verified (or predicted) certificate, nil for a key.
	cert *certificate.Summary
	sig  SignatureResult
	// signer is who made the signature, for threshold counting (signers.go).
	signer signerKey
}

// signatures checks the image signatures against the rule's signers and
// threshold: the threshold counts distinct signers matched to distinct
// identities (see signerKey), so one key or one certificate identity never
// counts twice, whatever names the trust file gives it.
func (e *evaluation) signatures() {
	r := e.rule
	var tally signerTally
	var why []Reason
	for _, c := range e.ev.sigs {
		matches, reasons := e.verifyCandidate(c, r.SignedBy)
		matches, reasons = e.requireAnnotations(c, matches, reasons)
		for _, m := range matches {
			tally.add(r.SignedBy, m)
		}
		if len(matches) == 0 {
			for _, reason := range reasons {
				e.reject(c, reason)
			}
			why = append(why, reasons...)
		}
	}
	counted := tally.assign(len(r.SignedBy))
	e.d.Signatures = append(e.d.Signatures, counted...)
	if len(counted) >= r.Threshold {
		return
	}
	need := fmt.Sprintf("%s of [%s]", plural(r.Threshold, "signature"), strings.Join(policy.IdentityNames(r.SignedBy), ", "))
	switch {
	case len(e.ev.sigs) == 0 && len(e.d.Rejected) == 0:
		e.d.deny(NewReason(CodeNoSignature, "%s has no signatures (looked for %s); rule %q needs %s",
			shortDigest(e.digest), lookedFor(r), r.Name, need).WithHint("sign the digest in CI with `sign image`"))
	case len(counted) > 0:
		e.d.deny(NewReason(CodeThresholdNotMet, "rule %q needs %s by distinct signers, only %s signed %s (%s); a key or a certificate identity counts once, however many identities it satisfies",
			r.Name, need, plural(len(counted), "distinct signer"), shortDigest(e.digest), tally.describe(r.SignedBy)).
			With(&policy.Mismatch{Field: "threshold", Expected: need, Actual: plural(len(counted), "distinct signer")}))
	case len(e.ev.sigs) == 0:
		e.d.deny(NewReason(CodeUnreadable, "no usable signature on %s: %s", shortDigest(e.digest), rejectionList(e.d.Rejected)))
	default:
		first := why[0]
		e.d.deny(Reason{Code: first.Code, Mismatch: first.Mismatch, Message: fmt.Sprintf("none of the %d signatures on %s satisfies rule %q (needs %s): %s",
			len(e.ev.sigs), shortDigest(e.digest), r.Name, need, joinReasons(why))})
	}
}

// verifyCandidate verifies c cryptographically once per kind of signer and
// returns every identity in ids that it satisfies, or the reasons it
// satisfies none.
func (e *evaluation) verifyCandidate(c *candidate, ids []*policy.Identity) ([]match, []Reason) {
	switch {
	case c.predicted != nil && c.layout == ocisig.LayoutNotation:
		return e.matchPredictedNotation(c, ids)
	case c.notation != nil:
		return e.verifyNotation(c, ids)
	}
	if c.predicted != nil {
		if c.predicted.Certificate != nil {
			return e.matchCertificate(c, *c.predicted.Certificate, nil, ids)
		}
		return e.matchPredictedKey(c, ids)
	}
	vc, err := c.entity.VerificationContent()
	if err != nil {
		return nil, []Reason{NewReason(CodeUnreadable, "%s: %v", c.what(), err)}
	}
	if vc.Certificate() != nil {
		return e.verifyKeyless(c, ids)
	}
	return e.verifyKeys(c, ids)
}

func keylessOf(ids []*policy.Identity) []*policy.Identity {
	var out []*policy.Identity
	for _, id := range ids {
		if id.Keyless != nil {
			out = append(out, id)
		}
	}
	return out
}

func (e *evaluation) verifyKeyless(c *candidate, ids []*policy.Identity) ([]match, []Reason) {
	vc, _ := c.entity.VerificationContent()
	san := sanOf(vc)
	if len(keylessOf(ids)) == 0 {
		return nil, []Reason{NewReason(CodeWrongIdentity, "%s by certificate %q, but the rule accepts only keys", c.what(), san).
			With(&policy.Mismatch{Field: "kind", Expected: "a key signature", Actual: "certificate " + san})}
	}
	if reason, bad := e.checkPayload(c); bad {
		return nil, []Reason{reason}
	}
	// Verified under each root the identities name, matched only to the
	// identities of the roots it verifies under (roots.go).
	var out []match
	var reasons []Reason
	order, groups := byRoot(e.p, ids)
	for _, s := range order {
		tr, err := e.trustedRootOf(s)
		if err != nil {
			reasons = append(reasons, NewReason(CodeTrustedRootUnavailable, "%v", err))
			continue
		}
		res, err := e.sigstoreVerify(c, tr.Material, e.keylessOptions(c, s))
		if err != nil {
			reasons = append(reasons, e.explainKeyless(c, tr.Material, s, san, err))
			continue
		}
		got, why := e.matchCertificate(c, *res.Signature.Certificate, res, groups[s])
		out, reasons = append(out, got...), append(reasons, why...)
	}
	if len(out) > 0 {
		return out, nil
	}
	return nil, reasons
}

// matchCertificate returns the keyless identities of ids a verified (or
// predicted) certificate satisfies, or each one's objection.
func (e *evaluation) matchCertificate(c *candidate, cert certificate.Summary, res *sgverify.VerificationResult, ids []*policy.Identity) ([]match, []Reason) {
	keyless := keylessOf(ids)
	if len(keyless) == 0 {
		return nil, []Reason{NewReason(CodeWrongIdentity, "%s by certificate %q, but the rule accepts only keys", c.what(), cert.SubjectAlternativeName).
			With(&policy.Mismatch{Field: "kind", Expected: "a key signature", Actual: "certificate " + cert.SubjectAlternativeName})}
	}
	var out []match
	var reasons []Reason
	for _, id := range keyless {
		if mm := id.MatchCertificate(cert); mm != nil {
			reasons = append(reasons, NewReason(CodeWrongIdentity, "%s signed by %q: %v", c.what(), cert.SubjectAlternativeName, mm).With(mm))
			continue
		}
		out = append(out, match{identity: id, cert: &cert, signer: certSigner(cert), sig: SignatureResult{
			Identity: id.Name, Layout: c.layout, Subject: cert.SubjectAlternativeName, Issuer: cert.Issuer,
			LogIndex: logIndex(c), Timestamps: timestamps(res),
		}})
	}
	return out, reasons
}

func (e *evaluation) verifyKeys(c *candidate, ids []*policy.Identity) ([]match, []Reason) {
	if reason, bad := e.checkPayload(c); bad {
		return nil, []Reason{reason}
	}
	return e.matchKeys(c, ids, "another key", func(id *policy.Identity) (*sgverify.VerificationResult, string, error) {
		return e.verifyKey(c, id)
	})
}

// matchPredictedKey matches the key a run will sign with: a key identity
// accepts it by key id, or by KMS URI (nothing is loaded from the KMS).
func (e *evaluation) matchPredictedKey(c *candidate, ids []*policy.Identity) ([]match, []Reason) {
	s := c.predicted
	actual := s.KeyID
	if s.KMS != "" {
		actual += " (" + s.KMS + ")"
	}
	return e.matchKeys(c, ids, actual, func(id *policy.Identity) (*sgverify.VerificationResult, string, error) {
		if k := id.Key; k.KMS != "" && k.KMS == s.KMS || k.KeyID != "" && k.KeyID == s.KeyID {
			return nil, s.KeyID, nil
		}
		return nil, "", errNotThisKey
	})
}

// matchKeys returns the key identities of ids whose key made c, as verify
// finds out (errNotThisKey when the key did not make the signature), or
// why none did; actual names the key that did, for the reason.
func (e *evaluation) matchKeys(c *candidate, ids []*policy.Identity, actual string,
	verify func(*policy.Identity) (*sgverify.VerificationResult, string, error)) ([]match, []Reason) {
	var out []match
	var tried, want []string
	var lastErr error
	for _, id := range ids {
		if id.Key == nil {
			continue
		}
		tried, want = append(tried, id.Name), append(want, cmp.Or(id.Key.KMS, id.Key.KeyID))
		res, keyID, err := verify(id)
		if err != nil {
			lastErr = err
			continue
		}
		out = append(out, match{identity: id, signer: keySigner(keyID), sig: SignatureResult{
			Identity: id.Name, Layout: c.layout, KeyID: keyID, LogIndex: logIndex(c), Timestamps: timestamps(res),
		}})
	}
	if len(out) > 0 {
		return out, nil
	}
	if len(tried) == 0 {
		return nil, []Reason{NewReason(CodeWrongIdentity, "%s is signed with a key, but the rule accepts only keyless identities", c.what()).
			With(&policy.Mismatch{Field: "kind", Expected: "a keyless signature", Actual: "a key signature"})}
	}
	r := NewReason(CodeWrongIdentity, "%s is not signed by key %s", c.what(), strings.Join(tried, " or ")).
		With(&policy.Mismatch{Field: "key", Expected: strings.Join(want, " or "), Actual: actual})
	if lastErr != nil && !errors.Is(lastErr, errNotThisKey) {
		r.Code, r.Message = CodeInvalidSignature, r.Message+fmt.Sprintf(" (%v)", lastErr)
	}
	return nil, []Reason{r}
}

// checkPayload makes sure a signature vouches for this digest and not
// another one: a signature copied from another image verifies
// cryptographically and must still be refused. It runs before the crypto
// (it can only refuse, never accept), so the reason names the real problem.
func (e *evaluation) checkPayload(c *candidate) (Reason, bool) {
	want := e.digest.DigestStr()
	switch {
	case c.payload != nil:
		got, err := simpleSigningDigest(c.payload)
		if err != nil {
			return NewReason(CodeUnreadable, "%s: %v", c.what(), err), true
		}
		if got != want {
			return NewReason(CodeWrongDigest, "%s is for %s, not for %s (a signature copied from another image)", c.what(), got, want).
				With(&policy.Mismatch{Field: "digest", Expected: want, Actual: got}), true
		}
	case c.statement != nil:
		if !c.statement.coversDigest(e.digest) {
			return NewReason(CodeWrongDigest, "%s statement's subject is not %s (copied from another image)", c.what(), want).
				With(&policy.Mismatch{Field: "subject", Expected: want}), true
		}
	}
	return Reason{}, false
}

// rejectionList is the reasons material was rejected, each once, for one
// sentence: the first few (a digest may carry dozens of junk referrers,
// anyone with push access can add them); Decision.Rejected lists all.
func rejectionList(rs []Rejection) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Reason
	}
	parts = dedupe(parts)
	if len(parts) > maxListed {
		return strings.Join(parts[:maxListed], "; ") + fmt.Sprintf("; and %d more (see rejected)", len(parts)-maxListed)
	}
	return strings.Join(parts, "; ")
}

// maxListed is how many rejected items a denial's sentence names.
const maxListed = 3

// joinReasons is the reasons' sentences, each once, joined for one sentence.
func joinReasons(rs []Reason) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(dedupe(parts), "; ")
}

// lookedFor names where signatures were looked for under rule r.
func lookedFor(r *policy.Rule) string {
	if len(notationOf(r.SignedBy)) > 0 {
		return "a cosign .sig tag, Sigstore bundle and Notation signature referrers"
	}
	return "a cosign .sig tag and Sigstore bundle referrers"
}
