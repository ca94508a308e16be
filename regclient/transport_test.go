package regclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingGate admits everything and counts slots held.
type countingGate struct {
	held, peak atomic.Int64
}

func (g *countingGate) Enter(*http.Request, Priority) (func(), error) {
	n := g.held.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	var once sync.Once
	return func() { once.Do(func() { g.held.Add(-1) }) }, nil
}

type result struct {
	resp *http.Response
	err  error
	tr   *Tracker
}

// get sends one GET through a regclient transport with a Tracker, the way
// go-containerregistry would (an http.Client without redirect limit).
func get(t *testing.T, url string, lim Limits, gate Gate, timeout time.Duration) result {
	t.Helper()
	tr := NewTracker(Priority{})
	ctx, cancel := context.WithTimeout(withTracker(context.Background(), tr), timeout)
	defer cancel()
	opts := []Option{WithLimits(lim)}
	if gate != nil {
		opts = append(opts, WithGate(gate))
	}
	client := &http.Client{Transport: New(opts...).Transport(), CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	return result{resp, err, tr}
}

func TestTransportBoundsEachRequest(t *testing.T) {
	fast := Limits{Backoff: time.Millisecond}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		lim     Limits
		timeout time.Duration
		// err and cause must appear in the error and in Tracker.Cause.
		err, cause string
		// maxServed bounds the requests the server saw.
		maxServed int64
		status    int
	}{
		{name: "a redirect loop stops after 10 redirects", lim: fast, maxServed: 11,
			handler: func(w http.ResponseWriter, r *http.Request) {
				hop, _ := strconv.Atoi(r.URL.Query().Get("hop"))
				http.Redirect(w, r, fmt.Sprintf("/v2/?hop=%d", hop+1), http.StatusFound)
			},
			err: "stopped after 10 redirects", cause: "stopped after 10 redirects"},
		{name: "a body announced larger than 4 MiB is refused before reading", lim: fast, maxServed: 1,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(100<<20))
				io.CopyN(w, zeros{}, 100<<20) //nolint:errcheck
			},
			err: "is 104857600 bytes, more than the 4 MiB signet reads", cause: "104857600 bytes"},
		{name: "a body without length is cut at 4 MiB", lim: fast, maxServed: 1,
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.CopyN(w, zeros{}, 100<<20) //nolint:errcheck
			},
			err: "sent more than the 4 MiB signet reads", cause: "sent more than the 4 MiB"},
		{name: "503 is tried 3 times and named with its count", lim: fast, maxServed: 3, status: 503,
			handler: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "storm", http.StatusServiceUnavailable) },
			cause:   "answered 503 Service Unavailable 3 times"},
		{name: "429 honours a short Retry-After", lim: fast, maxServed: 3, status: 429,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0")
				http.Error(w, "slow down", http.StatusTooManyRequests)
			},
			cause: "answered 429 Too Many Requests 3 times"},
		{name: "a connection reset mid-body is retried and named", lim: fast, maxServed: 3,
			handler: resetMidBody,
			cause:   "broke the connection while sending the body of GET /v2/ 3 times"},
		{name: "a registry that never answers is named when the deadline ends the wait", timeout: 300 * time.Millisecond, maxServed: 1,
			handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			err:     "context deadline exceeded", cause: "had not answered GET /v2/ after"},
		{name: "a dripping body is named when the deadline ends the read", timeout: 500 * time.Millisecond, maxServed: 1,
			handler: drip,
			err:     "context deadline exceeded", cause: "was still sending the body of GET /v2/"},
		{name: "a dripping body is cut by the per-request timeout", lim: Limits{RequestTimeout: 300 * time.Millisecond}, timeout: 5 * time.Second, maxServed: 1,
			handler: drip,
			err:     "context deadline exceeded", cause: "sent the body of GET /v2/ too slowly"},
		{name: "the request budget is checked before sending", lim: Limits{MaxRequests: 2, Backoff: time.Millisecond}, maxServed: 2,
			handler: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "storm", http.StatusBadGateway) },
			err:     "stopped after 2 registry requests, the budget of one verification", cause: "budget of one verification"},
		{name: "the byte budget is checked against Content-Length before reading", lim: Limits{MaxBytes: 1000}, maxServed: 1,
			handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 2000)) }, //nolint:errcheck
			err:     "stopped after reading 1000 bytes from registries", cause: "budget of one verification"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var served atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				served.Add(1)
				c.handler(w, r)
			}))
			defer srv.Close()
			var gate countingGate
			timeout := c.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			res := get(t, srv.URL+"/v2/", c.lim, &gate, timeout)
			if c.err != "" && (res.err == nil || !strings.Contains(res.err.Error(), c.err)) {
				t.Fatalf("error %v, want one saying %q", res.err, c.err)
			}
			if c.status != 0 {
				if res.err != nil || res.resp.StatusCode != c.status {
					t.Fatalf("want the registry's %d answer returned, got %v %v", c.status, res.resp, res.err)
				}
				if b, _ := io.ReadAll(res.resp.Body); len(b) == 0 {
					t.Fatal("the answer's body was lost")
				}
			}
			f := res.tr.Failure()
			if cause := f.String(); !strings.Contains(cause, c.cause) {
				t.Fatalf("Failure() = %q, want it to say %q", cause, c.cause)
			}
			if host := strings.TrimPrefix(srv.URL, "http://"); f.Host != host || f.Status != c.status {
				t.Fatalf("Failure() is at %q with status %d, want %q with %d", f.Host, f.Status, host, c.status)
			}
			if c.err != "" && res.err != nil && f.Err != nil && !f.Said(res.err) {
				t.Fatalf("the returned error %v does not say the failure regclient returned", res.err)
			}
			if n := served.Load(); n > c.maxServed {
				t.Fatalf("the registry served %d requests, want at most %d", n, c.maxServed)
			}
			if n := gate.held.Load(); n != 0 {
				t.Fatalf("%d gate slots still held after RoundTrip returned", n)
			}
		})
	}
}

// TestTransportReadsTheBodyUnderTheGate: the slot is free when RoundTrip
// returns, even though the caller has not read or closed the body: nothing
// a caller does with a response can hold a slot.
func TestTransportReadsTheBodyUnderTheGate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "manifest") })) //nolint:errcheck
	defer srv.Close()
	var gate countingGate
	var open []*http.Response
	for range 5 {
		res := get(t, srv.URL+"/v2/", Limits{}, &gate, 5*time.Second)
		if res.err != nil {
			t.Fatal(res.err)
		}
		open = append(open, res.resp)
		if n := gate.held.Load(); n != 0 {
			t.Fatalf("%d slots held by unread bodies", n)
		}
	}
	if b, _ := io.ReadAll(open[0].Body); string(b) != "manifest" || open[0].ContentLength != 8 {
		t.Fatalf("buffered body %q (length %d)", b, open[0].ContentLength)
	}
	if gate.peak.Load() != 1 {
		t.Fatalf("peak %d slots for sequential requests", gate.peak.Load())
	}
}

// TestTransportNamesAStalledTLSHandshake: a server that accepts and never
// answers the ClientHello.
func TestTransportNamesAStalledTLSHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	res := get(t, "https://"+ln.Addr().String()+"/v2/", Limits{}, nil, 400*time.Millisecond)
	if res.err == nil {
		t.Fatal("want an error")
	}
	if cause := res.tr.Failure().String(); !strings.Contains(cause, "TLS handshake with "+ln.Addr().String()+" had not completed after") {
		t.Fatalf("Cause() = %q", cause)
	}
}

// TestCauseAfterCancelIsNotRecorded: a request cancelled because a sibling
// failed (errgroup) says nothing about the registry.
func TestCauseAfterCancelIsNotRecorded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	tr := NewTracker(Priority{})
	ctx, cancel := context.WithCancel(withTracker(context.Background(), tr))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/", nil)
	go func() {
		for tr.Requests() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := (&http.Client{Transport: New().Transport()}).Do(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if c := tr.Failure().String(); c != "" {
		t.Fatalf("a cancelled request recorded %q", c)
	}
}

func TestShortPath(t *testing.T) {
	in := "/v2/acme/app/manifests/sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig"
	if got, want := shortPath(in), "/v2/acme/app/manifests/sha256-0123456789ab….sig"; got != want {
		t.Fatalf("shortPath = %q, want %q", got, want)
	}
}

func resetMidBody(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "100")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, strings.Repeat("x", 50)) //nolint:errcheck
	w.(http.Flusher).Flush()
	conn, _, _ := w.(http.Hijacker).Hijack()
	conn.(*net.TCPConn).SetLinger(0) //nolint:errcheck
	conn.Close()
}

func drip(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(http.StatusOK)
	for range 1000 {
		if _, err := w.Write([]byte("x")); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-time.After(50 * time.Millisecond): // the registry's pace
		case <-r.Context().Done():
			return
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestPromoteRaisesOnly: background work someone now waits for is served
// as theirs; promotion never lowers a priority.
func TestPromoteRaisesOnly(t *testing.T) {
	now := time.Now()
	tr := NewTracker(Priority{Background: true, Since: now.Add(-time.Hour)})
	tr.Promote(Priority{Since: now})
	if p := tr.Priority(); p.Background || !p.Since.Equal(now) {
		t.Fatalf("not promoted: %+v", p)
	}
	tr.Promote(Priority{Background: true, Since: now.Add(-2 * time.Hour)})
	if p := tr.Priority(); p.Background {
		t.Fatalf("demoted: %+v", p)
	}
}

// lateAnswer is a registry connection that answers only once the caller has
// given up: net/http returns an answer that races the caller's deadline.
type lateAnswer struct{ calls atomic.Int64 }

func (l *lateAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	l.calls.Add(1)
	if tr := httptrace.ContextClientTrace(r.Context()); tr != nil && tr.WroteRequest != nil {
		tr.WroteRequest(httptrace.WroteRequestInfo{})
	}
	<-r.Context().Done()
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

// TestAnAnswerAfterTheDeadlineIsNotTaken: a registry that hangs until the
// client hangs up, then answers an empty 200, is named for not answering;
// the empty answer never reaches go-containerregistry (which would report a
// missing Content-Type instead). Its second half: the same after the
// per-attempt timeout, tried again as an unanswered request is.
func TestAnAnswerAfterTheDeadlineIsNotTaken(t *testing.T) {
	tr := NewTracker(Priority{})
	ctx, cancel := context.WithTimeout(withTracker(context.Background(), tr), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, "https://registry.example/v2/acme/app/manifests/1", nil)
	resp, err := (&http.Client{Transport: New(WithBase(&lateAnswer{})).Transport()}).Do(req)
	if err == nil {
		t.Fatalf("the late answer %s was taken", resp.Status)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if c := tr.Failure().String(); !strings.Contains(c, "registry registry.example had not answered HEAD /v2/acme/app/manifests/1 after") {
		t.Fatalf("Failure() = %q", c)
	}

	var late lateAnswer
	tr = NewTracker(Priority{})
	ctx, cancel = context.WithTimeout(withTracker(context.Background(), tr), 10*time.Second)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodHead, "https://registry.example/v2/acme/app/manifests/1", nil)
	lim := Limits{RequestTimeout: 50 * time.Millisecond, Attempts: 2, Backoff: time.Millisecond, RetryUnanswered: true}
	resp, err = (&http.Client{Transport: New(WithBase(&late), WithLimits(lim)).Transport()}).Do(req)
	if err == nil {
		t.Fatalf("the late answer %s was taken after the per-attempt timeout", resp.Status)
	}
	if n := late.calls.Load(); n != 2 {
		t.Fatalf("%d attempts, want 2: an attempt cut by its timeout is tried again", n)
	}
	if c := tr.Failure().String(); !strings.Contains(c, "did not answer HEAD /v2/acme/app/manifests/1 within") {
		t.Fatalf("Failure() = %q", c)
	}
}
