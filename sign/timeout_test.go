package sign

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/internal/testworld"
)

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
			hang := testworld.NewHang(t)
			cfg := c.config(hang.URL)
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
			if hang.Requests.Load() != attempts {
				t.Fatalf("the service saw %d requests, want %d attempts", hang.Requests.Load(), attempts)
			}
		})
	}
}
