package regclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// TestAuthKeepsOnlySuccess: a failed ping is not remembered (the next
// caller asks again), a successful one is (no caller asks again, whatever
// the repository).
func TestAuthKeepsOnlySuccess(t *testing.T) {
	var pings atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" && pings.Add(1) == 1 {
			http.Error(w, "not yet", http.StatusForbidden)
		}
	}))
	defer srv.Close()
	a := NewAuth(http.DefaultTransport)
	host := strings.TrimPrefix(srv.URL, "http://")
	for i, repo := range []string{"acme/app", "acme/app", "acme/other"} {
		_, err := a.Transport(context.Background(), mustRepo(t, host+"/"+repo), authn.Anonymous)
		if (err != nil) != (i == 0) {
			t.Fatalf("call %d: err %v", i, err)
		}
	}
	if n := pings.Load(); n != 2 {
		t.Fatalf("%d pings, want 2 (the failure, then one for every later call)", n)
	}
}

// TestAuthWaitsWithinTheCallersDeadline: while one caller's ping hangs,
// another caller for the same registry gives up at its own deadline.
func TestAuthWaitsWithinTheCallersDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	a := NewAuth(http.DefaultTransport)
	repo := mustRepo(t, strings.TrimPrefix(srv.URL, "http://")+"/acme/app")
	started := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		close(started)
		a.Transport(ctx, repo, authn.Anonymous) //nolint:errcheck
	}()
	<-started
	for !lookup(&a.mu, a.pings, registryKey(repo.Registry)).busy() {
		time.Sleep(time.Millisecond) // poll for the first caller to hold the entry
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := a.Transport(ctx, repo, authn.Anonymous)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("second caller: %v after %s, want its deadline", err, time.Since(start))
	}
}

// busy reports whether a caller is building e.
func (e *entry[T]) busy() bool { return len(e.sem) == 1 }

func mustRepo(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCredentialsDoNotFollowARedirectToAnotherHost: a registry that
// redirects a read to another host (blob storage, or an attacker's) never
// gets its credentials forwarded there, whether the registry takes basic
// credentials or a bearer token; another port of the same address is
// another host.
func TestCredentialsDoNotFollowARedirectToAnotherHost(t *testing.T) {
	var leaked atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		w.Write([]byte("{}")) //nolint:errcheck
	}))
	defer elsewhere.Close()
	for _, scheme := range []string{"basic", "bearer"} {
		t.Run(scheme, func(t *testing.T) {
			var authorized atomic.Int64
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/token":
					w.Write([]byte(`{"token":"registry-token"}`)) //nolint:errcheck
				case r.Header.Get("Authorization") == "" && scheme == "basic":
					w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
					w.WriteHeader(http.StatusUnauthorized)
				case r.Header.Get("Authorization") == "":
					w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="registry"`)
					w.WriteHeader(http.StatusUnauthorized)
				case r.URL.Path == "/v2/":
					authorized.Add(1)
				default:
					authorized.Add(1)
					http.Redirect(w, r, elsewhere.URL+"/blob", http.StatusTemporaryRedirect)
				}
			}))
			defer srv.Close()
			repo := mustRepo(t, strings.TrimPrefix(srv.URL, "http://")+"/acme/app")
			rt, err := NewAuth(New().Transport()).Transport(context.Background(), repo, authn.FromConfig(authn.AuthConfig{Username: "u", Password: "secret"}))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{Transport: rt}).Get(srv.URL + "/v2/acme/app/blobs/sha256:0")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if authorized.Load() == 0 {
				t.Fatal("the registry never saw the credentials: the test proves nothing")
			}
			if n := leaked.Load(); n != 0 {
				t.Fatalf("%d requests to the redirect target carried the registry's credentials", n)
			}
		})
	}
}

// TestWriterAuthenticatesWhenTheRegistryAsks: anonymously, a signing
// run's transport (Writer) sends requests without a ping; a registry that answers 401
// (anonymous pull tokens, as Docker Hub hands out) gets one ping and one
// token exchange, and the refused request is sent again with its body
// whole. An open registry is never pinged.
func TestWriterAuthenticatesWhenTheRegistryAsks(t *testing.T) {
	for _, needsToken := range []bool{false, true} {
		var pings, tokens atomic.Int64
		var got []byte
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/token":
				tokens.Add(1)
				io.WriteString(w, `{"token":"anon"}`)
				return
			case r.URL.Path == "/v2/":
				pings.Add(1)
			}
			if needsToken && r.Header.Get("Authorization") != "Bearer anon" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if r.Method == http.MethodPut {
				got, _ = io.ReadAll(r.Body)
			}
			w.WriteHeader(http.StatusCreated)
		}))
		t.Cleanup(srv.Close)
		repo, _ := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/acme/app")
		rt, err := NewAuth(http.DefaultTransport).Writer(context.Background(), repo, authn.Anonymous)
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"schemaVersion":2}`)
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v2/acme/app/manifests/v1", bytes.NewReader(body))
		resp, err := (&http.Client{Transport: rt}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := int64(0)
		if needsToken {
			want = 1
		}
		if resp.StatusCode != http.StatusCreated || !bytes.Equal(got, body) || pings.Load() != want || tokens.Load() != want {
			t.Fatalf("needsToken=%v: status %d, body %q, %d pings, %d tokens; want 201, the body, %d of each",
				needsToken, resp.StatusCode, got, pings.Load(), tokens.Load(), want)
		}
	}
}
