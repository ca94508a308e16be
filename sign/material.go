package sign

import (
	"context"
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/ocisig"
)

// Signing and publishing are two halves behind two small interfaces: a
// Producer signs (key or certificate, log entries, timestamps) and returns
// Material, touching no registry; a Publisher writes Material in the
// layouts it carries, touching no key. Run wires a Session to a
// RegistryPublisher; each half is tested alone.

// Material is one signature or attestation of one digest, signed and not
// yet published.
type Material struct {
	Subject name.Digest
	Kind    ocisig.Kind
	// PredicateType is the statement's (the cosign sign predicate for a
	// bundle signature).
	PredicateType string
	// Bundle is the Sigstore bundle v0.3 JSON for the bundle layout; nil
	// when that layout is not written. Its verification material holds
	// the certificate or key hint, log entries and timestamps.
	Bundle []byte
	// Legacy is the cosign .sig/.att layer for the legacy layout; nil when
	// that layout is not written.
	Legacy *ocisig.Legacy
	// Notation is a Notation signature's envelope, for its referrer;
	// nil for Sigstore material.
	Notation *ocisig.NotationItem
	// LogIndex is the log index of the bundle's first entry, if uploaded.
	LogIndex *int64
	// SameBundle and SameLegacy recognise the producer's own earlier
	// entries of the same claim, which a Publisher replaces; nil replaces
	// nothing.
	SameBundle ocisig.SameBundle
	SameLegacy ocisig.SameLegacy
}

// Producer makes material: the Session. Signature signs with Sigstore
// when SignsSigstore; Notation, when not nil, signs with the Notary
// Project (beside, or instead of, Sigstore).
type Producer interface {
	Signature(ctx context.Context, d name.Digest, f Format) (Material, error)
	Attestation(ctx context.Context, d name.Digest, predicateType string, predicate json.RawMessage, f Format) (Material, error)
	SignsSigstore() bool
	Notation() *Notation
}

// Publisher writes the material of one subject (whose descriptor the run
// resolved) and says per item where it went (Attached, in the order of
// items).
type Publisher interface {
	Publish(ctx context.Context, subject Subject, items []Material) ([]Attached, error)
}

var _ Producer = (*Session)(nil)

// claim sets the matchers of the session's own earlier entries for m's
// claim: available once the session has signed (keyless: once it holds
// its certificate).
func (s *Session) claim(m *Material) error {
	same, err := s.sameSigner()
	if err != nil {
		return err
	}
	if m.Bundle != nil {
		m.SameBundle = same.bundle(m.PredicateType)
	}
	if m.Legacy != nil {
		m.SameLegacy = same.legacySignature(m.Legacy.Payload)
		if m.Kind == ocisig.KindAttestation {
			m.SameLegacy = same.legacyAttestation(m.PredicateType)
		}
	}
	return nil
}
