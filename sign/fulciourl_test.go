package sign

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestTheOIDCTokenGoesOnlyToFulcio: a Fulcio that redirects the
// certificate request to another host does not get the token forwarded
// there (Go re-sends a 307's body), and a Fulcio URL that would carry the
// token in clear over a network is refused before anything is sent.
func TestTheOIDCTokenGoesOnlyToFulcio(t *testing.T) {
	tok := token(githubClaims("acme/app", "refs/heads/main"))
	var leaked atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, _ := io.ReadAll(r.Body); bytes.Contains(b, []byte(tok)) {
			leaked.Add(1)
		}
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer elsewhere.Close()
	fulcio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer fulcio.Close()
	s, err := NewSession(Config{IDToken: tok, FulcioURL: fulcio.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.fulcio.GetCertificate(context.Background(), s.keypair, nil)
	if err == nil || !strings.Contains(err.Error(), "is not sent to another host") {
		t.Errorf("a redirect to another host: %v", err)
	}
	if n := leaked.Load(); n != 0 {
		t.Errorf("the token was posted to the redirect target %d times", n)
	}

	for _, u := range []string{"http://fulcio.example.com", "http://10.0.0.1:5555", "ftp://fulcio.example.com", "fulcio.example.com"} {
		if _, err := NewSession(Config{IDToken: tok, FulcioURL: u}); err == nil {
			t.Errorf("Fulcio URL %q accepted for the OIDC token", u)
		}
	}
	for _, u := range []string{"https://fulcio.sigstore.dev", "http://127.0.0.1:5555", "http://localhost:5555", "http://[::1]:5555"} {
		if _, err := NewSession(Config{IDToken: tok, FulcioURL: u}); err != nil {
			t.Errorf("Fulcio URL %q refused: %v", u, err)
		}
	}
}
