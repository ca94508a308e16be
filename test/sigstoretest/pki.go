package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

const cryptoSHA256 = crypto.SHA256

// ca is a Fulcio-shaped two-level CA: a self-signed root and an intermediate
// with the code-signing EKU that issues the leaf certificates.
type ca struct {
	root, intermediate *x509.Certificate
	intermediateKey    *ecdsa.PrivateKey
}

func newCA(name string, notBefore, notAfter time.Time) (*ca, error) {
	root, rootKey, err := newRoot(pkix.Name{CommonName: name, Organization: []string{name + ".dev"}}, notBefore, notAfter)
	if err != nil {
		return nil, fmt.Errorf("issuing root: %w", err)
	}
	interKey, err := newKey()
	if err != nil {
		return nil, err
	}
	inter, err := issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: name + "-intermediate", Organization: []string{name + ".dev"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}, root, &interKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("issuing intermediate: %w", err)
	}
	return &ca{root: root, intermediate: inter, intermediateKey: interKey}, nil
}

// newRoot issues a self-signed CA certificate for subject and its key: the
// root of the Fulcio CA and of the TSA.
func newRoot(subject pkix.Name, notBefore, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	root, err := issue(&x509.Certificate{
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return root, key, nil
}

// chain is the intermediate then the root, the order cosign's chain
// annotation and a bundle's x509CertificateChain use.
func (c *ca) chain() []*x509.Certificate { return []*x509.Certificate{c.intermediate, c.root} }

// leafTemplate is what Fulcio issues for a CI identity: no subject, a URI SAN
// (critical because the subject is empty), digitalSignature + codeSigning,
// and the identity's Fulcio extensions.
func leafTemplate(id Identity, pub crypto.PublicKey, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	san, err := parseURI(id.SAN)
	if err != nil {
		return nil, err
	}
	exts, err := id.render()
	if err != nil {
		return nil, err
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshaling leaf key: %w", err)
	}
	skid := sha256.Sum256(pkix)
	return &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       notBefore,
		NotAfter:        notAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		SubjectKeyId:    skid[:20],
		URIs:            san,
		ExtraExtensions: exts,
	}, nil
}

func issue(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	if tmpl.SerialNumber == nil {
		s, err := randSerial()
		if err != nil {
			return nil, err
		}
		tmpl.SerialNumber = s
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	return k, nil
}

func randSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		return nil, fmt.Errorf("generating serial: %w", err)
	}
	return s, nil
}

// newLogKey makes a log's signing key and its ID, as Rekor and CT identify
// a log: sha256 of the PKIX public key.
func newLogKey() (*ecdsa.PrivateKey, []byte, error) {
	k, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("marshaling log key: %w", err)
	}
	h := sha256.Sum256(der)
	return k, h[:], nil
}

// CertPEM encodes certificates as PEM blocks, in order: a chain
// annotation, a trust store's roots.
func CertPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func publicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshaling public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// oidExtKeyUsage is marked critical on the TSA leaf, as RFC 3161 requires
// and sigstore's timestamp verification checks.
var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
