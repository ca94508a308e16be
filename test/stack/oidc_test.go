package stack_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/signet-dev/signet/test/stack"
)

// The Actions token endpoint must behave like GitHub's: bearer-authenticated, audience
// from the query, JSON {"value": jwt}, and the token must be one Fulcio accepts.
func TestActionsTokenEndpoint(t *testing.T) {
	s := sharedStack(t)
	url, bearer := s.OIDC.ActionsTokenEndpoint(stack.GitHubClaims{Repository: "acme/other", Environment: "prod"})

	get := func(auth string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, url+"&audience=sigstore", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", "bearer "+auth)
		}
		resp, err := s.OIDC.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := get("wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong bearer: %s, want 401", resp.Status)
	}
	resp := get(bearer)
	defer resp.Body.Close()
	var body struct{ Value string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Value == "" {
		t.Fatalf("decoding token response (%s): %v", resp.Status, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := s.Fulcio.RequestCertificate(context.Background(), body.Value, key)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := certificate.SummarizeCertificate(chain[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://github.com/acme/other/.github/workflows/release.yml@refs/heads/main"; sum.SubjectAlternativeName != want {
		t.Errorf("SAN = %q, want %q", sum.SubjectAlternativeName, want)
	}
	// sigstore-go v1.3.0 does not summarise Deployment Environment (OID 1.3.6.1.4.1.57264.1.23).
	var env string
	for _, ext := range chain[0].Extensions {
		if ext.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 23}) {
			if _, err := asn1.Unmarshal(ext.Value, &env); err != nil {
				t.Fatal(err)
			}
		}
	}
	if env != "prod" {
		t.Errorf("deployment environment = %q, want prod", env)
	}
}

// Fulcio must refuse a token from an issuer it does not trust, or the identity
// tests above would pass for any token.
func TestFulcioRejectsUnknownIssuer(t *testing.T) {
	s := sharedStack(t)
	tok, err := s.OIDC.MintGitHub(stack.GitHubClaims{Issuer: "https://token.actions.githubusercontent.com"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fulcio.RequestCertificate(context.Background(), tok, key); err == nil {
		t.Fatal("fulcio issued a certificate for a token signed by the wrong issuer")
	}
}
