package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"

	"github.com/digitorus/timestamp"
)

// tsa is an RFC 3161 timestamp authority: a root and a leaf carrying the
// critical timeStamping EKU, the shape sigstore's timestamp-authority serves.
type tsa struct {
	root, leaf *x509.Certificate
	leafKey    *ecdsa.PrivateKey
}

func newTSA(notBefore, notAfter time.Time) (*tsa, error) {
	rootKey, err := newKey()
	if err != nil {
		return nil, err
	}
	root, err := issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "sigstoretest-tsa", Organization: []string{"sigstoretest.dev"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("issuing TSA root: %w", err)
	}
	leafKey, err := newKey()
	if err != nil {
		return nil, err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, err
	}
	leaf, err := issue(&x509.Certificate{
		Subject:         pkix.Name{CommonName: "sigstoretest-tsa-leaf", Organization: []string{"sigstoretest.dev"}},
		NotBefore:       notBefore,
		NotAfter:        notAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}},
	}, root, &leafKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("issuing TSA leaf: %w", err)
	}
	return &tsa{root: root, leaf: leaf, leafKey: leafKey}, nil
}

// stamp returns a DER TimeStampResp over data (sha256 message imprint) at t,
// embedding the signing certificate as timestamp-authority does.
func (a *tsa) stamp(data []byte, t time.Time) ([]byte, error) {
	h := sha256.Sum256(data)
	ts := timestamp.Timestamp{
		HashAlgorithm:     crypto.SHA256,
		HashedMessage:     h[:],
		Time:              t,
		Policy:            asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2},
		AddTSACertificate: true,
	}
	der, err := ts.CreateResponseWithOpts(a.leaf, a.leafKey, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("creating timestamp response: %w", err)
	}
	return der, nil
}
