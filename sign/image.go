package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signet-dev/signet/ocisig"
)

// Format selects the layouts written.
type Format string

const (
	FormatBoth   Format = "both"
	FormatBundle Format = "bundle"
	FormatLegacy Format = "legacy"
)

// ParseFormat validates a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatBoth, FormatBundle, FormatLegacy:
		return f, nil
	}
	return "", fmt.Errorf("format must be both, bundle or legacy, got %q", s)
}

func (f Format) legacy() bool { return f == FormatBoth || f == FormatLegacy }
func (f Format) bundle() bool { return f == FormatBoth || f == FormatBundle }

// Attached is one digest signed (or attested) and where the material went.
type Attached struct {
	Digest string `json:"digest"`
	// Bundle is the referrer manifest digest, when the bundle layout was written.
	Bundle string `json:"bundle,omitempty"`
	// LegacyTag is the cosign .sig/.att tag, when the legacy layout was written.
	LegacyTag string `json:"legacyTag,omitempty"`
	// LogIndex is the Rekor index of the bundle's entry, if uploaded.
	LogIndex *int64 `json:"logIndex,omitempty"`
	// BundleWrite and LegacyWrite say what the run did in each layout about
	// the same signer's earlier entries for this digest: added (there were
	// none), replaced (they were removed) or unchanged (the identical entry
	// was there, nothing written). A re-run never makes a layout grow.
	BundleWrite *ocisig.Outcome `json:"bundleWrite,omitempty"`
	LegacyWrite *ocisig.Outcome `json:"legacyWrite,omitempty"`
	// Notation is the Notation signature's referrer manifest, and
	// NotationWrite what writing it did to the same certificate's earlier
	// signatures, for a Notation signature.
	Notation      string          `json:"notation,omitempty"`
	NotationWrite *ocisig.Outcome `json:"notationWrite,omitempty"`
}

// Signature signs one digest in the layouts f names: a DSSE bundle of
// the cosign sign predicate (bundle layout) and a simple-signing layer
// (legacy layout), by the same key or certificate. Nothing is written.
func (s *Session) Signature(ctx context.Context, d name.Digest, f Format) (Material, error) {
	m := Material{Subject: d, Kind: ocisig.KindSignature, PredicateType: ocisig.CosignSignPredicateType}
	if !s.SignsSigstore() {
		return m, errNoSigstore
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return m, fmt.Errorf("signing %s: %w", d, err)
	}
	if f.bundle() {
		st, err := statement(d, h, ocisig.CosignSignPredicateType, map[string]any{})
		if err != nil {
			return m, err
		}
		b, err := s.bundle(ctx, &sgsign.DSSEData{Data: st, PayloadType: ocisig.InTotoPayloadType}, s.tlogs)
		if err != nil {
			return m, fmt.Errorf("signing %s: %w", d, err)
		}
		m.LogIndex = firstLogIndex(b)
		if m.Bundle, err = protojson.Marshal(b); err != nil {
			return m, fmt.Errorf("encoding bundle for %s: %w", d, err)
		}
	}
	if f.legacy() {
		pl, err := payload.Cosign{Image: d}.MarshalJSON()
		if err != nil {
			return m, fmt.Errorf("building simple-signing payload for %s: %w", d, err)
		}
		// A Rekor v2 entry cannot be expressed in the legacy layer. When the
		// bundle layout is written too, its signature of the same digest by
		// the same certificate is already in every log, so only logs whose
		// entries the layer can carry get a second upload; a legacy-only run
		// still logs everywhere, for monitors watching the identity.
		tlogs := s.tlogs
		if f.bundle() {
			tlogs = s.setLogs
		}
		b, err := s.bundle(ctx, &sgsign.PlainData{Data: pl}, tlogs)
		if err != nil {
			return m, fmt.Errorf("signing %s (legacy layout): %w", d, err)
		}
		l := ocisig.Legacy{Kind: ocisig.KindSignature, MediaType: ocisig.SimpleSigningMediaType, Payload: pl,
			Signature: base64.StdEncoding.EncodeToString(b.GetMessageSignature().GetSignature())}
		if err := s.legacyMaterial(&l, b); err != nil {
			return m, fmt.Errorf("signing %s: %w", d, err)
		}
		m.Legacy = &l
	}
	return m, s.claim(&m)
}

// statement is an in-toto v1 statement about one image digest, named by its
// repository as cosign names it.
func statement(d name.Digest, h v1.Hash, predicateType string, predicate any) ([]byte, error) {
	st := struct {
		Type          string    `json:"_type"`
		Subject       []subject `json:"subject"`
		PredicateType string    `json:"predicateType"`
		Predicate     any       `json:"predicate"`
	}{
		Type:          ocisig.InTotoStatementType,
		Subject:       []subject{{Name: d.Context().Name(), Digest: map[string]string{h.Algorithm: h.Hex}}},
		PredicateType: predicateType,
		Predicate:     predicate,
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding statement for %s: %w", d, err)
	}
	return b, nil
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

func firstLogIndex(b *protobundle.Bundle) *int64 {
	for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
		i := e.GetLogIndex()
		return &i
	}
	return nil
}

// errNoSigstore is a Sigstore signature asked of a Notation-only session.
var errNoSigstore = errors.New("this run signs with Notation only; Sigstore signatures and attestations need --key or a keyless identity")
