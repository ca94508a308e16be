package verify

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
)

// candidate is one signature or attestation found on the digest, not yet
// verified.
type candidate struct {
	layout ocisig.Layout
	kind   ocisig.Kind
	entity *bundle.Bundle
	// payload is the simple-signing payload of a legacy signature.
	payload []byte
	// stamped is a legacy attestation's envelope, the bytes its RFC 3161
	// timestamps cover (see envelopeTimestamps).
	stamped []byte
	// statement is the in-toto statement of a DSSE envelope. It is read
	// from the same bytes the signature covers, and trusted only after the
	// candidate verifies.
	statement *statement
}

// statement is the part of an in-toto statement (v0.1 or v1) signet reads.
type statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []subject       `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// evaluation carries the state of deciding one digest.
type evaluation struct {
	v      *Verifier
	p      *policy.Policy
	rule   *policy.Rule
	digest name.Digest
	d      *Decision

	sigs, atts []*candidate

	root    *trustroot.Root
	rootErr error
	rootSet bool
}

// classify parses what was found into signature and attestation candidates.
// Unparseable material is recorded as rejected, never fatal: a registry
// holding junk next to a good signature must not block the good one.
func (ev *evaluation) classify(found *ocisig.Found) error {
	for _, l := range found.Legacy {
		b, err := fromLegacy(l)
		if err != nil {
			ev.d.reject(ocisig.LayoutLegacy, l.Kind, "unreadable: %v", err)
			continue
		}
		c := &candidate{layout: ocisig.LayoutLegacy, kind: l.Kind, entity: b}
		if l.Kind == ocisig.KindSignature {
			c.payload = l.Payload
			ev.sigs = append(ev.sigs, c)
			continue
		}
		if c.statement, err = envelopeStatement(b); err != nil {
			ev.d.reject(ocisig.LayoutLegacy, l.Kind, "%v", err)
			continue
		}
		c.stamped = l.Payload
		ev.atts = append(ev.atts, c)
	}
	for _, fb := range found.Bundles {
		b, err := parseBundle(fb.JSON)
		if err != nil {
			ev.d.reject(ocisig.LayoutBundle, "", "referrer %s: %v", fb.Manifest, err)
			continue
		}
		c := &candidate{layout: ocisig.LayoutBundle, kind: ocisig.KindSignature, entity: b}
		if b.GetDsseEnvelope() != nil {
			if c.statement, err = envelopeStatement(b); err != nil {
				ev.d.reject(ocisig.LayoutBundle, "", "referrer %s: %v", fb.Manifest, err)
				continue
			}
			if c.statement.PredicateType != ocisig.CosignSignPredicateType {
				c.kind = ocisig.KindAttestation
			}
		}
		if c.kind == ocisig.KindSignature {
			ev.sigs = append(ev.sigs, c)
		} else {
			ev.atts = append(ev.atts, c)
		}
	}
	return nil
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
	return &st, nil
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
