package verify

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
)

// match is an identity a verified candidate satisfied.
type match struct {
	identity *policy.Identity
	result   *sgverify.VerificationResult
	sig      SignatureResult
	// signer is who made the signature, for threshold counting (signers.go).
	signer signerKey
}

// signatures checks the image signatures against the rule's signers and
// threshold: the threshold counts distinct signers matched to distinct
// identities (see signerKey), so one key or one certificate identity never
// counts twice, whatever names the trust file gives it.
func (ev *evaluation) signatures(ctx context.Context) {
	r := ev.rule
	var tally signerTally
	var why []string
	for _, c := range ev.sigs {
		matches, reasons := ev.verifyCandidate(ctx, c, r.SignedBy)
		for _, m := range matches {
			tally.add(r.SignedBy, m)
		}
		if len(matches) == 0 {
			for _, reason := range reasons {
				ev.d.reject(c.layout, c.kind, "%s", reason)
			}
			why = append(why, reasons...)
		}
	}
	counted := tally.assign(len(r.SignedBy))
	ev.d.Signatures = append(ev.d.Signatures, counted...)
	if len(counted) >= r.Threshold {
		return
	}
	need := fmt.Sprintf("%s of [%s]", plural(r.Threshold, "signature"), strings.Join(policy.IdentityNames(r.SignedBy), ", "))
	switch {
	case len(ev.sigs) == 0 && len(ev.d.Rejected) == 0:
		ev.d.denyf("%s has no signatures (looked for a cosign .sig tag and Sigstore bundle referrers); rule %q needs %s: sign the digest in CI with `sign image`",
			shortDigest(ev.digest), r.Name, need)
	case len(counted) > 0:
		ev.d.denyf("rule %q needs %s by distinct signers, only %s signed %s (%s); a key or a certificate identity counts once, however many identities it satisfies",
			r.Name, need, plural(len(counted), "distinct signer"), shortDigest(ev.digest), tally.describe(r.SignedBy))
	case len(ev.sigs) == 0:
		ev.d.denyf("no usable signature on %s: %s", shortDigest(ev.digest), rejectionList(ev.d.Rejected))
	default:
		ev.d.denyf("none of the %d signatures on %s satisfies rule %q (needs %s): %s",
			len(ev.sigs), shortDigest(ev.digest), r.Name, need, strings.Join(dedupe(why), "; "))
	}
}

// verifyCandidate verifies c cryptographically once per kind of signer and
// returns every identity in ids that it satisfies, or the reasons it
// satisfies none.
func (ev *evaluation) verifyCandidate(ctx context.Context, c *candidate, ids []*policy.Identity) ([]match, []string) {
	vc, err := c.entity.VerificationContent()
	if err != nil {
		return nil, []string{fmt.Sprintf("%s %s: %v", c.layout, c.kind, err)}
	}
	if vc.Certificate() != nil {
		return ev.verifyKeyless(ctx, c, ids)
	}
	return ev.verifyKeys(ctx, c, ids)
}

func (ev *evaluation) verifyKeyless(ctx context.Context, c *candidate, ids []*policy.Identity) ([]match, []string) {
	vc, _ := c.entity.VerificationContent()
	san := sanOf(vc)
	var keyless []*policy.Identity
	for _, id := range ids {
		if id.Keyless != nil {
			keyless = append(keyless, id)
		}
	}
	if len(keyless) == 0 {
		return nil, []string{fmt.Sprintf("%s %s by certificate %q, but the rule accepts only keys", c.layout, c.kind, san)}
	}
	if reason := ev.checkPayload(c); reason != "" {
		return nil, []string{reason}
	}
	tr, err := ev.trustedRoot(ctx)
	if err != nil {
		return nil, []string{err.Error()}
	}
	res, err := ev.sigstoreVerify(c, tr.Material, ev.keylessOptions(c))
	if err != nil {
		return nil, []string{fmt.Sprintf("%s %s by %q does not verify: %s", c.layout, c.kind, san, explainSigstoreError(err, vc.Certificate()))}
	}
	cert := *res.Signature.Certificate
	var out []match
	var reasons []string
	for _, id := range keyless {
		if mm := id.MatchCertificate(cert); mm != nil {
			reasons = append(reasons, fmt.Sprintf("%s %s signed by %q: %v", c.layout, c.kind, cert.SubjectAlternativeName, mm))
			continue
		}
		out = append(out, match{identity: id, result: res, signer: certSigner(cert), sig: SignatureResult{
			Identity: id.Name, Layout: c.layout, Subject: cert.SubjectAlternativeName, Issuer: cert.Issuer,
			LogIndex: logIndex(c), Timestamps: timestamps(res),
		}})
	}
	return out, reasons
}

func (ev *evaluation) verifyKeys(ctx context.Context, c *candidate, ids []*policy.Identity) ([]match, []string) {
	if reason := ev.checkPayload(c); reason != "" {
		return nil, []string{reason}
	}
	var out []match
	var tried []string
	var lastErr error
	for _, id := range ids {
		if id.Key == nil {
			continue
		}
		tried = append(tried, id.Name)
		pub, keyID, err := ev.v.publicKey(ctx, id.Key)
		if err != nil {
			lastErr = err
			continue
		}
		tm, opts, err := ev.keyMaterial(ctx, id.Key, pub)
		if err != nil {
			lastErr = err
			continue
		}
		res, err := ev.sigstoreVerify(c, tm, opts)
		if err != nil {
			lastErr = err
			continue
		}
		out = append(out, match{identity: id, result: res, signer: keySigner(keyID), sig: SignatureResult{
			Identity: id.Name, Layout: c.layout, KeyID: keyID, LogIndex: logIndex(c), Timestamps: timestamps(res),
		}})
	}
	if len(out) > 0 {
		return out, nil
	}
	if len(tried) == 0 {
		return nil, []string{fmt.Sprintf("%s %s is signed with a key, but the rule accepts only keyless identities", c.layout, c.kind)}
	}
	reason := fmt.Sprintf("%s %s is not signed by key %s", c.layout, c.kind, strings.Join(tried, " or "))
	if lastErr != nil && !isSignatureMismatch(lastErr) {
		reason += fmt.Sprintf(" (%v)", lastErr)
	}
	return nil, []string{reason}
}

// sigstoreVerify runs sigstore-go on the candidate. Signatures are checked
// against the digest being decided: a simple-signing payload by its bytes
// (its digest field is checked by checkPayload), DSSE statements and
// message signatures by the image digest itself.
func (ev *evaluation) sigstoreVerify(c *candidate, tm root.TrustedMaterial, opts []sgverify.VerifierOption) (*sgverify.VerificationResult, error) {
	if c.stamped != nil {
		tm = envelopeTimestamps{tm, c.stamped}
	}
	sv, err := sgverify.NewVerifier(tm, opts...)
	if err != nil {
		return nil, err
	}
	var artifact sgverify.ArtifactPolicyOption
	if c.payload != nil {
		artifact = sgverify.WithArtifact(bytes.NewReader(c.payload))
	} else {
		h := mustHash(ev.digest)
		raw, err := hex.DecodeString(h.Hex)
		if err != nil {
			return nil, err
		}
		artifact = sgverify.WithArtifactDigest(h.Algorithm, raw)
	}
	return sv.Verify(c.entity, sgverify.NewPolicy(artifact, sgverify.WithoutIdentitiesUnsafe()))
}

// checkPayload makes sure a signature vouches for this digest and not
// another one: a signature copied from another image verifies
// cryptographically and must still be refused. It runs before the crypto
// (it can only refuse, never accept), so the reason names the real problem.
func (ev *evaluation) checkPayload(c *candidate) string {
	want := ev.digest.DigestStr()
	switch {
	case c.payload != nil:
		got, err := simpleSigningDigest(c.payload)
		if err != nil {
			return fmt.Sprintf("%s %s: %v", c.layout, c.kind, err)
		}
		if got != want {
			return fmt.Sprintf("%s %s is for %s, not for %s (a signature copied from another image)", c.layout, c.kind, got, want)
		}
	case c.statement != nil:
		if !c.statement.coversDigest(ev.digest) {
			return fmt.Sprintf("%s %s statement's subject is not %s (copied from another image)", c.layout, c.kind, want)
		}
	}
	return ""
}

// keylessOptions maps the policy's sigstore requirements to sigstore-go. A
// transparency log entry that is present is always verified, even when the
// policy makes the log optional: evidence is checked, never ignored.
func (ev *evaluation) keylessOptions(c *candidate) []sgverify.VerifierOption {
	s := ev.p.Sigstore
	opts := []sgverify.VerifierOption{sgverify.WithObserverTimestamps(1)}
	if entries, _ := c.entity.TlogEntries(); s.TransparencyLog == policy.Required || len(entries) > 0 {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	}
	if s.SignedTimestamps == policy.Required {
		opts = append(opts, sgverify.WithSignedTimestamps(1))
	}
	if s.CertificateTransparency == policy.Required {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	return opts
}

// keyMaterial is the trusted material for one key identity: the key, plus
// the trusted root when the identity requires a transparency log entry.
func (ev *evaluation) keyMaterial(ctx context.Context, k *policy.Key, pub crypto.PublicKey) (root.TrustedMaterial, []sgverify.VerifierOption, error) {
	sv, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("unsupported key: %w", err)
	}
	keyTM := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		// A key in the trust policy has no validity window of its own.
		return root.NewExpiringKey(sv, time.Time{}, time.Time{}), nil
	})
	if k.TransparencyLog != policy.Required {
		return keyTM, []sgverify.VerifierOption{sgverify.WithNoObserverTimestamps()}, nil
	}
	tr, err := ev.trustedRoot(ctx)
	if err != nil {
		return nil, nil, err
	}
	return root.TrustedMaterialCollection{keyTM, tr.Material},
		[]sgverify.VerifierOption{sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1)}, nil
}

func (ev *evaluation) trustedRoot(ctx context.Context) (*trustroot.Root, error) {
	if !ev.rootSet {
		ev.root, ev.rootErr = ev.v.trustedRoot(ctx, ev.p)
		ev.rootSet = true
		ev.d.Transient = ev.d.Transient || ev.rootErr != nil
		if ev.root != nil {
			ev.d.TrustedRoot, ev.d.TrustedRootSource = ev.root.Version, string(ev.root.Source)
		}
	}
	return ev.root, ev.rootErr
}

func rejectionList(rs []Rejection) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Reason
	}
	return strings.Join(dedupe(parts), "; ")
}
