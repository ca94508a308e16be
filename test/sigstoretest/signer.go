package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Signer holds one signing key and, for keyless signers, the Fulcio
// certificate issued for it. Each Sign/Attest call uploads to the log (unless
// WithoutTlog) and timestamps (with WithTimestamp) like cosign does.
type Signer struct {
	ss    *Sigstore
	key   crypto.Signer
	id    Identity
	cert  *x509.Certificate   // nil for key signers
	chain []*x509.Certificate // intermediate, root; nil for key signers
	cfg   signerConfig
}

type signerConfig struct {
	notBefore, notAfter time.Time
	noTlog, timestamp   bool
	untrusted, noSCT    bool
	at                  time.Time
}

// SignerOption configures Signer and KeySigner.
type SignerOption func(*signerConfig)

// WithValidity sets the leaf certificate's validity instead of the default
// ten minutes from now: a window in the past makes an expired certificate.
func WithValidity(notBefore, notAfter time.Time) SignerOption {
	return func(c *signerConfig) { c.notBefore, c.notAfter = notBefore, notAfter }
}

// WithoutTlog skips the Rekor upload: no SET, no inclusion proof.
func WithoutTlog() SignerOption { return func(c *signerConfig) { c.noTlog = true } }

// WithTimestamp adds an RFC 3161 timestamp from the TSA.
func WithTimestamp() SignerOption { return func(c *signerConfig) { c.timestamp = true } }

// WithUntrustedCA issues the certificate from a CA that is not in the
// trusted root (with an identical identity), so only chain building fails.
func WithUntrustedCA() SignerOption { return func(c *signerConfig) { c.untrusted = true } }

// WithoutSCT leaves the embedded SCT out of the certificate.
func WithoutSCT() SignerOption { return func(c *signerConfig) { c.noSCT = true } }

// WithSigningTime fixes the Rekor integrated time, the TSA time and, unless
// WithValidity is given, the start of the certificate's validity.
func WithSigningTime(t time.Time) SignerOption { return func(c *signerConfig) { c.at = t } }

// Signer issues a Fulcio certificate for id over a fresh ECDSA P-256 key,
// valid for ten minutes from now (or WithSigningTime), as Fulcio does.
func (s *Sigstore) Signer(id Identity, opts ...SignerOption) (*Signer, error) {
	var cfg signerConfig
	for _, o := range opts {
		o(&cfg)
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	start := cfg.at
	if start.IsZero() {
		start = time.Now()
	}
	if cfg.notBefore.IsZero() {
		cfg.notBefore = start.Truncate(time.Second)
		cfg.notAfter = cfg.notBefore.Add(10 * time.Minute)
	}
	issuer := s.fulcio
	if cfg.untrusted {
		issuer = s.untrusted
	}
	tmpl, err := leafTemplate(id, &key.PublicKey, cfg.notBefore, cfg.notAfter)
	if err != nil {
		return nil, fmt.Errorf("building certificate for %s: %w", id.SAN, err)
	}
	leaf, err := issue(tmpl, issuer.intermediate, &key.PublicKey, issuer.intermediateKey)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate for %s: %w", id.SAN, err)
	}
	if !cfg.noSCT {
		// leaf stands in for the precertificate: its TBS is the final
		// certificate's TBS without the SCT list, which goes last.
		ext, err := s.ct.sctExtension(leaf.RawTBSCertificate, issuer.intermediate, cfg.notBefore)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
		if leaf, err = issue(tmpl, issuer.intermediate, &key.PublicKey, issuer.intermediateKey); err != nil {
			return nil, fmt.Errorf("issuing final certificate for %s: %w", id.SAN, err)
		}
	}
	return &Signer{ss: s, key: key, id: id, cert: leaf, chain: issuer.chain(), cfg: cfg}, nil
}

// KeySigner signs with priv (nil: a fresh ECDSA P-256 key), like cosign
// sign --key: material carries no certificate. Only ECDSA P-256 is
// supported, cosign's default key type.
func (s *Sigstore) KeySigner(priv crypto.Signer, opts ...SignerOption) (*Signer, error) {
	var cfg signerConfig
	for _, o := range opts {
		o(&cfg)
	}
	if priv == nil {
		k, err := newKey()
		if err != nil {
			return nil, err
		}
		priv = k
	}
	if pub, ok := priv.Public().(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("sigstoretest: KeySigner supports ECDSA P-256 keys only")
	}
	return &Signer{ss: s, key: priv, cfg: cfg}, nil
}

// Certificate is the leaf certificate, nil for a key signer.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

// Chain is the intermediate and root the leaf chains to, nil for a key signer.
func (s *Signer) Chain() []*x509.Certificate { return s.chain }

// Identity is the identity the certificate was issued for.
func (s *Signer) Identity() Identity { return s.id }

// PublicKey is the signing key's public half.
func (s *Signer) PublicKey() crypto.PublicKey { return s.key.Public() }

// PublicKeyPEM is the PKIX PEM of the public key, as a trust file pins it.
func (s *Signer) PublicKeyPEM() []byte {
	b, err := publicKeyPEM(s.key.Public())
	if err != nil {
		panic(err) // P-256 keys always marshal
	}
	return b
}

// KeyHint is the bundle publicKey hint: base64 sha256 of the PKIX key, as
// sigstore-go's keypair computes it.
func (s *Signer) KeyHint() string {
	der, err := x509.MarshalPKIXPublicKey(s.key.Public())
	if err != nil {
		panic(err)
	}
	h := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(h[:])
}

// sign is an ECDSA-SHA256 ASN.1 signature over msg.
func (s *Signer) sign(msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	sig, err := s.key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return sig, nil
}

// verifierPEM is what Rekor records as the verifier: the certificate, or the
// public key for key signers.
func (s *Signer) verifierPEM() []byte {
	if s.cert != nil {
		return CertPEM(s.cert)
	}
	return s.PublicKeyPEM()
}

func (s *Signer) now() time.Time {
	if !s.cfg.at.IsZero() {
		return s.cfg.at
	}
	return time.Now()
}

// TrustedMaterialWithKeys is the trusted root plus the given public keys,
// looked up by bundle hint: what verifying a key-signed bundle needs.
func (s *Sigstore) TrustedMaterialWithKeys(pubs ...crypto.PublicKey) (root.TrustedMaterial, error) {
	keys := map[string]*root.ExpiringKey{}
	for _, pub := range pubs {
		v, err := signature.LoadVerifier(pub, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("loading verifier: %w", err)
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, err
		}
		h := sha256.Sum256(der)
		keys[base64.StdEncoding.EncodeToString(h[:])] = root.NewExpiringKey(v, time.Time{}, time.Time{})
	}
	return root.TrustedMaterialCollection{s.TrustedRoot(), root.NewTrustedPublicKeyMaterialFromMapping(keys)}, nil
}
