package enforce

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

// TestServingCertificateIsValidForTheServiceOnly: the certificate verifies
// under its CA for each name the apiserver may dial the webhook Service by,
// for server authentication, and for no other name or use; its key pairs
// with it; nonsense names are refused.
func TestServingCertificateIsValidForTheServiceOnly(t *testing.T) {
	now := time.Now()
	sc, err := NewServingCertificate("signet", "signet-system", 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(sc.Cert, sc.Key); err != nil {
		t.Fatalf("tls.crt and tls.key do not pair: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(sc.CA) {
		t.Fatal("ca.crt holds no certificate")
	}
	block, _ := pem.Decode(sc.Cert)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(name string, usage x509.ExtKeyUsage, at time.Time) error {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{usage}})
		return err
	}
	for _, name := range []string{"signet", "signet.signet-system", "signet.signet-system.svc", "signet.signet-system.svc.cluster.local"} {
		if err := verify(name, x509.ExtKeyUsageServerAuth, now); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, err := range map[string]error{
		"another service":    verify("other.signet-system.svc", x509.ExtKeyUsageServerAuth, now),
		"client auth":        verify("signet.signet-system.svc", x509.ExtKeyUsageClientAuth, now),
		"after its validity": verify("signet.signet-system.svc", x509.ExtKeyUsageServerAuth, now.Add(25*time.Hour)),
		"another namespace":  verify("signet.default.svc", x509.ExtKeyUsageServerAuth, now),
	} {
		if err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	for _, bad := range [][2]string{{"Signet_", "ns"}, {"signet", ""}, {"signet", "a.b"}} {
		if _, err := NewServingCertificate(bad[0], bad[1], time.Hour, now); err == nil || !strings.Contains(err.Error(), "service") && !strings.Contains(err.Error(), "namespace") {
			t.Errorf("service %q namespace %q: %v, want a refusal naming the field", bad[0], bad[1], err)
		}
	}
}
