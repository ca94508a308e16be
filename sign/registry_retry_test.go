package sign

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/test/testworld"
)

// TestRegistryAnswering503TwiceThenSucceeds: registry writes go through the
// same bounded, logged retries as the Sigstore services. The registry
// refuses the first two manifest PUTs with 503; the run succeeds with
// exactly one logged retry per refusal (go-containerregistry's own retries
// do not multiply them), and the signature is there.
func TestRegistryAnswering503TwiceThenSucceeds(t *testing.T) {
	var manifestPUTs, refused atomic.Int64
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") {
			if manifestPUTs.Add(1) <= 2 {
				refused.Add(1)
				http.Error(w, "registry is overloaded", http.StatusServiceUnavailable)
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	tag, _ := name.NewTag(host + "/acme/app:1.0")
	img, _ := random.Image(64, 1)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}

	w := testworld.New(t, testworld.Options{})
	var mu sync.Mutex
	var logs []string
	s, err := NewSession(Config{Key: worldKey(t, w), Backoff: time.Millisecond, Retries: 4,
		Log: func(f string, a ...any) { mu.Lock(); logs = append(logs, fmt.Sprintf(f, a...)); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), s, Request{Image: tag.String(), Format: FormatLegacy, Sign: true})
	if err != nil {
		t.Fatalf("run failed although the registry recovered: %v\n%s", err, strings.Join(logs, "\n"))
	}
	if refused.Load() != 2 || manifestPUTs.Load() != 3 {
		t.Fatalf("the registry saw %d manifest PUTs (%d refused), want 3 (2 refused)", manifestPUTs.Load(), refused.Load())
	}
	retries := 0
	for _, l := range logs {
		if strings.Contains(l, "503") && strings.Contains(l, "retrying") && strings.Contains(l, "/manifests/") {
			retries++
		}
	}
	if retries != 2 {
		t.Fatalf("want each of the 2 retries logged once, got:\n%s", strings.Join(logs, "\n"))
	}
	if _, err := remote.Head(tag.Context().Tag(strings.TrimPrefix(res.Signed[0].LegacyTag, tag.Context().String()+":"))); err != nil {
		t.Fatalf("signature tag %s missing: %v", res.Signed[0].LegacyTag, err)
	}
}

// TestRegistryRetriesAreBounded: a registry that never recovers fails the
// run after the configured attempts, with its own message.
func TestRegistryRetriesAreBounded(t *testing.T) {
	var puts atomic.Int64
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") {
			puts.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"errors":[{"code":"UNAVAILABLE","message":"storage backend is down"}]}`))
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tag, _ := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/acme/app:1.0")
	img, _ := random.Image(64, 1)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	w := testworld.New(t, testworld.Options{})
	s, err := NewSession(Config{Key: worldKey(t, w), Backoff: time.Millisecond, Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), s, Request{Image: tag.String(), Format: FormatLegacy, Sign: true})
	if err == nil || !strings.Contains(err.Error(), "storage backend is down") {
		t.Fatalf("want the registry's own message, got %v", err)
	}
	if puts.Load() != 3 {
		t.Fatalf("the registry saw %d manifest PUTs, want exactly 3 attempts", puts.Load())
	}
}
