package stack

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// RequestCertificate asks Fulcio for a code-signing certificate for signer's public
// key, proving possession by signing the token's subject (Fulcio's challenge for CI
// issuers). It returns the chain, leaf first.
func (f *Fulcio) RequestCertificate(ctx context.Context, idToken string, signer crypto.Signer) ([]*x509.Certificate, error) {
	sub, err := tokenSubject(idToken)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte(sub))
	pop, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(signer.Public())
	if err != nil {
		return nil, err
	}
	reqBody, err := json.Marshal(map[string]any{
		"credentials": map[string]string{"oidcIdentityToken": idToken},
		"publicKeyRequest": map[string]any{
			"publicKey":         map[string]string{"content": string(pubPEM)},
			"proofOfPossession": base64.StdEncoding.EncodeToString(pop),
		},
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL+"/api/v2/signingCert", bytes.NewReader(reqBody))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("fulcio signingCert: %s: %s", resp.Status, body)
	}
	type chain struct {
		Chain struct{ Certificates []string } `json:"chain"`
	}
	var out struct {
		Detached *chain `json:"signedCertificateDetachedSct"`
		Embedded *chain `json:"signedCertificateEmbeddedSct"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decoding fulcio response: %w", err)
	}
	c := out.Embedded
	if c == nil {
		c = out.Detached
	}
	if c == nil {
		return nil, fmt.Errorf("fulcio response has no chain: %s", body)
	}
	return cryptoutils.UnmarshalCertificatesFromPEM([]byte(strings.Join(c.Chain.Certificates, "\n")))
}

// tokenSubject reads the unverified sub claim; Fulcio verifies the token itself.
func tokenSubject(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct{ Sub string }
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", err
	}
	return c.Sub, nil
}
