package regclient

import (
	"context"
	"errors"
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
