package sigstoretest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/rekor/pkg/types"

	"github.com/signet-dev/signet/ocisig"
)

// SignLegacy signs payload (usually SimpleSigning output) the way cosign v2
// `sign` fills a .sig layer: base64 signature, certificate and chain PEM, a
// hashedrekord v0.0.1 Rekor bundle and, with WithTimestamp, an RFC 3161
// timestamp over the raw signature bytes.
func (s *Signer) SignLegacy(payload []byte) (ocisig.Legacy, error) {
	at := s.now()
	sig, err := s.sign(payload)
	if err != nil {
		return ocisig.Legacy{}, err
	}
	l := s.legacy(ocisig.KindSignature, ocisig.SimpleSigningMediaType, payload)
	l.Signature = base64.StdEncoding.EncodeToString(sig)
	h := sha256.Sum256(payload)
	if err := s.timeEvidence(&l, at, "hashedrekord", "0.0.1", types.ArtifactProperties{
		ArtifactHash:   "sha256:" + hex.EncodeToString(h[:]),
		SignatureBytes: sig,
	}, sig); err != nil {
		return ocisig.Legacy{}, err
	}
	return l, nil
}

// AttestLegacy wraps statement in a signed DSSE envelope the way cosign v2
// `attest` fills a .att layer: the envelope is the layer, the signature
// annotation is empty, the Rekor entry is intoto v0.0.2 and the RFC 3161
// timestamp (WithTimestamp) is over the envelope bytes.
func (s *Signer) AttestLegacy(statement []byte, predicateType string) (ocisig.Legacy, error) {
	at := s.now()
	env, _, err := s.envelope(statement)
	if err != nil {
		return ocisig.Legacy{}, err
	}
	envJSON, err := json.Marshal(env)
	if err != nil {
		return ocisig.Legacy{}, fmt.Errorf("encoding envelope: %w", err)
	}
	l := s.legacy(ocisig.KindAttestation, ocisig.DSSEMediaType, envJSON)
	l.PredicateType = predicateType
	if err := s.timeEvidence(&l, at, "intoto", "0.0.2", types.ArtifactProperties{ArtifactBytes: envJSON}, envJSON); err != nil {
		return ocisig.Legacy{}, err
	}
	return l, nil
}

// timeEvidence attaches to l what lets a verifier trust the time of its
// signature: unless WithoutTlog, the Rekor bundle of an entry of kind and
// version for props (with the signer's public key); with WithTimestamp, an
// RFC 3161 timestamp over stamped.
func (s *Signer) timeEvidence(l *ocisig.Legacy, at time.Time, kind, version string, props types.ArtifactProperties, stamped []byte) error {
	if !s.cfg.noTlog {
		props.PublicKeyBytes = [][]byte{s.verifierPEM()}
		props.PKIFormat = "x509"
		body, err := canonicalEntry(kind, version, props)
		if err != nil {
			return err
		}
		if l.RekorBundle, err = s.rekorBundle(body, at); err != nil {
			return err
		}
	}
	if s.cfg.timestamp {
		var err error
		if l.RFC3161, err = s.rfc3161(stamped, at); err != nil {
			return err
		}
	}
	return nil
}

func (s *Signer) legacy(k ocisig.Kind, mediaType string, payload []byte) ocisig.Legacy {
	l := ocisig.Legacy{Kind: k, MediaType: mediaType, Payload: payload}
	if s.cert != nil {
		l.Certificate = CertPEM(s.cert)
		l.Chain = CertPEM(s.chain...)
	}
	return l
}

// envelope signs statement as an in-toto DSSE envelope with an empty keyid,
// as cosign and sigstore-go do. It returns the raw signature too.
func (s *Signer) envelope(statement []byte) (*dsse.Envelope, []byte, error) {
	sig, err := s.sign(dsse.PAE(ocisig.InTotoPayloadType, statement))
	if err != nil {
		return nil, nil, err
	}
	return &dsse.Envelope{
		PayloadType: ocisig.InTotoPayloadType,
		Payload:     base64.StdEncoding.EncodeToString(statement),
		Signatures:  []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
	}, sig, nil
}

func (s *Signer) rekorBundle(body []byte, at time.Time) ([]byte, error) {
	e, err := s.ss.rekor.append(body, at)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(ocisig.RekorBundle{
		SignedEntryTimestamp: e.set,
		Payload: ocisig.RekorPayload{
			Body:           base64.StdEncoding.EncodeToString(e.body),
			IntegratedTime: e.integratedTime,
			LogIndex:       e.index,
			LogID:          hex.EncodeToString(s.ss.rekor.logID),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("encoding rekor bundle: %w", err)
	}
	return b, nil
}

func (s *Signer) rfc3161(data []byte, at time.Time) ([]byte, error) {
	der, err := s.ss.tsa.stamp(data, at)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(ocisig.RFC3161Timestamp{SignedRFC3161Timestamp: der})
	if err != nil {
		return nil, fmt.Errorf("encoding timestamp: %w", err)
	}
	return b, nil
}
