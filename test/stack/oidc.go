package stack

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// OIDC is an in-process HTTPS OpenID provider with two issuers on one server:
// GitHubIssuer (…/github) and GitLabIssuer (…/gitlab). HTTPS because signet's trust
// policy, like Fulcio's real config, only accepts https issuers.
type OIDC struct {
	URL          string // https://127.0.0.1:port
	GitHubIssuer string
	GitLabIssuer string
	CAFile       string // PEM of the CA that signed the serving certificate
	CAPEM        []byte

	srv  *httptest.Server
	keys map[string]*rsa.PrivateKey // issuer path -> key

	mu      sync.Mutex
	actions map[string]GitHubClaims // bearer -> claims served by the Actions token endpoint
}

func newOIDC(dir string) (*OIDC, error) {
	ca, err := newTestCA("signet test OIDC CA")
	if err != nil {
		return nil, err
	}
	tlsCfg, err := ca.tlsServerConfig()
	if err != nil {
		return nil, err
	}
	o := &OIDC{keys: map[string]*rsa.PrivateKey{}, actions: map[string]GitHubClaims{}, CAPEM: ca.PEM}
	for _, p := range []string{"github", "gitlab"} {
		if o.keys[p], err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	for p := range o.keys {
		mux.HandleFunc("GET /"+p+"/.well-known/openid-configuration", o.discovery(p))
		mux.HandleFunc("GET /"+p+"/.well-known/jwks", o.jwks(p))
	}
	mux.HandleFunc("GET /github/actions/idtoken", o.actionsToken)
	o.srv = httptest.NewUnstartedServer(mux)
	o.srv.TLS = tlsCfg
	o.srv.StartTLS()
	o.URL = o.srv.URL
	o.GitHubIssuer, o.GitLabIssuer = o.URL+"/github", o.URL+"/gitlab"
	o.CAFile = filepath.Join(dir, "oidc-ca.pem")
	if err := os.WriteFile(o.CAFile, ca.PEM, 0o644); err != nil {
		o.Close()
		return nil, err
	}
	return o, nil
}

// Close stops the server.
func (o *OIDC) Close() { o.srv.Close() }

// Client trusts the issuer's CA.
func (o *OIDC) Client() *http.Client { return o.srv.Client() }

func (o *OIDC) discovery(p string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		iss := o.URL + "/" + p
		writeJSON(w, map[string]any{
			"issuer":                                iss,
			"jwks_uri":                              iss + "/.well-known/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public", "pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"scopes_supported":                      []string{"openid"},
		})
	}
}

func (o *OIDC) jwks(p string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k := o.keys[p]
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: p + "-1", Algorithm: "RS256", Use: "sig"}}})
	}
}

// MintGitHub signs a GitHub Actions shaped token; zero fields get defaults.
func (o *OIDC) MintGitHub(c GitHubClaims) (string, error) {
	c = c.Defaults()
	if c.Issuer == "" {
		c.Issuer = o.GitHubIssuer
	}
	return o.mint("github", c, c.Issuer, c.Audience, c.TTL)
}

// MintGitLab signs a GitLab CI shaped token; zero fields get defaults.
func (o *OIDC) MintGitLab(c GitLabClaims) (string, error) {
	c = c.Defaults()
	if c.Issuer == "" {
		c.Issuer = o.GitLabIssuer
	}
	return o.mint("gitlab", c, c.Issuer, c.Audience, c.TTL)
}

func (o *OIDC) mint(p string, private any, iss, aud string, ttl time.Duration) (string, error) {
	if ttl == 0 {
		ttl = 10 * time.Minute
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: o.keys[p]},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p+"-1"))
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	now := time.Now()
	std := jwt.Claims{
		Issuer: iss, Audience: jwt.Audience{aud}, ID: hex.EncodeToString(jti),
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
		Expiry: jwt.NewNumericDate(now.Add(ttl)),
	}
	return jwt.Signed(signer).Claims(std).Claims(private).Serialize()
}

// ActionsTokenEndpoint registers claims and returns the values GitHub Actions puts in
// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN. A client GETs the URL
// with `&audience=sigstore` and `Authorization: bearer <token>` and receives {"value": jwt}.
func (o *OIDC) ActionsTokenEndpoint(c GitHubClaims) (requestURL, requestToken string) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	requestToken = hex.EncodeToString(b)
	o.mu.Lock()
	o.actions[requestToken] = c
	o.mu.Unlock()
	return o.URL + "/github/actions/idtoken?api-version=2.0", requestToken
}

// ActionsEnv is ActionsTokenEndpoint as environment variables.
func (o *OIDC) ActionsEnv(c GitHubClaims) []string {
	u, tok := o.ActionsTokenEndpoint(c)
	return []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + u, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + tok}
}

func (o *OIDC) actionsToken(w http.ResponseWriter, r *http.Request) {
	var bearer string
	if _, err := fmt.Sscanf(r.Header.Get("Authorization"), "bearer %s", &bearer); err != nil {
		_, _ = fmt.Sscanf(r.Header.Get("Authorization"), "Bearer %s", &bearer)
	}
	o.mu.Lock()
	c, ok := o.actions[bearer]
	o.mu.Unlock()
	if !ok {
		http.Error(w, "bad bearer token", http.StatusUnauthorized)
		return
	}
	if aud := r.URL.Query().Get("audience"); aud != "" {
		c.Audience = aud
	}
	tok, err := o.MintGitHub(c)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]string{"value": tok})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
