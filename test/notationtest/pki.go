// Package notationtest builds, for tests, what a Notary Project (Notation)
// signer and verifier meet in the world: a certificate authority (root,
// intermediate, leaves with the code-signing EKU), an OCSP responder and a
// CRL distribution point on loopback that know which leaves are revoked
// and can be taken down, an RFC 3161 timestamp authority with a settable
// clock, and envelopes (JWS or COSE) signed with notation-core-go, the
// library the notation CLI signs with.
package notationtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/signet-dev/signet/test/sigstoretest"
)

// CA is a two-level certificate authority, as enterprise PKIs and the
// Notary Project's examples are: a self-signed root and an intermediate
// that issues code-signing leaves. Its revocation service (OCSP and CRL)
// runs on loopback while the test does.
type CA struct {
	Root, Intermediate *x509.Certificate
	rootKey, interKey  *ecdsa.PrivateKey
	Revocation         *Revocation
}

// Leaf is a signing certificate, its key and its chain (leaf,
// intermediate, root: the order a Notary Project envelope carries).
type Leaf struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate
}

// Subject is the DN leaves get unless a test names another.
var Subject = pkix.Name{Country: []string{"US"}, Province: []string{"WA"}, Locality: []string{"Seattle"},
	Organization: []string{"Acme"}, CommonName: "release"}

// SubjectDN is Subject as a trust file pins it.
const SubjectDN = "CN=release,O=Acme,L=Seattle,ST=WA,C=US"

// NewCA issues a root and an intermediate valid from a day ago for ten
// years, and starts their revocation service.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	now := time.Now()
	rootKey, interKey := newKey(t), newKey(t)
	c := &CA{rootKey: rootKey, interKey: interKey}
	c.Root = issue(t, &x509.Certificate{
		Subject:   pkix.Name{Country: []string{"US"}, Organization: []string{name}, CommonName: name + " root"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		IsCA:     true, BasicConstraintsValid: true,
	}, nil, rootKey, rootKey)
	c.Intermediate = issue(t, &x509.Certificate{
		Subject:   pkix.Name{Country: []string{"US"}, Organization: []string{name}, CommonName: name + " intermediate"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		IsCA:     true, BasicConstraintsValid: true, MaxPathLenZero: true,
	}, c.Root, interKey, rootKey)
	c.Revocation = newRevocation(t, c)
	return c
}

// LeafOption changes a leaf before it is issued.
type LeafOption func(*x509.Certificate)

// WithSubject issues the leaf for another DN.
func WithSubject(n pkix.Name) LeafOption { return func(c *x509.Certificate) { c.Subject = n } }

// ValidBetween sets the leaf's validity window (an expired leaf: both in
// the past).
func ValidBetween(notBefore, notAfter time.Time) LeafOption {
	return func(c *x509.Certificate) { c.NotBefore, c.NotAfter = notBefore, notAfter }
}

// WithoutRevocationInfo issues a leaf naming neither an OCSP responder nor
// a CRL distribution point.
func WithoutRevocationInfo() LeafOption {
	return func(c *x509.Certificate) { c.OCSPServer, c.CRLDistributionPoints = nil, nil }
}

// OnlyCRL issues a leaf naming a CRL distribution point and no OCSP
// responder.
func OnlyCRL() LeafOption { return func(c *x509.Certificate) { c.OCSPServer = nil } }

// Leaf issues a code-signing leaf (valid from an hour ago for a day,
// naming the CA's OCSP responder and CRL).
func (c *CA) Leaf(t testing.TB, opts ...LeafOption) *Leaf {
	t.Helper()
	now := time.Now()
	key := newKey(t)
	tmpl := &x509.Certificate{
		Subject:   Subject,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		OCSPServer:            []string{c.Revocation.OCSPURL},
		CRLDistributionPoints: []string{c.Revocation.CRLURL},
	}
	for _, o := range opts {
		o(tmpl)
	}
	cert := issue(t, tmpl, c.Intermediate, key, c.interKey)
	return &Leaf{Cert: cert, Key: key, Chain: []*x509.Certificate{cert, c.Intermediate, c.Root}}
}

// RootPEM is the root as a trust file or trust store holds it.
func (c *CA) RootPEM() []byte { return PEM(c.Root) }

// PEM encodes certificates (sigstoretest.CertPEM).
func PEM(certs ...*x509.Certificate) []byte { return sigstoretest.CertPEM(certs...) }

// KeyPEM encodes a leaf's private key as PKCS#8, the form notation writes.
func (l *Leaf) KeyPEM(t testing.TB) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(l.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Thumbprints are the chain's SHA-256 fingerprints, leaf first.
func (l *Leaf) Thumbprints() []string {
	out := make([]string, len(l.Chain))
	for i, c := range l.Chain {
		sum := sha256.Sum256(c.Raw)
		out[i] = hex.EncodeToString(sum[:])
	}
	return out
}

var (
	serialMu sync.Mutex
	serial   int64 = time.Now().UnixNano()
)

func nextSerial() *big.Int {
	serialMu.Lock()
	defer serialMu.Unlock()
	serial++
	return big.NewInt(serial)
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue signs tmpl with signerKey under parent (self-signed when nil).
func issue(t testing.TB, tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, signerKey *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl.SerialNumber = nextSerial()
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
