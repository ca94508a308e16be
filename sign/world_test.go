package sign

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
)

func loadPolicy(t *testing.T, w *testworld.World) *policy.Policy {
	t.Helper()
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// registryFront is a reverse proxy in front of the world's registry that
// counts manifest PUTs and can refuse them, standing for "what the registry
// received". Its policy is the world's default with the front's host.
type registryFront struct {
	Host       string
	PolicyPath string
	puts       atomic.Int64
	refuse     atomic.Bool
}

func newFront(t *testing.T, w *testworld.World) *registryFront {
	t.Helper()
	u, _ := url.Parse(w.Server.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	f := &registryFront{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			f.puts.Add(1)
			if f.refuse.Load() {
				rw.Header().Set("Content-Type", "application/json")
				rw.WriteHeader(http.StatusForbidden)
				rw.Write([]byte(`{"errors":[{"code":"DENIED","message":"push to acme/app is frozen by the registry admin"}]}`))
				return
			}
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	f.Host = strings.TrimPrefix(srv.URL, "http://")
	f.PolicyPath = filepath.Join(w.Dir, "front-trust.yaml")
	pol := strings.ReplaceAll(testworld.DefaultPolicy, "REGISTRY", f.Host)
	if err := os.WriteFile(f.PolicyPath, []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *registryFront) Puts() int64 { return f.puts.Load() }

// githubClaims are the claims of an Actions token for repo's release
// workflow on ref, consistent with sigstoretest.GitHub.
func githubClaims(repo, ref string) map[string]any {
	wf := repo + "/.github/workflows/release.yml@" + ref
	owner, _, _ := strings.Cut(repo, "/")
	return map[string]any{
		"iss": sigstoretest.GitHubIssuer, "sub": "repo:" + repo + ":ref:" + ref, "aud": "sigstore",
		"repository": repo, "repository_owner": owner, "repository_id": "1", "repository_owner_id": "2",
		"ref": ref, "sha": "0123456789abcdef0123456789abcdef01234567",
		"workflow_ref": wf, "job_workflow_ref": wf, "workflow": "release",
		"event_name": "push", "runner_environment": "github-hosted", "run_id": "7", "run_attempt": "1",
	}
}

func token(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

// fakeFulcio certifies tokens as sigstoretest.GitHub identities of the
// token's repository and ref. It fails the first failFirst requests with 503.
func fakeFulcio(t *testing.T, ss *sigstoretest.Sigstore, failFirst int) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	h := ss.FulcioHandler(func(tok string) (sigstoretest.Identity, error) {
		parts := strings.Split(tok, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var c map[string]string
		json.Unmarshal(raw, &c)
		return sigstoretest.GitHub(c["repository"], ".github/workflows/release.yml", c["ref"]), nil
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= int64(failFirst) {
			http.Error(w, "fulcio is overloaded", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func fakeTSA(t *testing.T, ss *sigstoretest.Sigstore) string {
	srv := httptest.NewServer(ss.TSAHandler())
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1/timestamp"
}

// ciIdentity is the token for claims, its parsed claims and the
// certificate Fulcio will issue for it.
func ciIdentity(t *testing.T, claims map[string]any) (string, ci.Claims, certificate.Summary) {
	t.Helper()
	tok := token(claims)
	c, err := ci.ParseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.ExpectedCertificate("https://github.com")
	if err != nil {
		t.Fatal(err)
	}
	return tok, c, sum
}

// provenance is the SLSA provenance a run in CI with claims c attaches.
func provenance(t *testing.T, c ci.Claims) []attest.Predicate {
	t.Helper()
	prov, err := attest.FromCI(ci.MapEnv(nil), c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := attest.ProvenancePredicate(prov)
	if err != nil {
		t.Fatal(err)
	}
	return []attest.Predicate{p}
}
