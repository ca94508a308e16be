package notationtest

import (
	"context"
	"crypto/x509"
	"testing"

	"github.com/notaryproject/notation-go"
	notationregistry "github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"oras.land/oras-go/v2/registry/remote"
)

// notation-go's top-level notation.Sign and notation.Verify are what the
// notation CLI calls: the in-process arbiter of signet's Notation support
// (the CLI itself, test/stack's ToolNotation, is the end-to-end one).
// These helpers reach a test registry and a test trust store the way the
// CLI reaches real ones.

// Repository is a plain-HTTP registry repository ("host:port/repo") as
// notation-go reaches it.
func Repository(t testing.TB, repo string) notationregistry.Repository {
	t.Helper()
	r, err := remote.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	return notationregistry.NewRepository(r)
}

// TrustStore is a notation trust store in memory: certificates by store
// type and name.
type TrustStore map[truststore.Type]map[string][]*x509.Certificate

// GetCertificates is notation-go's truststore.X509TrustStore.
func (s TrustStore) GetCertificates(_ context.Context, t truststore.Type, name string) ([]*x509.Certificate, error) {
	return s[t][name], nil
}

// NotationVerify runs notation.Verify on a digest reference under doc and
// store, as `notation verify` does, and returns its error.
func NotationVerify(t testing.TB, doc *trustpolicy.Document, store TrustStore, repo, digestRef string) error {
	t.Helper()
	v, err := verifier.New(doc, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = notation.Verify(context.Background(), v, Repository(t, repo), notation.VerifyOptions{ArtifactReference: digestRef, MaxSignatureAttempts: 10})
	return err
}
