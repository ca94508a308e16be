package enforce

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// ServingCertificate is a private CA and a webhook serving certificate it
// signed, PEM: what the Helm chart's tls.existingSecret (tls.crt, tls.key)
// and tls.caBundle (CA) take. Made once and kept, it lets GitOps tools
// render the chart identically every time; the chart's own generated mode
// makes a new CA on every `helm template`.
type ServingCertificate struct {
	CA, Cert, Key []byte
}

// NewServingCertificate makes a CA and a certificate for the names the
// apiserver dials a webhook Service by (<service>.<namespace>.svc and its
// shorter and longer forms), both valid from now for validity. Keys are
// ECDSA P-256; the CA's key is not returned: nothing can be signed with it
// later, so renewing means a new CA (and a new tls.caBundle).
func NewServingCertificate(service, namespace string, validity time.Duration, now time.Time) (*ServingCertificate, error) {
	for what, name := range map[string]string{"service": service, "namespace": namespace} {
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			return nil, fmt.Errorf("%s %q: %s", what, name, errs[0])
		}
	}
	if validity <= 0 {
		return nil, errors.New("validity must be positive")
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	start, end := now.Add(-5*time.Minute), now.Add(validity)
	caTmpl := &x509.Certificate{
		SerialNumber: serialNumber(), Subject: pkix.Name{CommonName: service + "-ca"},
		NotBefore: start, NotAfter: end, IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	dns := service + "." + namespace + ".svc"
	leaf := &x509.Certificate{
		SerialNumber: serialNumber(), Subject: pkix.Name{CommonName: dns},
		DNSNames:  []string{service, service + "." + namespace, dns, dns + ".cluster.local"},
		NotBefore: start, NotAfter: end,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	ca, _ := x509.ParseCertificate(caDER)
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, key.Public(), caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &ServingCertificate{
		CA:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

func serialNumber() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
