package sign

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signet-dev/signet/ocisig"
)

// Attestation signs an in-toto statement {subject: d, predicateType,
// predicate} as DSSE for the layouts f names: a bundle referrer (cosign
// v3) and a layer of the .att image (cosign v2). Both carry the same
// envelope, signature and log entry. Nothing is written.
func (s *Session) Attestation(ctx context.Context, d name.Digest, predicateType string, predicate json.RawMessage, f Format) (Material, error) {
	m := Material{Subject: d, Kind: ocisig.KindAttestation, PredicateType: predicateType}
	if !s.SignsSigstore() {
		return m, errNoSigstore
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return m, fmt.Errorf("attesting %s: %w", d, err)
	}
	st, err := statement(d, h, predicateType, predicate)
	if err != nil {
		return m, err
	}
	b, err := s.bundle(ctx, &sgsign.DSSEData{Data: st, PayloadType: ocisig.InTotoPayloadType}, s.tlogs)
	if err != nil {
		return m, fmt.Errorf("attesting %s: %w", d, err)
	}
	m.LogIndex = firstLogIndex(b)
	if f.bundle() {
		if m.Bundle, err = protojson.Marshal(b); err != nil {
			return m, fmt.Errorf("encoding attestation bundle for %s: %w", d, err)
		}
	}
	if f.legacy() {
		// The exact bytes Rekor hashed for the dsse entry: sigstore-go
		// uploads json.Marshal of this envelope, and cosign v2 compares
		// the layer's hash with the entry's envelope hash.
		env, err := json.Marshal(b.GetDsseEnvelope())
		if err != nil {
			return m, fmt.Errorf("encoding envelope for %s: %w", d, err)
		}
		l := ocisig.Legacy{Kind: ocisig.KindAttestation, MediaType: ocisig.DSSEMediaType, Payload: env, PredicateType: predicateType}
		if err := s.legacyMaterial(&l, b); err != nil {
			return m, fmt.Errorf("attesting %s: %w", d, err)
		}
		ts, err := s.timestamp(ctx, env)
		if err != nil {
			return m, fmt.Errorf("timestamping attestation of %s: %w", d, err)
		}
		if ts != nil {
			if l.RFC3161, err = rfc3161Annotation(ts); err != nil {
				return m, err
			}
		}
		m.Legacy = &l
	}
	return m, s.claim(&m)
}
