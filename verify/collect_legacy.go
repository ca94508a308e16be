package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"

	"github.com/signet-dev/signet/ocisig"
)

// legacyBundleMediaType is bundle v0.1: the only version that accepts a
// Rekor entry with an inclusion promise (SET) and no inclusion proof, which
// is what cosign's legacy layout carries.
const legacyBundleMediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1"

// fromLegacy turns one layer of a cosign .sig/.att image into a Sigstore
// bundle, so both layouts are verified by the same sigstore-go code path.
// Nothing is trusted here: the bundle is only a container for verify.
func fromLegacy(l ocisig.Legacy) (*bundle.Bundle, error) {
	vm, err := legacyMaterial(l)
	if err != nil {
		return nil, err
	}
	pb := &protobundle.Bundle{MediaType: legacyBundleMediaType, VerificationMaterial: vm}
	switch l.Kind {
	case ocisig.KindSignature:
		if l.MediaType != ocisig.SimpleSigningMediaType {
			return nil, fmt.Errorf("signature layer has media type %q, want %q", l.MediaType, ocisig.SimpleSigningMediaType)
		}
		sig, err := base64.StdEncoding.DecodeString(l.Signature)
		if err != nil || len(sig) == 0 {
			return nil, fmt.Errorf("signature annotation is not base64: %v", err)
		}
		digest := sha256.Sum256(l.Payload)
		pb.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     sig,
		}}
	case ocisig.KindAttestation:
		env, err := parseEnvelope(l.Payload)
		if err != nil {
			return nil, err
		}
		pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env}
	default:
		return nil, fmt.Errorf("unknown attachment kind %q", l.Kind)
	}
	return bundle.NewBundle(pb)
}

func legacyMaterial(l ocisig.Legacy) (*protobundle.VerificationMaterial, error) {
	vm := &protobundle.VerificationMaterial{}
	if len(l.Certificate) > 0 {
		certs, err := pemCerts(append(append([]byte{}, l.Certificate...), append([]byte("\n"), l.Chain...)...))
		if err != nil {
			return nil, fmt.Errorf("certificate annotation: %w", err)
		}
		vm.Content = &protobundle.VerificationMaterial_X509CertificateChain{
			X509CertificateChain: &protocommon.X509CertificateChain{Certificates: certs},
		}
	} else {
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}
	}
	if len(l.RekorBundle) > 0 {
		tle, err := rekorEntry(l.RekorBundle)
		if err != nil {
			return nil, fmt.Errorf("rekor bundle annotation: %w", err)
		}
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{tle}
	}
	if len(l.RFC3161) > 0 {
		var ts ocisig.RFC3161Timestamp
		if err := json.Unmarshal(l.RFC3161, &ts); err != nil || len(ts.SignedRFC3161Timestamp) == 0 {
			return nil, fmt.Errorf("rfc3161 timestamp annotation is malformed: %v", err)
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts.SignedRFC3161Timestamp}},
		}
	}
	return vm, nil
}

// rekorEntry converts cosign's RekorBundle annotation (a SET over the entry)
// into a transparency log entry with an inclusion promise.
func rekorEntry(data []byte) (*protorekor.TransparencyLogEntry, error) {
	var rb ocisig.RekorBundle
	if err := json.Unmarshal(data, &rb); err != nil {
		return nil, err
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("entry body is not base64: %w", err)
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("log id is not hex: %w", err)
	}
	if len(rb.SignedEntryTimestamp) == 0 {
		return nil, errors.New("no signed entry timestamp")
	}
	var kv struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kv); err != nil || kv.Kind == "" || kv.APIVersion == "" {
		return nil, fmt.Errorf("entry body has no kind/apiVersion: %v", err)
	}
	tle := &protorekor.TransparencyLogEntry{
		LogIndex:          rb.Payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion},
		IntegratedTime:    rb.Payload.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
		CanonicalizedBody: body,
	}
	// Parse it once here so a malformed entry is reported as such.
	if _, err := tlog.ParseTransparencyLogEntry(tle); err != nil {
		return nil, err
	}
	return tle, nil
}

func parseEnvelope(data []byte) (*protodsse.Envelope, error) {
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     []byte `json:"payload"`
		Signatures  []struct {
			KeyID string `json:"keyid"`
			Sig   []byte `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("attestation is not a DSSE envelope: %w", err)
	}
	if len(env.Signatures) == 0 {
		return nil, errors.New("DSSE envelope has no signatures")
	}
	out := &protodsse.Envelope{Payload: env.Payload, PayloadType: env.PayloadType}
	for _, s := range env.Signatures {
		out.Signatures = append(out.Signatures, &protodsse.Signature{Sig: s.Sig, Keyid: s.KeyID})
	}
	return out, nil
}

func pemCerts(data []byte) ([]*protocommon.X509Certificate, error) {
	var out []*protocommon.X509Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			out = append(out, &protocommon.X509Certificate{RawBytes: b.Bytes})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

// parseBundle parses a bundle from a referrer.
func parseBundle(data []byte) (*bundle.Bundle, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("parsing Sigstore bundle: %w", err)
	}
	return &b, nil
}

// envelopeTimestamps is trusted material whose timestamping authorities
// verify RFC 3161 timestamps over envelope, the bytes of a legacy .att
// layer, instead of over the DSSE signature. cosign v2 stamps an
// attestation's payload (pkg/cosign/verify.go VerifyRFC3161Timestamp: no
// base64 signature, so the signed payload), while sigstore-go verifies a
// bundle's timestamps over the signature bytes; fromLegacy keeps the
// timestamp as is, and the candidate's verification swaps the authorities.
// The envelope holds the signature that is verified, so a timestamp over it
// dates that signature as firmly as one over the signature alone.
type envelopeTimestamps struct {
	root.TrustedMaterial
	envelope []byte
}

func (m envelopeTimestamps) TimestampingAuthorities() []root.TimestampingAuthority {
	var out []root.TimestampingAuthority
	for _, a := range m.TrustedMaterial.TimestampingAuthorities() {
		out = append(out, envelopeTSA{a, m.envelope})
	}
	return out
}

type envelopeTSA struct {
	root.TimestampingAuthority
	envelope []byte
}

// Verify ignores the signature bytes sigstore-go passes: the timestamp
// covers the envelope.
func (a envelopeTSA) Verify(signedTimestamp, _ []byte) (*root.Timestamp, error) {
	return a.TimestampingAuthority.Verify(signedTimestamp, a.envelope)
}
