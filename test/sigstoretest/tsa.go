package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
)

// TSA is an RFC 3161 timestamp authority: a root and a leaf carrying the
// critical timeStamping EKU, the shape sigstore's timestamp-authority serves.
type TSA struct {
	root, leaf *x509.Certificate
	leafKey    *ecdsa.PrivateKey
	// IncludeChain puts the root in every timestamp too (with
	// --include-chain-in-response, timestamp-authority does), as Notary
	// Project verifiers need: their trust store holds the root only.
	IncludeChain bool
}

// NewTSA issues a TSA's root and leaf, valid from notBefore to notAfter.
func NewTSA(notBefore, notAfter time.Time) (*TSA, error) {
	root, rootKey, err := newRoot(pkix.Name{CommonName: "sigstoretest-tsa", Organization: []string{"sigstoretest.dev"}}, notBefore, notAfter)
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
	return &TSA{root: root, leaf: leaf, leafKey: leafKey}, nil
}

// stamp returns a DER TimeStampResp over data (sha256 message imprint) at t,
// embedding the signing certificate as timestamp-authority does.
func (a *TSA) stamp(data []byte, t time.Time) ([]byte, error) {
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

// Root is the TSA's root certificate, what verifiers trust.
func (a *TSA) Root() *x509.Certificate { return a.root }

// Handler serves RFC 3161 timestamp requests (application/timestamp-query),
// stamping the times clock returns.
func (a *TSA) Handler(clock func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			http.Error(w, "bad timestamp request: "+err.Error(), http.StatusBadRequest)
			return
		}
		ts := timestamp.Timestamp{
			HashAlgorithm:     req.HashAlgorithm,
			HashedMessage:     req.HashedMessage,
			Time:              clock(),
			Nonce:             req.Nonce,
			Policy:            req.TSAPolicyOID,
			AddTSACertificate: req.Certificates,
		}
		if ts.Policy == nil {
			ts.Policy = []int{1, 3, 6, 1, 4, 1, 57264, 2}
		}
		if a.IncludeChain && req.Certificates {
			ts.Certificates = []*x509.Certificate{a.root}
		}
		der, err := ts.CreateResponseWithOpts(a.leaf, a.leafKey, crypto.SHA256)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(der)
	})
}
