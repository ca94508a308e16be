package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"time"

	"github.com/notaryproject/notation-core-go/signature"
	_ "github.com/notaryproject/notation-core-go/signature/cose" // registers the COSE envelope
	_ "github.com/notaryproject/notation-core-go/signature/jws"  // registers the JWS envelope
	"github.com/notaryproject/tspclient-go"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// Notation signs digests with the Notary Project, as the notation CLI
// does (notation-core-go builds the envelope): a key (a PEM file, or a
// KMS key through the same providers as Sigstore key signing) and its
// certificate chain, a JWS or COSE envelope, and optionally an RFC 3161
// timestamp from a TSA, checked against its root before anything is
// pushed. A Session with a Notation signs each digest with it, beside or
// instead of Sigstore.
type Notation struct {
	signer    signature.Signer
	chain     []*x509.Certificate
	mediaType string
	// tsaURL is the timestamp authority (none when empty), tsaRoot its
	// root and tsaClient the bounded, retrying client that reaches it.
	tsaURL    string
	tsaRoot   *x509.Certificate
	tsaClient *http.Client
	// Source is the key file or KMS URI, for messages.
	Source string
}

// NotationOptions are a Notation signer's envelope and timestamping.
type NotationOptions struct {
	// Envelope is "jws" (default, as notation's) or "cose".
	Envelope string
	// TSAURL is an RFC 3161 timestamp authority; TSARoot its root
	// certificate, which the timestamp must chain to (required with it).
	TSAURL  string
	TSARoot *x509.Certificate
}

// LoadNotation reads a Notation signer: keyRef is a PEM private key file
// (PKCS#8, EC or PKCS#1, unencrypted, as notation's key files are) or a
// KMS URI, chainPath the PEM certificate chain (leaf first, the root
// last), whose leaf must hold keyRef's public key.
func LoadNotation(ctx context.Context, keyRef, chainPath string, o NotationOptions) (*Notation, error) {
	data, err := os.ReadFile(chainPath)
	if err != nil {
		return nil, fmt.Errorf("reading Notation certificate chain: %w", err)
	}
	chain, err := policy.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("Notation certificate chain %s: %w", chainPath, err)
	}
	var s signature.Signer
	if IsKMS(keyRef) {
		kp, err := LoadKMS(ctx, keyRef)
		if err != nil {
			return nil, err
		}
		s, err = newKMSNotationSigner(kp, chain)
		if err != nil {
			return nil, err
		}
	} else {
		key, err := readPrivateKey(keyRef)
		if err != nil {
			return nil, err
		}
		if s, err = signature.NewLocalSigner(chain, key); err != nil {
			return nil, fmt.Errorf("Notation key %s and certificate %s: %w", keyRef, chainPath, err)
		}
	}
	n, err := NewNotation(s, chain, o)
	if err != nil {
		return nil, err
	}
	n.Source = keyRef
	return n, nil
}

// NewNotation is a Notation signer over s, whose certificate chain is chain.
func NewNotation(s signature.Signer, chain []*x509.Certificate, o NotationOptions) (*Notation, error) {
	n := &Notation{signer: s, chain: chain, mediaType: ocisig.NotationJWSMediaType, tsaURL: o.TSAURL, tsaRoot: o.TSARoot, tsaClient: &http.Client{}}
	switch o.Envelope {
	case "", "jws":
	case "cose":
		n.mediaType = ocisig.NotationCOSEMediaType
	default:
		return nil, fmt.Errorf("Notation envelope must be jws or cose, got %q", o.Envelope)
	}
	if o.TSAURL != "" {
		if o.TSARoot == nil {
			return nil, errors.New("a Notation timestamp authority needs its root certificate, to check the timestamp before pushing")
		}
		if _, err := n.timestamper(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// bound sends the TSA requests through rt (the Session's bounded,
// retrying transport).
func (n *Notation) bound(rt http.RoundTripper) { n.tsaClient.Transport = rt }

func (n *Notation) timestamper() (tspclient.Timestamper, error) {
	t, err := tspclient.NewHTTPTimestamper(n.tsaClient, n.tsaURL)
	if err != nil {
		return nil, fmt.Errorf("Notation timestamp authority %s: %w", n.tsaURL, err)
	}
	return t, nil
}

// Signer is who the run signs as with Notation, for preflight.
func (n *Notation) Signer() *verify.NotationSigner {
	s := &verify.NotationSigner{Chain: n.chain}
	if n.tsaURL != "" {
		s.TSARoot = n.tsaRoot
	}
	return s
}

// Signature signs subject's descriptor (the payload names its media type,
// digest and size, which notation verify compares) into an envelope.
// Nothing is written.
func (n *Notation) Signature(ctx context.Context, subject Subject) (Material, error) {
	d := subject.Digest
	m := Material{Subject: d, Kind: ocisig.KindSignature}
	payload, err := json.Marshal(map[string]any{"targetArtifact": map[string]any{
		"mediaType": subject.Descriptor.MediaType, "digest": d.DigestStr(), "size": subject.Descriptor.Size}})
	if err != nil {
		return m, err
	}
	env, err := signature.NewEnvelope(n.mediaType)
	if err != nil {
		return m, err
	}
	now := time.Now()
	req := &signature.SignRequest{
		Payload:       signature.Payload{ContentType: verify.NotationPayloadType, Content: payload},
		Signer:        n.signer,
		SigningTime:   now,
		SigningScheme: signature.SigningSchemeX509,
		SigningAgent:  "signet",
	}
	if n.tsaURL != "" {
		if req.Timestamper, err = n.timestamper(); err != nil {
			return m, err
		}
		req.TSARootCAs = x509.NewCertPool()
		req.TSARootCAs.AddCert(n.tsaRoot)
	}
	raw, err := env.Sign(req.WithContext(ctx))
	if err != nil {
		return m, fmt.Errorf("signing %s with Notation (%s): %w", d, n.Source, err)
	}
	m.Notation = &ocisig.NotationItem{Envelope: raw, MediaType: n.mediaType, Thumbprints: thumbprints(n.chain), SigningTime: now}
	return m, nil
}

func thumbprints(chain []*x509.Certificate) []string {
	out := make([]string, len(chain))
	for i, c := range chain {
		sum := sha256.Sum256(c.Raw)
		out[i] = hex.EncodeToString(sum[:])
	}
	return out
}

// readPrivateKey reads an unencrypted PEM private key: PKCS#8 (what
// notation writes), SEC 1 EC or PKCS#1 RSA.
func readPrivateKey(path string) (crypto.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading Notation key: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("Notation key %s is not PEM", path)
	}
	switch b.Type {
	case "PRIVATE KEY":
		return x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	}
	return nil, fmt.Errorf("Notation key %s: unsupported PEM block %q (want an unencrypted PRIVATE KEY)", path, b.Type)
}

// kmsNotationSigner signs Notation envelopes with a KMS key: the envelope
// library hands it the bytes to sign, the KMS signs their SHA-256 and the
// ASN.1 ECDSA signature becomes the fixed-width r||s JWS and COSE carry.
// Only ECDSA P-256 applies: the Notary Project signs RSA with RSASSA-PSS,
// which sigstore's KMS signers do not produce.
type kmsNotationSigner struct {
	kp    *Keypair
	chain []*x509.Certificate
	spec  signature.KeySpec
}

func newKMSNotationSigner(kp *Keypair, chain []*x509.Certificate) (*kmsNotationSigner, error) {
	pub, ok := kp.GetPublicKey().(*ecdsa.PublicKey)
	if !ok || pub.Curve.Params().BitSize != 256 {
		if _, rsaKey := kp.GetPublicKey().(*rsa.PublicKey); rsaKey {
			return nil, fmt.Errorf("KMS key %s is RSA: Notation signs RSA with RSASSA-PSS, which signet's KMS signing does not produce; use an ECDSA P-256 key", kp.Source)
		}
		return nil, fmt.Errorf("KMS key %s: Notation KMS signing supports ECDSA P-256 keys", kp.Source)
	}
	if !pub.Equal(chain[0].PublicKey) {
		return nil, fmt.Errorf("KMS key %s is not the key of certificate %q", kp.Source, chain[0].Subject.String())
	}
	spec, err := signature.ExtractKeySpec(chain[0])
	if err != nil {
		return nil, err
	}
	return &kmsNotationSigner{kp: kp, chain: chain, spec: spec}, nil
}

func (s *kmsNotationSigner) KeySpec() (signature.KeySpec, error) { return s.spec, nil }

func (s *kmsNotationSigner) Sign(payload []byte) ([]byte, []*x509.Certificate, error) {
	der, _, err := s.kp.SignData(context.Background(), payload)
	if err != nil {
		return nil, nil, err
	}
	raw, err := ecdsaRaw(der, 32)
	if err != nil {
		return nil, nil, fmt.Errorf("KMS key %s: %w", s.kp.Source, err)
	}
	return raw, s.chain, nil
}

// ecdsaRaw converts an ASN.1 ECDSA signature to r||s, each size bytes.
func ecdsaRaw(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, fmt.Errorf("not an ASN.1 ECDSA signature: %w", err)
	}
	out := make([]byte, 2*size)
	if sig.R.BitLen() > 8*size || sig.S.BitLen() > 8*size {
		return nil, errors.New("ECDSA signature too long for the curve")
	}
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}
