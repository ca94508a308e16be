package regclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// limitedClient is an HTTP client through a Client with l as its Gate.
func limitedClient(l *Limiter) *http.Client {
	return &http.Client{Transport: New(WithGate(l), WithLimits(Limits{Backoff: time.Millisecond})).Transport()}
}

func TestLimiterCapsConcurrencyPerHost(t *testing.T) {
	var inflight, peak atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		inflight.Add(-1)
		io.WriteString(w, "ok") //nolint:errcheck
	}))
	defer srv.Close()
	l := NewLimiter(2)
	client := limitedClient(l)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if resp, err := client.Get(srv.URL); err == nil {
				resp.Body.Close()
			}
		})
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	waitUntil(t, "two requests in flight and eight waiting", func() bool { return inflight.Load() == 2 && l.Waiting(host) == 8 })
	close(release)
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d, want 2", p)
	}
	if l.InUse(host) != 0 || l.Waiting(host) != 0 {
		t.Fatalf("after the burst: %d slots in use, %d waiting", l.InUse(host), l.Waiting(host))
	}
}

// TestLimiterServesUrgentThenOldestFirst: waiting requests are served by
// priority, not arrival: a tag re-resolution first, then the verification
// asked for earliest, a background scan's last however old.
func TestLimiterServesUrgentThenOldestFirst(t *testing.T) {
	l := NewLimiter(1)
	base := time.Now()
	hold, err := l.Enter(reqWith(t), Priority{Since: base})
	if err != nil {
		t.Fatal(err)
	}
	arrivals := []struct {
		name string
		prio Priority
	}{
		{"background scan", Priority{Background: true, Since: base}},
		{"newest verification", Priority{Since: base.Add(3 * time.Second)}},
		{"oldest verification", Priority{Since: base.Add(1 * time.Second)}},
		{"tag re-resolution", Priority{Urgent: true, Since: base.Add(4 * time.Second)}},
		{"middle verification", Priority{Since: base.Add(2 * time.Second)}},
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	for i, a := range arrivals {
		wg.Go(func() {
			release, err := l.Enter(reqWith(t), a.prio)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, a.name)
			mu.Unlock()
			release()
		})
		waitUntil(t, "the request to queue", func() bool { return l.Waiting("registry.test") == i+1 })
	}
	hold()
	wg.Wait()
	want := "tag re-resolution, oldest verification, middle verification, newest verification, background scan"
	if got := strings.Join(order, ", "); got != want {
		t.Fatalf("served %s, want %s", got, want)
	}
}

// TestLimiterReleasesOnEveryPath drives go-containerregistry through the
// limiter with one slot per host: an answer, a 404, a 503 storm (which its
// retries used to leak), a context cancelled while waiting and one
// cancelled while the body is read. Afterwards the slot is free and a
// request gets through at once.
func TestLimiterReleasesOnEveryPath(t *testing.T) {
	var storm atomic.Bool
	slowBody := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case storm.Load():
			http.Error(w, `{"errors":[{"code":"UNAVAILABLE"}]}`, http.StatusServiceUnavailable)
		case strings.HasSuffix(r.URL.Path, "/slow"):
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			select {
			case <-slowBody:
			case <-r.Context().Done():
			}
		default:
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
		}
	}))
	defer srv.Close()
	defer close(slowBody)
	host := strings.TrimPrefix(srv.URL, "http://")
	l := NewLimiter(1)
	rt := New(WithGate(l), WithLimits(Limits{Backoff: time.Millisecond})).Transport()
	head := func(ctx context.Context, repo string) error {
		ref, err := name.ParseReference(host + "/" + repo + ":1")
		if err != nil {
			return err
		}
		// go-containerregistry's own retries stay on (fast): they read and
		// replace the body of each retried 503 without closing it.
		_, err = remote.Head(ref, remote.WithContext(ctx), remote.WithTransport(rt),
			remote.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 3}))
		return err
	}
	ctx := context.Background()
	if err := head(ctx, "missing"); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("want a 404, got %v", err)
	}
	storm.Store(true)
	for range 3 {
		if err := head(ctx, "storm"); !isStatus(err, http.StatusServiceUnavailable) {
			t.Fatalf("want a 503, got %v", err)
		}
	}
	storm.Store(false)

	// A context ending during the body read, while another request waits
	// for the slot and gives up.
	bodyCtx, cancelBody := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(bodyCtx, http.MethodGet, srv.URL+"/v2/x/slow", nil)
		_, err := (&http.Client{Transport: rt}).Do(req)
		done <- err
	}()
	waitUntil(t, "the slow body to hold the slot", func() bool { return l.InUse(host) == 1 })
	waitCtx, cancelWait := context.WithTimeout(ctx, 50*time.Millisecond)
	if err := head(waitCtx, "queued"); err == nil || !strings.Contains(err.Error(), "waiting for a connection slot") {
		t.Fatalf("want the queued request to give up, got %v", err)
	}
	cancelWait()
	cancelBody()
	if err := <-done; err == nil {
		t.Fatal("the cancelled read succeeded")
	}
	if l.InUse(host) != 0 || l.Waiting(host) != 0 {
		t.Fatalf("%d slots in use, %d waiting after every path", l.InUse(host), l.Waiting(host))
	}
	quick, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := head(quick, "missing"); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("the slot was not free: %v", err)
	}
}

// TestLimiterQueueIsBounded: beyond 64 waiters per slot, a request fails at
// once with the registry named, instead of piling up.
func TestLimiterQueueIsBounded(t *testing.T) {
	l := NewLimiter(1)
	hold, _ := l.Enter(reqWith(t), Priority{})
	defer hold()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range 64 {
		wg.Go(func() { l.Enter(reqWith(t).WithContext(ctx), Priority{}) }) //nolint:errcheck // cancelled below
	}
	waitUntil(t, "64 waiters", func() bool { return l.Waiting("registry.test") == 64 })
	_, err := l.Enter(reqWith(t), Priority{})
	if err == nil || !strings.Contains(err.Error(), "registry registry.test: 64 requests already waiting") {
		t.Fatalf("want the 65th waiter refused, got %v", err)
	}
}

func reqWith(t *testing.T) *http.Request {
	t.Helper()
	r, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://registry.test/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func isStatus(err error, code int) bool {
	terr, ok := err.(*ggcr.Error)
	return ok && terr.StatusCode == code
}

// waitUntil polls cond (the requests run in their own goroutines) for up
// to ten seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, bounded by the deadline
	}
}
