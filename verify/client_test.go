package verify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// signAndAttest attaches a key signature and a SLSA v1 attestation to d in
// layout: the benchmark's work.
func signAndAttest(w *testworld.World, d name.Digest, layout ocisig.Layout) {
	s := w.KeySigner(nil)
	w.Sign(d, d, s, layout)
	w.Attest(d, d, s, layout, policy.SLSAProvenanceV1, sigstoretest.SLSAv1GitHub(sigstoretest.GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main")))
}

// tlsVerifier is a Verifier whose registry transport trusts w's registry.
func tlsVerifier(w *testworld.World, opts ...verify.Option) *verify.Verifier {
	base := regclient.HTTPTransport()
	base.TLSClientConfig = w.TLSClientConfig()
	return verify.New(append([]verify.Option{verify.WithRegistry(regclient.New(regclient.WithBase(base)))}, opts...)...)
}

// TestColdVerificationAtTheFloor: through a registry that counts requests
// by kind and TCP accepts, a cold verification of a key-signed, SLSA-attested
// image makes exactly the requests the layout needs (one ping, the tag, the
// two legacy tags and their blobs, the referrers listing, and the bundles'
// manifests and blobs) over one HTTP/2 connection; verifying another
// repository of the same registry later pings no more and opens no other
// connection.
func TestColdVerificationAtTheFloor(t *testing.T) {
	floor := map[ocisig.Layout]map[string]int{
		ocisig.LayoutLegacy: {testworld.KindPing: 1, testworld.KindManifest: 3, testworld.KindBlob: 2, testworld.KindReferrers: 1},
		ocisig.LayoutBundle: {testworld.KindPing: 1, testworld.KindManifest: 5, testworld.KindBlob: 2, testworld.KindReferrers: 1},
	}
	for _, layout := range testworld.Layouts {
		t.Run(string(layout), func(t *testing.T) {
			c := &testworld.Counter{}
			w := testworld.New(t, testworld.Options{Policy: testworld.KeyProvenancePolicy, Counter: c, TLS: true})
			for _, repo := range []string{"acme/app", "acme/other"} {
				signAndAttest(w, w.Push(repo+":1"), layout)
			}
			p, err := policy.LoadFile(w.PolicyPath)
			if err != nil {
				t.Fatal(err)
			}
			v := tlsVerifier(w)
			c.Reset()
			if d := v.Verify(context.Background(), w.Ref("acme/app:1"), p); !d.Allowed {
				t.Fatalf("denied: %v", d.Messages())
			}
			if got := c.Counts(); !maps.Equal(got, floor[layout]) || c.Conns() != 1 {
				t.Fatalf("cold verification: %v over %d connections, want %v over 1", got, c.Conns(), floor[layout])
			}
			if d := v.Verify(context.Background(), w.Ref("acme/other:1"), p); !d.Allowed {
				t.Fatalf("denied: %v", d.Messages())
			}
			if n := c.Requests(testworld.KindPing); n != 1 || c.Conns() != 1 {
				t.Fatalf("after a second repository: %d pings over %d connections, want 1 over 1", n, c.Conns())
			}
		})
	}
}

// tokenRegistry puts docker token authentication in front of a world's
// registry: GET /v2/ answers a Bearer challenge whose realm is /token on
// the same host; /token grants "tok-<host>-<user>-<scope>" for the scopes
// asked (user "" is anonymous, refused for repositories under
// acme/private/); every other request needs a token for its repository.
// It records each Authorization header it receives and counts tokens.
type tokenRegistry struct {
	host  string // set once the world is up
	users map[string]string

	mu      sync.Mutex
	tokens  int
	headers []string
}

func (tr *tokenRegistry) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		if a := r.Header.Get("Authorization"); a != "" {
			tr.headers = append(tr.headers, a)
		}
		tr.mu.Unlock()
		if r.URL.Path == "/token" {
			tr.token(w, r)
			return
		}
		repo, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/")
		repo, _, _ = strings.Cut(repo, "/blobs/")
		repo, _, _ = strings.Cut(repo, "/referrers/")
		scope := "repository:" + repo + ":pull"
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if r.URL.Path == "/v2/" || !strings.HasPrefix(tok, "tok-"+tr.host+"-") || !strings.Contains(tok, scope) {
			challenge := fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, tr.host)
			if r.URL.Path != "/v2/" {
				challenge += fmt.Sprintf(`,scope=%q`, scope)
			}
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (tr *tokenRegistry) token(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if ok && tr.users[user] != pass {
		http.Error(w, "bad credentials", http.StatusUnauthorized)
		return
	}
	scopes := r.URL.Query()["scope"]
	for _, s := range scopes {
		if strings.HasPrefix(s, "repository:acme/private/") && user == "" {
			http.Error(w, `{"errors":[{"code":"DENIED"}]}`, http.StatusForbidden)
			return
		}
	}
	tr.mu.Lock()
	tr.tokens++
	tr.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]string{"token": "tok-" + tr.host + "-" + user + "-" + strings.Join(scopes, ",")}) //nolint:errcheck
}

func (tr *tokenRegistry) counts() (tokens int, headers []string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.tokens, append([]string(nil), tr.headers...)
}

// tokenWorld is a world behind a tokenRegistry, with a key-signed image in
// each of repos; the world itself writes around the token check.
func tokenWorld(t *testing.T, users map[string]string, repos ...string) (*testworld.World, *tokenRegistry, *policy.Policy) {
	tr := &tokenRegistry{users: users}
	var open bool
	w := testworld.New(t, testworld.Options{Policy: testworld.KeyProvenancePolicy, Wrap: func(h http.Handler) http.Handler {
		guarded := tr.wrap(h)
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if !open { // set-up: the world pushes anonymously
				h.ServeHTTP(rw, r)
				return
			}
			guarded.ServeHTTP(rw, r)
		})
	}})
	tr.host = w.Registry
	for _, repo := range repos {
		signAndAttest(w, w.Push(repo+":1"), ocisig.LayoutLegacy)
	}
	open = true
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	return w, tr, p
}

// hostKeychain gives user:pass to one registry only.
type hostKeychain struct{ registry, user, pass string }

func (k hostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() != k.registry {
		return authn.Anonymous, nil
	}
	return &authn.Basic{Username: k.user, Password: k.pass}, nil
}

// TestTokensAreReusedAcrossVerifications: a process fetches one token per
// repository and credentials, not one per verification or call.
func TestTokensAreReusedAcrossVerifications(t *testing.T) {
	w, tr, p := tokenWorld(t, nil, "acme/app", "acme/other")
	v := verify.New()
	for range 3 {
		for _, img := range []string{"acme/app:1", "acme/other:1"} {
			if d := v.Verify(context.Background(), w.Ref(img), p); !d.Allowed {
				t.Fatalf("%s denied: %v", img, d.Messages())
			}
		}
	}
	if n, _ := tr.counts(); n != 2 {
		t.Fatalf("%d tokens for 6 verifications of 2 repositories, want 2", n)
	}
}

// TestATokenServesOnlyItsCredentials: a token earned with one request's
// pull secret is not used for a request without it (the webhook verifies
// pods of many namespaces in one process), and a registry's credentials and
// tokens are sent to no other registry the same Verifier reads.
func TestATokenServesOnlyItsCredentials(t *testing.T) {
	a, trA, p := tokenWorld(t, map[string]string{"ci": "s3cret"}, "acme/private/app")
	b, trB, pb := tokenWorld(t, nil, "acme/app")
	v := verify.New()
	secret := hostKeychain{a.Registry, "ci", "s3cret"}
	withSecret := func(image string, p *policy.Policy) *verify.Decision {
		return v.Flow().Decide(context.Background(), verify.Request{Image: image, Policy: p, Keychain: secret})
	}
	if d := withSecret(a.Ref("acme/private/app:1"), p); !d.Allowed {
		t.Fatalf("with the pull secret: %v", d.Messages())
	}
	if d := v.Verify(context.Background(), a.Ref("acme/private/app:1"), p); d.Allowed || !strings.Contains(strings.Join(d.Messages(), " "), "DENIED") {
		t.Fatalf("without the pull secret: want DENIED by the token server, got allowed=%v %v", d.Allowed, d.Messages())
	}
	if d := withSecret(b.Ref("acme/app:1"), pb); !d.Allowed {
		t.Fatalf("other registry: %v", d.Messages())
	}
	_, seenA := trA.counts()
	_, seenB := trB.counts()
	for _, h := range seenB {
		if strings.Contains(h, a.Registry) || strings.HasPrefix(h, "Basic ") {
			t.Fatalf("registry B received %q: credentials or a token meant for %s", h, a.Registry)
		}
	}
	if len(seenA) == 0 || len(seenB) == 0 {
		t.Fatalf("headers seen: A %d, B %d: the test saw no authentication", len(seenA), len(seenB))
	}
}
