package sigstoretest

import (
	"encoding/json"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/types"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signet-dev/signet/ocisig"
)

// SignBundle signs statement into a Sigstore bundle v0.3 (JSON), as cosign
// v3 writes for both image signatures (predicate
// https://sigstore.dev/cosign/sign/v1) and attestations: a DSSE envelope,
// the leaf certificate (or a publicKey hint for key signers), a Rekor v1
// dsse v0.0.1 entry with inclusion promise and inclusion proof, and with
// WithTimestamp an RFC 3161 timestamp over the signature.
func (s *Signer) SignBundle(statement []byte) ([]byte, error) {
	at := s.now()
	env, sig, err := s.envelope(statement)
	if err != nil {
		return nil, err
	}
	vm := &protobundle.VerificationMaterial{}
	if s.cert != nil {
		vm.Content = &protobundle.VerificationMaterial_Certificate{
			Certificate: &protocommon.X509Certificate{RawBytes: s.cert.Raw},
		}
	} else {
		vm.Content = &protobundle.VerificationMaterial_PublicKey{
			PublicKey: &protocommon.PublicKeyIdentifier{Hint: s.KeyHint()},
		}
	}
	if !s.cfg.noTlog {
		envJSON, err := json.Marshal(env)
		if err != nil {
			return nil, fmt.Errorf("encoding envelope: %w", err)
		}
		body, err := canonicalEntry("dsse", "0.0.1", types.ArtifactProperties{
			ArtifactBytes:  envJSON,
			PublicKeyBytes: [][]byte{s.verifierPEM()},
			PKIFormat:      "x509",
		})
		if err != nil {
			return nil, err
		}
		e, err := s.ss.rekor.append(body, at)
		if err != nil {
			return nil, err
		}
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{{
			LogIndex:          e.index,
			LogId:             &protocommon.LogId{KeyId: s.ss.rekor.logID},
			KindVersion:       &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"},
			IntegratedTime:    e.integratedTime,
			InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: e.set},
			CanonicalizedBody: e.body,
			InclusionProof: &protorekor.InclusionProof{
				LogIndex:   e.index,
				RootHash:   e.rootHash,
				TreeSize:   e.treeSize,
				Hashes:     e.hashes,
				Checkpoint: &protorekor.Checkpoint{Envelope: e.checkpoint},
			},
		}}
	}
	if s.cfg.timestamp {
		der, err := s.ss.tsa.stamp(sig, at)
		if err != nil {
			return nil, err
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: der}},
		}
	}
	b := &protobundle.Bundle{
		MediaType:            ocisig.BundleMediaType,
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     statement,
			PayloadType: env.PayloadType,
			Signatures:  []*protodsse.Signature{{Sig: sig}},
		}},
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding bundle: %w", err)
	}
	return out, nil
}
