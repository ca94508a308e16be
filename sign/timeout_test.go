package sign

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/internal/testworld"
)

// hangingServer accepts every request and never answers, like a service
// behind a stuck load balancer. It counts the requests it swallowed.
func hangingServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	stop := make(chan struct{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	return srv.URL, &n
}

// TestEveryServiceCallIsBounded: Fulcio, Rekor v1, Rekor v2 and the TSA
// each accept the request and never answer. The run fails within
// attempts × timeout (plus backoff), the error names the service that did
// not answer, and each was tried exactly the configured number of times.
func TestEveryServiceCallIsBounded(t *testing.T) {
	const (
		timeout  = 200 * time.Millisecond
		attempts = 2
		bound    = 5 * time.Second // 2 × 200ms + backoff, with room for a slow machine
	)
	w := testworld.New(t, testworld.Options{})
	image := w.Push("acme/app:hang").String()
	for _, c := range []struct {
		name, want string
		config     func(url string) Config
	}{
		{"Fulcio", "requesting certificate from", func(u string) Config {
			return Config{IDToken: token(githubClaims("acme/app", "refs/heads/main")), FulcioURL: u}
		}},
		{"Rekor v1", "uploading to Rekor v1", func(u string) Config {
			return Config{Key: worldKey(t, w), Rekor: []Rekor{{URL: u, Version: 1}}}
		}},
		{"Rekor v2", "uploading to Rekor v2", func(u string) Config {
			return Config{Key: worldKey(t, w), Rekor: []Rekor{{URL: u, Version: 2}}}
		}},
		{"timestamp authority", "timestamp authority", func(u string) Config {
			return Config{Key: worldKey(t, w), TSAURLs: []string{u + "/api/v1/timestamp"}}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, calls := hangingServer(t)
			cfg := c.config(u)
			cfg.Timeout, cfg.Retries, cfg.Backoff = timeout, attempts, time.Millisecond
			s, err := NewSession(cfg)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Run(context.Background(), s, Request{Image: image, Format: FormatBundle, Sign: true})
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(bound):
				t.Fatalf("the run still hangs after %s", bound)
			}
			if err == nil {
				t.Fatal("the run succeeded although the service never answered")
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, "no answer within 200ms") {
				t.Fatalf("the error does not say which service did not answer: %v", err)
			}
			if calls.Load() != attempts {
				t.Fatalf("the service saw %d requests, want %d attempts", calls.Load(), attempts)
			}
		})
	}
}
