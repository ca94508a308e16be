package regclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"time"
)

// Gate admits requests to a registry host (Limiter is one). Enter blocks
// until r, of priority p, may be sent or r's context ends; release is
// called exactly once, after the response has been read completely. A
// holder of a slot never asks for another: the response is read before
// RoundTrip returns, so no caller can keep a slot by keeping a body open.
type Gate interface {
	Enter(r *http.Request, p Priority) (release func(), err error)
}

// transport is the Client's one retry loop: every request of every
// caller, a registry read or write or a Sigstore service call, is tried,
// bounded, accounted and retried here.
type transport struct {
	base    http.RoundTripper
	lim     Limits
	gate    Gate
	log     func(format string, args ...any)
	service string
	caps    capabilities
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr := trackerOf(req.Context())
	if redirects(req) > t.lim.MaxRedirects {
		err := &RedirectError{Host: req.URL.Host, Limit: t.lim.MaxRedirects}
		tr.fail(Failure{Host: req.URL.Host, Cause: err.Error(), Err: err}, false, time.Now())
		return nil, err
	}
	req, err := replayable(req)
	if err != nil {
		return nil, err
	}
	for i := 1; ; i++ {
		resp, retry, err := t.once(req, tr)
		if !retry || i >= t.lim.Attempts {
			return resp, t.giveUp(i, err)
		}
		wait := t.backoff(i, resp)
		if t.log != nil {
			t.log("%s%s %s%s: %s; retrying in %s (attempt %d of %d)", t.prefix(), req.Method, req.URL.Host, req.URL.Path, why(resp, err), wait, i+1, t.lim.Attempts)
		}
		if !sleep(req.Context(), wait) {
			return resp, t.giveUp(i, err)
		}
	}
}

// replayable returns req with a body each attempt can send again: its
// GetBody, or the body read once into memory (registry writes and
// Sigstore service calls send small bodies).
func replayable(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return req, nil
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("buffering request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.Body, _ = r.GetBody()
	return r, nil
}

// rewound is req with a fresh body for another attempt.
func rewound(req *http.Request) (*http.Request, error) {
	if req.GetBody == nil || req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("rewinding request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}

// giveUp is the error of the last attempt, naming the service (WithService)
// and how often it was tried, so a failed run says which of Fulcio, Rekor,
// the timestamp authority or the registry failed.
func (t *transport) giveUp(attempts int, err error) error {
	if err == nil || t.service == "" {
		return err
	}
	if attempts == 1 {
		return fmt.Errorf("%s%w", t.prefix(), err)
	}
	return fmt.Errorf("%s%w (gave up after %d attempts)", t.prefix(), err, attempts)
}

func (t *transport) prefix() string {
	if t.service == "" {
		return ""
	}
	return t.service + ": "
}

// why says what a retried attempt met, for the log.
func why(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

// once makes one attempt: budget, Gate, send, read the whole body.
func (t *transport) once(req *http.Request, tr *Tracker) (*http.Response, bool, error) {
	if err := req.Context().Err(); err != nil {
		return nil, false, err // nothing was tried: nothing to account or record
	}
	req, err := rewound(req)
	if err != nil {
		return nil, false, err
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
		what, cut, retry := a.classify(req.Context(), ctx, err, t.lim.RetryUnanswered)
		if what.Cause != "" {
			tr.fail(what, cut, a.start)
		}
		if ctx.Err() != nil && req.Context().Err() == nil {
			err = &TimeoutError{After: t.lim.RequestTimeout, Body: a.answered(), Err: err}
		}
		return nil, retry, err
	}
	if t.gate != nil {
		release, err := t.gate.Enter(r, tr.Priority())
		if err != nil {
			return failed(err)
		}
		defer release()
	}
	a.set(phaseConnecting)
	resp, err := t.base.RoundTrip(r)
	if err == nil && ctx.Err() != nil {
		// net/http hands over an answer that raced the end of the attempt
		// (a registry that answers only once the client hangs up does
		// so): the caller or the per-attempt timeout had given up, and
		// the registry did not answer in time.
		resp.Body.Close()
		err = ctx.Err()
	}
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
	t.caps.observe(r, resp)
	if retryStatus(resp.StatusCode) {
		tr.fail(Failure{Host: a.host, Status: resp.StatusCode, Cause: fmt.Sprintf("registry %s answered %s", a.host, resp.Status)}, false, a.start)
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
