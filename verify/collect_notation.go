package verify

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/notaryproject/notation-core-go/signature"
	_ "github.com/notaryproject/notation-core-go/signature/cose" // registers the COSE envelope
	_ "github.com/notaryproject/notation-core-go/signature/jws"  // registers the JWS envelope

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

// NotationPayloadType is the content type of a Notary Project payload: a
// JSON document naming the signed manifest (targetArtifact).
const NotationPayloadType = "application/vnd.cncf.notary.payload.v1+json"

// NotationSigner is who a signing run will sign as with Notation: its
// certificate chain (leaf first) and, when it timestamps, the root of its
// timestamp authority.
type NotationSigner struct {
	Chain   []*x509.Certificate
	TSARoot *x509.Certificate
}

// notationEnvelope is a Notation signature found on the digest: parsed
// and, once collected, its integrity checked (sig, or the refusal) and the
// revocation status of its chains asked for each notation identity of the
// rule whose offline checks it passes. Nothing in it is trusted yet.
type notationEnvelope struct {
	manifest  v1.Hash
	mediaType string
	env       signature.Envelope
	// key names the envelope's bytes, for the Verifier's memory of
	// integrity checks (integrityMemo).
	key string

	sig     *notationSig
	refusal *Reason
	// revocation holds, per identity, the status of each chain
	// revocationRequests names for it.
	revocation map[*policy.Identity][]RevocationStatus
}

// invalid is why the envelope's integrity check refused it.
func (n *notationEnvelope) invalid(c *candidate) Reason {
	if n.refusal != nil {
		return *n.refusal
	}
	return NewReason(CodeInvalidSignature, "%s was not checked when collected", notationLabel(c))
}

// notationEvidence completes the Notation signatures of ev, found on
// digest, with what evaluating them under rule r needs from outside the
// envelope: its integrity check (remembered by bytes), and the revocation
// status of the chains of each notation identity of r whose offline checks
// (evaluate_notation_check.go: anchor, subject, expiry, timestamp) it
// passes. Only chains a trust anchor vouches for send requests, and only
// to the responders they name. Evaluate then reads the statuses, as it
// reads the signatures, without I/O.
func (v *Verifier) notationEvidence(ctx context.Context, ev *Evidence, digest name.Digest, r *policy.Rule) {
	ids := notationOf(r.SignedBy)
	for _, c := range ev.sigs {
		n := c.notation
		if n == nil {
			continue
		}
		sig, refusal := n.verified(c, digest.DigestStr(), v.envelopes)
		if refusal != nil {
			n.refusal = refusal
			continue
		}
		n.sig = &sig
		now := time.Now()
		for _, id := range ids {
			o, bad := checkNotation(sig, id, now)
			if bad != nil || id.Notation.Revocation.Check == policy.RevocationSkip {
				continue
			}
			var statuses []RevocationStatus
			for _, req := range revocationRequests(sig, o, id) {
				statuses = append(statuses, v.revocation.Check(ctx, req))
			}
			if n.revocation == nil {
				n.revocation = map[*policy.Identity][]RevocationStatus{}
			}
			n.revocation[id] = statuses
		}
	}
}

// revocationRequests are the chains whose revocation a signature that
// passed id's offline checks (o) must be checked for: its signing chain
// and, when a timestamp counted, the timestamp authority's.
func revocationRequests(sig notationSig, o notationOutcome, id *policy.Identity) []RevocationRequest {
	timeout := id.Notation.Revocation.Timeout
	reqs := []RevocationRequest{{Chain: sig.chain, SigningTime: o.authentic, Timeout: timeout}}
	if o.tsaChain != nil {
		reqs = append(reqs, RevocationRequest{Chain: o.tsaChain, Timestamping: true, Timeout: timeout})
	}
	return reqs
}

// classifyNotation parses the Notation signatures found. An envelope that
// does not parse is recorded as rejected, as unreadable Sigstore material is.
func (ev *Evidence) classifyNotation(found []ocisig.Notation) {
	for _, n := range found {
		env, err := parseNotation(n)
		if err != nil {
			ev.reject(ocisig.LayoutNotation, ocisig.KindSignature, NewReason(CodeUnreadable, "Notation signature %s: %v", n.Manifest, err))
			continue
		}
		sum := sha256.Sum256(append([]byte(n.MediaType+"\x00"), n.Envelope...))
		ev.sigs = append(ev.sigs, &candidate{layout: ocisig.LayoutNotation, kind: ocisig.KindSignature,
			notation: &notationEnvelope{manifest: n.Manifest, mediaType: n.MediaType, env: env, key: hex.EncodeToString(sum[:])}})
	}
}

// parseNotation parses an envelope by its media type. notation-core-go's
// parsers are fed attacker bytes: a panic in one is a refusal, never a
// crash of the webhook.
func parseNotation(n ocisig.Notation) (env signature.Envelope, err error) {
	if n.MediaType == "" {
		return nil, errors.New("the manifest carries no JWS or COSE envelope layer")
	}
	defer func() {
		if p := recover(); p != nil {
			env, err = nil, fmt.Errorf("malformed %s envelope", n.MediaType)
		}
	}()
	return signature.ParseEnvelope(n.MediaType, n.Envelope)
}

// verified checks the envelope's integrity (its signature over the
// payload, by the leaf of a well-formed code-signing chain) and that its
// payload names digest: a signature copied from another image verifies and
// is still refused. It returns what the trust checks read.
func (n *notationEnvelope) verified(c *candidate, digest string, memo *integrityMemo) (notationSig, *Reason) {
	content, err := memo.verify(n)
	if err != nil {
		return notationSig{}, ptr(NewReason(CodeInvalidSignature, "%s does not verify: %v", notationLabel(c), err))
	}
	si := content.SignerInfo
	for _, a := range si.SignedAttributes.ExtendedAttributes {
		if a.Critical {
			// Notation hands these to a verification plugin, and refuses the
			// signature without one; the engine runs no plugin.
			return notationSig{}, ptr(NewReason(CodeInvalidSignature, "%s has the critical attribute %v, which signet does not process (a Notation verification plugin's)", notationLabel(c), a.Key))
		}
	}
	if content.Payload.ContentType != NotationPayloadType {
		return notationSig{}, ptr(NewReason(CodeUnreadable, "%s: payload content type is %q, want %q", notationLabel(c), content.Payload.ContentType, NotationPayloadType))
	}
	var payload struct {
		TargetArtifact struct {
			Digest string `json:"digest"`
		} `json:"targetArtifact"`
	}
	if err := json.Unmarshal(content.Payload.Content, &payload); err != nil {
		return notationSig{}, ptr(NewReason(CodeUnreadable, "%s: payload is not a Notary Project payload: %v", notationLabel(c), err))
	}
	if got := payload.TargetArtifact.Digest; got != digest {
		return notationSig{}, ptr(NewReason(CodeWrongDigest, "%s is for %s, not for %s (a signature copied from another image)", notationLabel(c), got, digest).
			With(&policy.Mismatch{Field: "digest", Expected: digest, Actual: got}))
	}
	return notationSig{scheme: string(si.SignedAttributes.SigningScheme), chain: si.CertificateChain,
		signingTime: si.SignedAttributes.SigningTime, expiry: si.SignedAttributes.Expiry,
		timestamp: si.UnsignedAttributes.TimestampSignature, signature: si.Signature}, nil
}

// verifyEnvelope runs notation-core-go's integrity check, a panic being a
// refusal.
func verifyEnvelope(env signature.Envelope) (content *signature.EnvelopeContent, err error) {
	defer func() {
		if p := recover(); p != nil {
			content, err = nil, errors.New("malformed envelope")
		}
	}()
	content, err = env.Verify()
	if err == nil {
		switch s := content.SignerInfo.SignedAttributes.SigningScheme; s {
		case signature.SigningSchemeX509, signature.SigningSchemeX509SigningAuthority:
		default:
			err = fmt.Errorf("unknown signing scheme %q", s)
		}
	}
	if err == nil && len(content.SignerInfo.CertificateChain) == 0 {
		err = errors.New("no certificate chain")
	}
	return content, err
}

// predictedNotation is what a signing run's Notation signature will be, for
// the checks: its chain, signed now, timestamped by its TSA if it has one.
func predictedNotation(s *NotationSigner) notationSig {
	return notationSig{scheme: policy.SchemeX509, chain: s.Chain, predictedTSA: s.TSARoot}
}

// fingerprint is a certificate's SHA-256, as "sha256:<hex>".
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// integrityMemo remembers integrity checks by the envelope's bytes: the
// check (the envelope's signature, the chain's shape and signatures: four
// ECDSA verifications for a three-certificate chain) is a function of
// those bytes alone, so a signature seen again (a decision cache entry
// expired, a rule edited, a background pass) costs none. Everything that
// depends on time or trust (anchors, subject, validity, timestamp,
// revocation) is checked every time. A nil memo remembers nothing.
type integrityMemo struct{ m *expiring[integrity] }

type integrity struct {
	content *signature.EnvelopeContent
	err     error
}

// maxRememberedEnvelopes bounds the memo (one entry per signature, a few
// KB each); integrityTTL ages entries out.
const (
	maxRememberedEnvelopes = 1024
	integrityTTL           = time.Hour
)

func newIntegrityMemo() *integrityMemo {
	return &integrityMemo{newExpiring[integrity](maxRememberedEnvelopes)}
}

func (m *integrityMemo) verify(n *notationEnvelope) (*signature.EnvelopeContent, error) {
	if m == nil {
		return verifyEnvelope(n.env)
	}
	if r, ok := m.m.get(n.key); ok {
		return r.content, r.err
	}
	content, err := verifyEnvelope(n.env)
	m.m.put(n.key, integrity{content, err}, time.Now().Add(integrityTTL))
	return content, err
}
