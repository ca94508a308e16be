package verify

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/signet-dev/signet/policy"
)

// This file is signet's use of sigstore-go: the options a policy maps to,
// the trusted material of a key, and what a refusal means. sigstore-go
// v1.3.0's Verify returns untyped errors for the checks a developer acts
// on (its ErrVerification type is declared but never returned), so a
// refusal is explained by running sigstore-go's own checks one at a time on
// the failure path and naming the first that fails, never by its text.

// errNotThisKey is a key identity's key not having made a signature.
var errNotThisKey = errors.New("the signature was not made by this key")

// sigstoreVerify runs sigstore-go on the candidate. Signatures are checked
// against the digest being decided: a simple-signing payload by its bytes
// (its digest field is checked by checkPayload), DSSE statements and
// message signatures by the image digest itself.
//
// sigstore-go is told not to materialize a statement's predicate: signet
// reads it from the verified payload itself, and sigstore-go's protojson
// tree of a 1 MB SBOM costs ~50 ms and a large multiple of its size.
func (e *evaluation) sigstoreVerify(c *candidate, tm root.TrustedMaterial, opts []sgverify.VerifierOption) (*sgverify.VerificationResult, error) {
	sv, err := sgverify.NewVerifier(e.material(c, tm), append(slices.Clip(opts), sgverify.WithoutStatementPredicate())...)
	if err != nil {
		return nil, err
	}
	var artifact sgverify.ArtifactPolicyOption
	if c.payload != nil {
		artifact = sgverify.WithArtifact(bytes.NewReader(c.payload))
	} else {
		h := e.artifactDigest()
		artifact = sgverify.WithArtifactDigest(h.Algorithm, h.Digest)
	}
	return sv.Verify(c.entity, sgverify.NewPolicy(artifact, sgverify.WithoutIdentitiesUnsafe()))
}

// material is tm, with a legacy attestation's timestamps checked over its
// envelope (envelopeTimestamps).
func (e *evaluation) material(c *candidate, tm root.TrustedMaterial) root.TrustedMaterial {
	if c.stamped != nil {
		return envelopeTimestamps{tm, c.stamped}
	}
	return tm
}

// artifactDigest is the digest being decided as sigstore-go takes it.
func (e *evaluation) artifactDigest() sgverify.ArtifactDigest {
	h, err := v1.NewHash(e.digest.DigestStr())
	if err != nil {
		// name.Digest validated the digest when it was parsed.
		panic(fmt.Sprintf("verify: invalid digest %q: %v", e.digest.DigestStr(), err))
	}
	raw, err := hex.DecodeString(h.Hex)
	if err != nil {
		panic(fmt.Sprintf("verify: invalid digest %q: %v", e.digest.DigestStr(), err))
	}
	return sgverify.ArtifactDigest{Algorithm: h.Algorithm, Digest: raw}
}

// keylessOptions maps a sigstore section's requirements (the policy's, or
// an identity's) to sigstore-go. A
// transparency log entry that is present is always verified, even when the
// policy makes the log optional: evidence is checked, never ignored.
func (e *evaluation) keylessOptions(c *candidate, s policy.Sigstore) []sgverify.VerifierOption {
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

// verifyKey verifies c with one key identity's key. It returns the key id,
// or errNotThisKey when that key did not make the signature (sigstore-go's
// signature check alone refuses it), or the error of a later check.
func (e *evaluation) verifyKey(c *candidate, id *policy.Identity) (*sgverify.VerificationResult, string, error) {
	kt := e.trust.key(id.Key)
	if kt.err != nil {
		return nil, "", kt.err
	}
	tm, opts, err := e.keyMaterial(id, kt)
	if err != nil {
		return nil, "", err
	}
	res, err := e.sigstoreVerify(c, tm, opts)
	if err != nil && !e.signedWith(c, tm) {
		return nil, "", errNotThisKey
	}
	return res, kt.keyID, err
}

// signedWith reports whether tm's key made c's signature over the digest.
func (e *evaluation) signedWith(c *candidate, tm root.TrustedMaterial) bool {
	sc, err := c.entity.SignatureContent()
	if err != nil {
		return false
	}
	vc, err := c.entity.VerificationContent()
	if err != nil {
		return false
	}
	if c.payload != nil {
		return sgverify.VerifySignatureWithArtifacts(sc, vc, tm, []io.Reader{bytes.NewReader(c.payload)}) == nil
	}
	return sgverify.VerifySignatureWithArtifactDigests(sc, vc, tm, []sgverify.ArtifactDigest{e.artifactDigest()}) == nil
}

// keyMaterial is the trusted material for one key identity: the key, plus
// the trusted root when the identity requires a transparency log entry.
func (e *evaluation) keyMaterial(id *policy.Identity, kt keyTrust) (root.TrustedMaterial, []sgverify.VerifierOption, error) {
	k := id.Key
	if k.TransparencyLog != policy.Required {
		return kt.material, []sgverify.VerifierOption{sgverify.WithNoObserverTimestamps()}, nil
	}
	tr, err := e.trustedRootOf(e.p.SigstoreOf(id))
	if err != nil {
		return nil, nil, err
	}
	return root.TrustedMaterialCollection{kt.material, tr.Material},
		[]sgverify.VerifierOption{sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1)}, nil
}

// explainKeyless is the reason sigstore-go refused a keyless candidate
// with err: sigstore-go's checks in its own order (log entries, trusted
// time, certificate chain), the first that fails named in words a
// developer can act on; any other refusal passes through.
func (e *evaluation) explainKeyless(c *candidate, tm root.TrustedMaterial, s policy.Sigstore, san string, err error) Reason {
	prefix := fmt.Sprintf("%s by %q does not verify: ", c.what(), san)
	raw := NewReason(CodeInvalidSignature, "%s%v", prefix, err)
	vc, verr := c.entity.VerificationContent()
	sv, serr := sgverify.NewVerifier(e.material(c, tm), e.keylessOptions(c, s)...)
	if verr != nil || serr != nil {
		return raw
	}
	logTimes, lerr := sv.VerifyTransparencyLogInclusion(c.entity)
	if lerr != nil {
		return raw
	}
	times, terr := sv.VerifyObserverTimestamps(c.entity, logTimes)
	cert := vc.Certificate()
	switch {
	case terr != nil && e.noTrustedTime(c, e.material(c, tm), s, logTimes):
		window := ""
		if cert != nil {
			window = fmt.Sprintf(" (valid %s to %s)", cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
		}
		return NewReason(CodeNoTrustedTime, "%sno trusted time for the signature: it has neither a verifiable transparency log entry nor an RFC 3161 timestamp, so its short-lived certificate%s cannot be checked", prefix, window).
			With(&policy.Mismatch{Field: "timestamps", Expected: "a transparency log entry or an RFC 3161 timestamp", Actual: "none verifiable"})
	case terr != nil:
		raw.Code = CodeNoTrustedTime
		return raw
	}
	for _, t := range times {
		if _, cerr := sgverify.VerifyLeafCertificate(t.Timestamp, cert, tm); cerr != nil {
			return NewReason(CodeUntrustedCertificate, "%scertificate does not chain to a Fulcio CA of the trusted root, valid at the signing time (%v)", prefix, err)
		}
	}
	return raw
}

// noTrustedTime reports whether c has no verified time at all (neither a
// log entry nor an RFC 3161 timestamp), as opposed to lacking a kind of
// time the policy requires.
func (e *evaluation) noTrustedTime(c *candidate, tm root.TrustedMaterial, s policy.Sigstore, logTimes []sgverify.TimestampVerificationResult) bool {
	if s.SignedTimestamps == policy.Required {
		if _, err := sgverify.VerifySignedTimestampWithThreshold(c.entity, tm, 1); err != nil {
			return false
		}
	}
	signed, _, err := sgverify.VerifySignedTimestamp(c.entity, tm)
	return err == nil && len(signed)+len(logTimes) == 0
}

func sanOf(vc sgverify.VerificationContent) string {
	cert := vc.Certificate()
	if cert == nil {
		return ""
	}
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return cert.Subject.String()
	}
	return s.SubjectAlternativeName
}

func logIndex(c *candidate) *int64 {
	if c.entity == nil {
		return nil
	}
	entries, err := c.entity.TlogEntries()
	if err != nil || len(entries) == 0 {
		return nil
	}
	i := entries[0].LogIndex()
	return &i
}

func timestamps(res *sgverify.VerificationResult) []Timestamp {
	if res == nil {
		return nil
	}
	var out []Timestamp
	for _, t := range res.VerifiedTimestamps {
		kind := "tsa"
		if t.Type == "Tlog" {
			kind = "tlog"
		}
		out = append(out, Timestamp{Kind: kind, URI: t.URI, Time: t.Timestamp.UTC()})
	}
	return out
}
