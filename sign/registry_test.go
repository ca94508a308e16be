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

	"github.com/google/go-containerregistry/pkg/name"
)

// TestConnectAuthenticatesWhenTheRegistryAsks: anonymously, the run's
// transport sends requests without a ping; a registry that answers 401
// (anonymous pull tokens, as Docker Hub hands out) gets one ping and one
// token exchange, and the refused request is sent again with its body
// whole. An open registry is never pinged.
func TestConnectAuthenticatesWhenTheRegistryAsks(t *testing.T) {
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
		rt, err := connect(context.Background(), repo, nil, http.DefaultTransport)
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
