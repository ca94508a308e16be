package sign

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"

	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signet-dev/signet/ocisig"
)

// sameSigner decides which attached entries a re-run replaces: those made
// by this run's signer for the same claim. "The same signer" is:
//
//   - in key mode, the session's key: the entry's signature verifies with
//     it (cryptographic: nobody else can make an entry count as ours);
//   - keyless, the identity of the run's certificate: its SAN and every
//     Fulcio extension except those that change from one run of the same
//     job to the next (the run invocation URI and the commit digests). A
//     new certificate each run, one identity: a re-run of the workflow at
//     the same ref replaces its own entries, while another workflow, ref,
//     repository or issuer, even behind the same reusable workflow, is
//     another signer and is never touched. An entry that merely claims our
//     identity is removed too, which costs nothing: the run has just written
//     a valid one.
//
// "The same claim" is the same signed payload for a signature, and the same
// predicate type for an attestation (the newest provenance of the same
// signer for the same digest supersedes the earlier one).
type sameSigner struct {
	key      signature.Verifier
	identity string
}

// sameSigner is available once the session has signed (keyless: once it
// holds its certificate).
func (s *Session) sameSigner() (*sameSigner, error) {
	if s.key != nil {
		v, err := signature.LoadVerifier(s.key.GetPublicKey(), crypto.SHA256)
		if err != nil {
			return nil, err
		}
		return &sameSigner{key: v}, nil
	}
	c := s.Certificate()
	if c == nil {
		return nil, errors.New("no certificate yet")
	}
	id, err := identityOf(c)
	if err != nil {
		return nil, err
	}
	return &sameSigner{identity: id}, nil
}

// identityOf is a keyless signer's identity without its per-run fields.
func identityOf(c *x509.Certificate) (string, error) {
	sum, err := certificate.SummarizeCertificate(c)
	if err != nil {
		return "", err
	}
	ext := sum.Extensions
	ext.RunInvocationURI, ext.SourceRepositoryDigest, ext.BuildConfigDigest = "", "", ""
	ext.BuildSignerDigest, ext.GithubWorkflowSHA = "", ""
	b, err := json.Marshal(struct {
		SAN string
		certificate.Extensions
	}{sum.SubjectAlternativeName, ext})
	return string(b), err
}

// certificate reports whether a DER or PEM certificate names our identity.
func (m *sameSigner) certificate(raw []byte) bool {
	if m.identity == "" || len(raw) == 0 {
		return false
	}
	if b, _ := pem.Decode(raw); b != nil {
		raw = b.Bytes
	}
	c, err := x509.ParseCertificate(raw)
	if err != nil {
		return false
	}
	id, err := identityOf(c)
	return err == nil && id == m.identity
}

// signed reports whether sig over data verifies with our key.
func (m *sameSigner) signed(sig, data []byte) bool {
	return m.key != nil && m.key.VerifySignature(bytes.NewReader(sig), bytes.NewReader(data)) == nil
}

// envelope reports whether a DSSE envelope is ours (key mode: one of its
// signatures verifies) and states predicateType.
func (m *sameSigner) envelope(payloadType string, payload []byte, sigs [][]byte, predicateType string, keyless bool) bool {
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(payload, &st) != nil || st.PredicateType != predicateType {
		return false
	}
	if keyless {
		return true
	}
	pae := ssldsse.PAE(payloadType, payload)
	for _, s := range sigs {
		if m.signed(s, pae) {
			return true
		}
	}
	return false
}

// legacySignature matches .sig layers carrying payload.
func (m *sameSigner) legacySignature(payload []byte) ocisig.SameLegacy {
	return func(l ocisig.Legacy) bool {
		if !bytes.Equal(l.Payload, payload) {
			return false
		}
		if len(l.Certificate) > 0 {
			return m.certificate(l.Certificate)
		}
		sig, err := base64.StdEncoding.DecodeString(l.Signature)
		return err == nil && m.signed(sig, l.Payload)
	}
}

// legacyAttestation matches .att layers of predicateType.
func (m *sameSigner) legacyAttestation(predicateType string) ocisig.SameLegacy {
	return func(l ocisig.Legacy) bool {
		var env ssldsse.Envelope
		if json.Unmarshal(l.Payload, &env) != nil {
			return false
		}
		payload, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			return false
		}
		var sigs [][]byte
		for _, s := range env.Signatures {
			if b, err := base64.StdEncoding.DecodeString(s.Sig); err == nil {
				sigs = append(sigs, b)
			}
		}
		keyless := len(l.Certificate) > 0
		if keyless && !m.certificate(l.Certificate) {
			return false
		}
		return m.envelope(env.PayloadType, payload, sigs, predicateType, keyless)
	}
}

// bundle matches bundle referrers whose DSSE statement is of predicateType.
func (m *sameSigner) bundle(predicateType string) ocisig.SameBundle {
	return func(found ocisig.Bundle) bool {
		var b protobundle.Bundle
		if (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(found.JSON, &b) != nil {
			return false
		}
		env := b.GetDsseEnvelope()
		if env == nil {
			return false
		}
		vm := b.GetVerificationMaterial()
		cert := vm.GetCertificate().GetRawBytes()
		if chain := vm.GetX509CertificateChain().GetCertificates(); cert == nil && len(chain) > 0 {
			cert = chain[0].GetRawBytes()
		}
		keyless := cert != nil
		if keyless && !m.certificate(cert) {
			return false
		}
		var sigs [][]byte
		for _, s := range env.GetSignatures() {
			sigs = append(sigs, s.GetSig())
		}
		return m.envelope(env.GetPayloadType(), env.GetPayload(), sigs, predicateType, keyless)
	}
}
