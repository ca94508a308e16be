package verify

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/signet-dev/signet/ocisig"
)

// candidate is one signature or attestation on the digest: found in the
// registry and not yet verified, or predicted (sign's preflight) and taken
// as verified.
type candidate struct {
	layout ocisig.Layout
	kind   ocisig.Kind
	entity *bundle.Bundle
	// predicted is who will sign it, for a candidate sign's preflight
	// predicts: there is nothing to verify cryptographically yet.
	predicted *Signer
	// payload is the simple-signing payload of a legacy signature.
	payload []byte
	// stamped is a legacy attestation's envelope, the bytes its RFC 3161
	// timestamps cover (see envelopeTimestamps).
	stamped []byte
	// statement is the in-toto statement of a DSSE envelope. It is read
	// from the same bytes the signature covers, and trusted only after the
	// candidate verifies.
	statement *statement
	// notation is a Notation signature's envelope (notation_evidence.go).
	notation *notationEnvelope
}

// statement is the part of an in-toto statement (v0.1 or v1) signet reads.
type statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []subject       `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
	// payload is the statement's bytes, as signed: conditions read them.
	payload []byte
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

func envelopeStatement(b *bundle.Bundle) (*statement, error) {
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, fmt.Errorf("attestation is not a DSSE envelope")
	}
	if env.PayloadType != ocisig.InTotoPayloadType {
		return nil, fmt.Errorf("DSSE payload type is %q, want %q", env.PayloadType, ocisig.InTotoPayloadType)
	}
	var st statement
	if err := json.Unmarshal(env.Payload, &st); err != nil {
		return nil, fmt.Errorf("DSSE payload is not an in-toto statement: %w", err)
	}
	if !strings.HasPrefix(st.Type, "https://in-toto.io/Statement/") {
		return nil, fmt.Errorf("DSSE payload type %q is not an in-toto statement", st.Type)
	}
	st.payload = env.Payload
	return &st, nil
}

// what names the candidate in a sentence: "bundle signature", "legacy
// attestation", or "this run's signature" for a predicted one.
func (c *candidate) what() string {
	if c.predicted != nil {
		return "this run's " + string(c.kind)
	}
	return fmt.Sprintf("%s %s", c.layout, c.kind)
}

// coversDigest reports whether the statement names the digest as a subject.
func (st *statement) coversDigest(digest name.Digest) bool {
	alg, hex, ok := strings.Cut(digest.DigestStr(), ":")
	if !ok {
		return false
	}
	for _, s := range st.Subject {
		if s.Digest[alg] == hex {
			return true
		}
	}
	return false
}

// simpleSigningDigest returns the manifest digest a cosign simple-signing
// payload vouches for.
func simpleSigningDigest(payload []byte) (string, error) {
	var ss struct {
		Critical struct {
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
			Type string `json:"type"`
		} `json:"critical"`
	}
	if err := json.Unmarshal(payload, &ss); err != nil {
		return "", fmt.Errorf("signature payload is not cosign simple-signing JSON: %w", err)
	}
	if !strings.EqualFold(ss.Critical.Type, "cosign container image signature") {
		return "", fmt.Errorf("signature payload type is %q, not a cosign container image signature", ss.Critical.Type)
	}
	return ss.Critical.Image.Digest, nil
}
