// Package sigstoretest is a private, in-process Sigstore for unit tests: a
// Fulcio-like CA that issues certificates with the real GitHub and GitLab
// extension sets, a Rekor v1 log with signed entry timestamps and inclusion
// proofs, and an RFC 3161 timestamp authority.
//
// It exists because sigstore-go's VirtualSigstore only issues email-SAN
// certificates carrying the v1 issuer extension, while signet matches on the
// URI SAN and the v2 Fulcio extensions that CI tokens produce. Material made
// here verifies with sigstore-go against TrustedRoot, so tests of verify,
// sign and enforce exercise real cryptography without any network.
//
// It is test support code: keys are generated per Sigstore, kept in memory
// and never persisted. Do not use it outside tests.
package sigstoretest

import (
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// Sigstore is a self-contained set of Sigstore services. It is safe for
// concurrent use.
type Sigstore struct {
	epoch time.Time // start of every validity period in the trusted root

	fulcio    *ca // trusted: in the trusted root
	untrusted *ca // same shape, never in the trusted root
	tsa       *TSA
	rekor     *rekorLog
	ct        *ctLog

	fulcioURL, tsaURL, rekorURL, ctURL string
}

// Option configures New.
type Option func(*Sigstore)

// WithRekorURL sets the base URL recorded for the Rekor log in the trusted
// root (default https://rekor.sigstoretest.local).
func WithRekorURL(u string) Option { return func(s *Sigstore) { s.rekorURL = u } }

// WithFulcioURL sets the URI recorded for the CA in the trusted root
// (default https://fulcio.sigstoretest.local).
func WithFulcioURL(u string) Option { return func(s *Sigstore) { s.fulcioURL = u } }

// New generates fresh keys and certificates for every service. Everything is
// valid from 30 days ago to 30 days from now, so tests can sign "in the past"
// with WithSigningTime.
func New(opts ...Option) (*Sigstore, error) {
	s := &Sigstore{
		epoch:     time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Second),
		fulcioURL: "https://fulcio.sigstoretest.local",
		tsaURL:    "https://tsa.sigstoretest.local",
		rekorURL:  "https://rekor.sigstoretest.local",
		ctURL:     "https://ctfe.sigstoretest.local",
	}
	for _, o := range opts {
		o(s)
	}
	notAfter := s.epoch.Add(60 * 24 * time.Hour)
	var err error
	if s.fulcio, err = newCA("sigstoretest", s.epoch, notAfter); err != nil {
		return nil, fmt.Errorf("creating fulcio CA: %w", err)
	}
	if s.untrusted, err = newCA("untrusted", s.epoch, notAfter); err != nil {
		return nil, fmt.Errorf("creating untrusted CA: %w", err)
	}
	if s.tsa, err = NewTSA(s.epoch, notAfter); err != nil {
		return nil, fmt.Errorf("creating TSA: %w", err)
	}
	if s.rekor, err = newRekorLog(); err != nil {
		return nil, fmt.Errorf("creating rekor log: %w", err)
	}
	if s.ct, err = newCTLog(); err != nil {
		return nil, fmt.Errorf("creating CT log: %w", err)
	}
	return s, nil
}

// TrustedRootJSON is the trusted_root.json a trust file can point at: the CA
// chain, the TSA chain, the Rekor and CT log keys with their log IDs.
func (s *Sigstore) TrustedRootJSON() ([]byte, error) {
	tr, err := s.buildTrustedRoot()
	if err != nil {
		return nil, err
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("marshaling trusted root: %w", err)
	}
	return b, nil
}

// TrustedRoot is TrustedRootJSON parsed back by sigstore-go, so a test sees
// exactly what a verifier loading the file would see. It panics on error:
// the inputs are generated here and cannot be invalid.
func (s *Sigstore) TrustedRoot() *root.TrustedRoot {
	b, err := s.TrustedRootJSON()
	if err != nil {
		panic(err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		panic(fmt.Sprintf("sigstoretest: parsing own trusted root: %v", err))
	}
	return tr
}

func (s *Sigstore) buildTrustedRoot() (*root.TrustedRoot, error) {
	cas := []root.CertificateAuthority{&root.FulcioCertificateAuthority{
		Root:                s.fulcio.root,
		Intermediates:       []*x509.Certificate{s.fulcio.intermediate},
		ValidityPeriodStart: s.epoch,
		URI:                 s.fulcioURL,
	}}
	tsas := []root.TimestampingAuthority{&root.SigstoreTimestampingAuthority{
		Root:                s.tsa.root,
		Leaf:                s.tsa.leaf,
		ValidityPeriodStart: s.epoch,
		URI:                 s.tsaURL,
	}}
	rekor := transparencyLog(s.rekorURL, s.rekor.logID, &s.rekor.key.PublicKey, s.epoch)
	ct := transparencyLog(s.ctURL, s.ct.logID, &s.ct.key.PublicKey, s.epoch)
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas,
		map[string]*root.TransparencyLog{ct.hexID(): ct.TransparencyLog},
		tsas,
		map[string]*root.TransparencyLog{rekor.hexID(): rekor.TransparencyLog})
	if err != nil {
		return nil, fmt.Errorf("building trusted root: %w", err)
	}
	return tr, nil
}

type keyedLog struct{ *root.TransparencyLog }

func (l keyedLog) hexID() string { return fmt.Sprintf("%x", l.ID) }

func transparencyLog(url string, id []byte, pub *ecdsa.PublicKey, start time.Time) keyedLog {
	return keyedLog{&root.TransparencyLog{
		BaseURL:             url,
		ID:                  id,
		ValidityPeriodStart: start,
		HashFunc:            cryptoSHA256,
		PublicKey:           pub,
		SignatureHashFunc:   cryptoSHA256,
	}}
}

// RekorLogID is the hex log ID (sha256 of the PKIX log key) that entries carry.
func (s *Sigstore) RekorLogID() string { return fmt.Sprintf("%x", s.rekor.logID) }

// RekorPublicKey is the log's public key, for tests that check SETs directly.
func (s *Sigstore) RekorPublicKey() *ecdsa.PublicKey { return &s.rekor.key.PublicKey }

// FulcioRoot and FulcioIntermediate are the trusted CA certificates.
func (s *Sigstore) FulcioRoot() *x509.Certificate         { return s.fulcio.root }
func (s *Sigstore) FulcioIntermediate() *x509.Certificate { return s.fulcio.intermediate }

// RotatedTrustedRoot is the trusted_root.json of a fresh Sigstore: what a
// trusted root looks like after every key rotated.
func RotatedTrustedRoot() ([]byte, error) {
	s, err := New()
	if err != nil {
		return nil, err
	}
	return s.TrustedRootJSON()
}
