package sign

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/oauthflow"
)

// Fulcio requests one code-signing certificate per run from Fulcio's v2
// signingCert API and hands the same certificate to every bundle of the
// run. It is signet's own client, not sigstore-go's sign.Fulcio, because
// the legacy .sig layer also needs the issuing chain (cosign's chain
// annotation), which sigstore-go's client drops.
type Fulcio struct {
	URL    string
	Token  string
	Client *http.Client

	once  sync.Once
	leaf  []byte // DER
	chain [][]byte
	err   error
}

var _ sgsign.CertificateProvider = (*Fulcio)(nil)

// GetCertificate returns the run's certificate, requesting it on first use.
func (f *Fulcio) GetCertificate(ctx context.Context, kp sgsign.Keypair, _ *sgsign.CertificateProviderOptions) ([]byte, error) {
	f.once.Do(func() { f.leaf, f.chain, f.err = f.request(ctx, kp) })
	return f.leaf, f.err
}

// Chain returns the intermediates and root Fulcio returned, DER, leaf excluded.
func (f *Fulcio) Chain() [][]byte { return f.chain }

type fulcioRequest struct {
	Credentials struct {
		OIDCIdentityToken string `json:"oidcIdentityToken"`
	} `json:"credentials"`
	PublicKeyRequest struct {
		PublicKey struct {
			Algorithm string `json:"algorithm"`
			Content   string `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession string `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
}

type fulcioChain struct {
	Chain struct {
		Certificates []string `json:"certificates"`
	} `json:"chain"`
}

type fulcioResponse struct {
	Embedded *fulcioChain `json:"signedCertificateEmbeddedSct"`
	Detached *fulcioChain `json:"signedCertificateDetachedSct"`
}

func (f *Fulcio) request(ctx context.Context, kp sgsign.Keypair) ([]byte, [][]byte, error) {
	if f.Token == "" {
		return nil, nil, errors.New("requesting a Fulcio certificate needs an OIDC identity token")
	}
	parts := strings.Split(f.Token, ".")
	if len(parts) < 2 {
		return nil, nil, errors.New("the OIDC identity token is not a JWT")
	}
	claims, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, nil, fmt.Errorf("decoding OIDC token claims: %w", err)
	}
	subject, err := oauthflow.SubjectFromUnverifiedToken(claims)
	if err != nil {
		return nil, nil, fmt.Errorf("reading OIDC token subject: %w", err)
	}
	pop, _, err := kp.SignData(ctx, []byte(subject))
	if err != nil {
		return nil, nil, fmt.Errorf("signing proof of possession: %w", err)
	}
	pubPEM, err := kp.GetPublicKeyPem()
	if err != nil {
		return nil, nil, err
	}
	var req fulcioRequest
	req.Credentials.OIDCIdentityToken = f.Token
	req.PublicKeyRequest.PublicKey.Algorithm = kp.GetKeyAlgorithm()
	req.PublicKeyRequest.PublicKey.Content = pubPEM
	req.PublicKeyRequest.ProofOfPossession = base64.StdEncoding.EncodeToString(pop)
	body, _ := json.Marshal(req)
	url := strings.TrimSuffix(f.URL, "/") + "/api/v2/signingCert"
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, nil, fmt.Errorf("requesting certificate from %s: %w", f.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("reading Fulcio response: %w", err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, nil, fmt.Errorf("Fulcio %s refused the certificate request: %s: %s", f.URL, resp.Status, strings.TrimSpace(string(data)))
	}
	return parseFulcioResponse(data)
}

func parseFulcioResponse(data []byte) ([]byte, [][]byte, error) {
	var fr fulcioResponse
	if err := json.Unmarshal(data, &fr); err != nil {
		return nil, nil, fmt.Errorf("parsing Fulcio response: %w", err)
	}
	c := fr.Embedded
	if c == nil {
		c = fr.Detached
	}
	if c == nil || len(c.Chain.Certificates) == 0 {
		return nil, nil, errors.New("Fulcio response has no certificate chain")
	}
	var ders [][]byte
	for _, p := range c.Chain.Certificates {
		b, _ := pem.Decode([]byte(p))
		if b == nil || b.Type != "CERTIFICATE" {
			return nil, nil, errors.New("Fulcio response holds a malformed certificate")
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return nil, nil, fmt.Errorf("Fulcio response: %w", err)
		}
		ders = append(ders, b.Bytes)
	}
	return ders[0], ders[1:], nil
}
