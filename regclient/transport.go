package regclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"time"
)

// Gate admits requests to a registry host (enforce's per-registry limiter
// is one). Enter blocks until r may be sent or r's context ends; release is
// called exactly once, after the response has been read completely. A
// holder of a slot never asks for another: the response is read before
// RoundTrip returns, so no caller can keep a slot by keeping a body open.
type Gate interface {
	Enter(r *http.Request) (release func(), err error)
}

// Options configure New.
type Options struct {
	Limits Limits
	// Gate, if set, admits every attempt (after the budget check, before
	// the request is sent).
	Gate Gate
	// Registries, if set, gives base its hosts' CA bundles and plain-HTTP
	// permissions (Registries.Transport); give the same to NewAuth for
	// their mirrors.
	Registries *Registries
}

// New returns the registry transport: base (HTTPTransport if nil) with
// signet's limits, accounting and retries. Pass it to go-containerregistry
// inside a transport.Wrapper, or as remote.WithTransport: it retries 408,
// 429, 5xx and broken connections itself, honouring the caller's deadline
// between attempts.
func New(base http.RoundTripper, o Options) http.RoundTripper {
	if base == nil {
		base = HTTPTransport()
	}
	if o.Registries != nil {
		base = o.Registries.Transport(base)
	}
	return &transport{base: base, lim: o.Limits.withDefaults(), gate: o.Gate}
}

// HTTPTransport is the base transport for registry reads: the settings of
// go-containerregistry's DefaultTransport, with a bound on every phase of a
// connection (dial 5s, TLS handshake 5s, response headers 10s), so a
// registry that accepts and never answers cannot hold a request forever.
func HTTPTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   50,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

type transport struct {
	base http.RoundTripper
	lim  Limits
	gate Gate
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr := FromContext(req.Context())
	if redirects(req) > t.lim.MaxRedirects {
		err := &RedirectError{Host: req.URL.Host, Limit: t.lim.MaxRedirects}
		tr.fail(err.Error(), false, time.Now())
		return nil, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody
	for i := 1; ; i++ {
		resp, retry, err := t.once(req, tr)
		if !retry || !replayable || i >= t.lim.Attempts {
			return resp, err
		}
		if !sleep(req.Context(), t.backoff(i, resp)) {
			return resp, err
		}
	}
}

// once makes one attempt: budget, Gate, send, read the whole body.
func (t *transport) once(req *http.Request, tr *Tracker) (*http.Response, bool, error) {
	if err := req.Context().Err(); err != nil {
		return nil, false, err // nothing was tried: nothing to account or record
	}
	a := newAttempt(req)
	if err := tr.begin(a, t.lim); err != nil {
		return nil, false, err
	}
	defer tr.end(a)
	ctx, cancel := context.WithTimeout(req.Context(), t.lim.RequestTimeout)
	defer cancel()
	r := req.Clone(httptrace.WithClientTrace(ctx, a.trace()))
	failed := func(err error) (*http.Response, bool, error) {
		what, cut, retry := a.classify(req.Context(), ctx, err)
		if what != "" {
			tr.fail(what, cut, a.start)
		}
		return nil, retry, err
	}
	if t.gate != nil {
		release, err := t.gate.Enter(r)
		if err != nil {
			return failed(err)
		}
		defer release()
	}
	a.set(phaseConnecting)
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return failed(err)
	}
	body, err := t.read(r, resp, a, tr)
	if err != nil {
		return failed(err)
	}
	resp.Body, resp.Request = io.NopCloser(bytes.NewReader(body)), req
	if r.Method != http.MethodHead {
		resp.ContentLength = int64(len(body))
	}
	if retryStatus(resp.StatusCode) {
		tr.fail(fmt.Sprintf("registry %s answered %s", a.host, resp.Status), false, a.start)
		return resp, true, nil
	}
	return resp, false, nil
}

// read reads the whole body, refusing one larger than the response cap or
// the verification's remaining byte budget before reading when its
// Content-Length says so, and while reading otherwise.
func (t *transport) read(r *http.Request, resp *http.Response, a *attempt, tr *Tracker) ([]byte, error) {
	defer resp.Body.Close()
	if r.Method == http.MethodHead {
		return nil, nil
	}
	limit, left := t.lim.MaxResponseBytes, tr.remaining(t.lim)
	tooLarge := func(n int64) error {
		return &TooLargeError{Host: a.host, Method: a.method, Path: a.path, Size: n, Limit: limit}
	}
	switch cl := resp.ContentLength; {
	case cl > limit:
		return nil, tooLarge(cl)
	case cl > left:
		return nil, &BudgetError{Bytes: t.lim.MaxBytes}
	}
	max := min(limit, left)
	a.set(phaseBody)
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(&countingReader{r: resp.Body, a: a}, max+1))
	tr.addBytes(int64(buf.Len()))
	switch {
	case err != nil:
		return nil, err
	case int64(buf.Len()) <= max:
		return buf.Bytes(), nil
	case max == limit:
		return nil, tooLarge(-1)
	}
	return nil, &BudgetError{Bytes: t.lim.MaxBytes}
}

// backoff is the wait before attempt i+1: doubling from Backoff, or the
// registry's Retry-After when it asks for no more than MaxBackoff.
func (t *transport) backoff(i int, resp *http.Response) time.Duration {
	if resp != nil {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			if d := time.Duration(s) * time.Second; d <= t.lim.MaxBackoff {
				return d
			}
		}
	}
	return min(t.lim.Backoff<<(i-1), t.lim.MaxBackoff)
}

func retryStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// redirects is how many redirects led to req (net/http links each
// redirected request to the response that caused it).
func redirects(req *http.Request) int {
	n := 0
	for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
		n++
	}
	return n
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
