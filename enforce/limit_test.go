package enforce

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLimitTransportCapsConcurrencyPerHost(t *testing.T) {
	var inflight, peak atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inflight.Add(-1)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	client := &http.Client{Transport: LimitTransport(nil, 2)}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(srv.URL)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	// Wait until two requests are in flight, give the others every chance
	// to (wrongly) get through, then let everything finish.
	for inflight.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	deadline := time.Now().Add(100 * time.Millisecond)
	for time.Now().Before(deadline) && peak.Load() <= 2 {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency %d, want 2", p)
	}

	// A request whose context ends while waiting for a slot gives up.
	hold := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hold }))
	defer slow.Close()
	defer close(hold)
	lc := &http.Client{Transport: LimitTransport(nil, 1)}
	started := make(chan struct{})
	go func() {
		req, _ := http.NewRequest(http.MethodGet, slow.URL, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(started) }}))
		lc.Do(req) //nolint:errcheck // occupies the only slot until the test ends
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, slow.URL, nil)
	_, err := lc.Do(req)
	if err == nil || !strings.Contains(err.Error(), "waiting for a connection slot") {
		t.Fatalf("want the request to give up waiting for a slot, got %v", err)
	}
}
