package sigstoretest

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// FulcioHandler serves Fulcio's v2 signingCert API: it certifies the
// requested public key for identity(token) with this Sigstore's trusted CA
// (with an embedded SCT), and answers with the chain, leaf first. The token
// is not verified; identity maps it to the certificate's identity, as a
// real Fulcio maps verified claims. Proof of possession is not checked.
func (s *Sigstore) FulcioHandler(identity func(token string) (Identity, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var req struct {
			Credentials struct {
				OIDCIdentityToken string `json:"oidcIdentityToken"`
			} `json:"credentials"`
			PublicKeyRequest struct {
				PublicKey struct {
					Content string `json:"content"`
				} `json:"publicKey"`
			} `json:"publicKeyRequest"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
		if err != nil {
			http.Error(w, "bad public key: "+err.Error(), http.StatusBadRequest)
			return
		}
		id, err := identity(req.Credentials.OIDCIdentityToken)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		pemChain, err := s.issueFor(id, pub)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var resp struct {
			SignedCertificateEmbeddedSct struct {
				Chain struct {
					Certificates []string `json:"certificates"`
				} `json:"chain"`
			} `json:"signedCertificateEmbeddedSct"`
		}
		resp.SignedCertificateEmbeddedSct.Chain.Certificates = pemChain
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(resp)
	})
}

// issueFor issues a ten-minute leaf for pub with an embedded SCT and
// returns leaf, intermediate and root as PEM strings.
func (s *Sigstore) issueFor(id Identity, pub crypto.PublicKey) ([]string, error) {
	notBefore := time.Now().Truncate(time.Second)
	tmpl, err := leafTemplate(id, pub, notBefore, notBefore.Add(10*time.Minute))
	if err != nil {
		return nil, err
	}
	pre, err := issue(tmpl, s.fulcio.intermediate, pub, s.fulcio.intermediateKey)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate for %s: %w", id.SAN, err)
	}
	ext, err := s.ct.sctExtension(pre.RawTBSCertificate, s.fulcio.intermediate, notBefore)
	if err != nil {
		return nil, err
	}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
	leaf, err := issue(tmpl, s.fulcio.intermediate, pub, s.fulcio.intermediateKey)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate for %s: %w", id.SAN, err)
	}
	var out []string
	for _, c := range append([]*x509.Certificate{leaf}, s.fulcio.chain()...) {
		out = append(out, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	return out, nil
}

// TSAHandler serves RFC 3161 timestamp requests (application/timestamp-query)
// signed by this Sigstore's trusted TSA.
func (s *Sigstore) TSAHandler() http.Handler { return s.tsa.Handler(time.Now) }
