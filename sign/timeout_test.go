package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/test/testworld"
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

// fakeRekorV1 answers POST /api/v1/log/entries like Rekor v1 (the entry it
// was sent, at index 7, with a placeholder proof and SET: nothing here
// verifies them), after refusing the first failFirst requests with 503.
func fakeRekorV1(t *testing.T, failFirst int) (*httptest.Server, *atomic.Int64) {
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		if posts.Add(1) <= int64(failFirst) {
			http.Error(w, "rekor is overloaded", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		entry := map[string]any{"deadbeef": map[string]any{
			"body": base64.StdEncoding.EncodeToString(body), "integratedTime": time.Now().Unix(),
			"logID": strings.Repeat("ab", 32), "logIndex": 7,
			"verification": map[string]any{
				"signedEntryTimestamp": base64.StdEncoding.EncodeToString([]byte("set")),
				"inclusionProof": map[string]any{"logIndex": 7, "treeSize": 8, "rootHash": strings.Repeat("cd", 32),
					"hashes": []string{}, "checkpoint": "rekor.example - 1\n8\nzd0=\n\n— rekor.example AAAA\n"},
			},
		}}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", "deadbeef")
		w.Header().Set("Location", "/api/v1/log/entries/deadbeef")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(entry)
	}))
	t.Cleanup(srv.Close)
	return srv, &posts
}

// TestRekorV1UploadRetriesThroughTheSessionTransport: the Rekor v1 client
// is rekor's generated API over the session's RetryTransport: a 503 is
// retried once and logged in signet's words (no go-retryablehttp [DEBUG]
// lines), and the entry lands in the bundle.
func TestRekorV1UploadRetriesThroughTheSessionTransport(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	image := w.Push("acme/app:rekor").String()
	srv, posts := fakeRekorV1(t, 1)
	var logs []string
	s, err := NewSession(Config{Key: worldKey(t, w), Rekor: []Rekor{{URL: srv.URL, Version: 1}}, Backoff: time.Millisecond,
		Log: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), s, Request{Image: image, Format: FormatBundle, Sign: true})
	if err != nil {
		t.Fatal(err)
	}
	if li := res.Signed[0].LogIndex; li == nil || *li != 7 || posts.Load() != 2 {
		t.Fatalf("log index %v after %d uploads, want 7 after 2 (one 503, one retry)", li, posts.Load())
	}
	all := strings.Join(logs, "\n")
	if strings.Count(all, "retrying") != 1 || strings.Contains(all, "[DEBUG]") {
		t.Fatalf("want one retry logged and no third-party debug lines:\n%s", all)
	}
}
