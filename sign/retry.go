package sign

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// Logf receives progress lines (one per attempt, retry and push).
type Logf func(format string, args ...any)

// Defaults of RetryTransport (and of Config.Retries and Config.Backoff).
const (
	DefaultRetries = 4
	DefaultBackoff = 500 * time.Millisecond
)

// RetryTransport retries requests that a Sigstore service or a registry
// answered with 429 or 5xx, or that failed at the connection level, with
// exponential backoff. Every retry is logged, so a slow CI job says why.
// Fulcio, Rekor, the TSA and registry writes are idempotent enough for
// this: a repeated certificate request yields another certificate for the
// same key, a repeated log upload returns the existing entry (409), a
// repeated manifest PUT stores the same digest.
//
// Each attempt is bounded by Timeout (request, answer and body), so a
// service that accepts a connection and never answers costs at most
// Attempts × Timeout plus the backoff, never a hung CI job.
type RetryTransport struct {
	Base http.RoundTripper
	// Service names the endpoint in errors and logs ("Fulcio", "Rekor").
	Service  string
	Attempts int           // total attempts, default 4
	Backoff  time.Duration // first wait, doubled each time, default 500ms
	MaxWait  time.Duration // cap for one wait, default 8s
	// Timeout bounds one attempt, from sending the request to closing the
	// response body; 0 means no bound of its own.
	Timeout time.Duration
	Log     Logf
	// Sleep is time.Sleep unless a test replaces it.
	Sleep func(time.Duration)
}

func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	attempts := t.Attempts
	if attempts <= 0 {
		attempts = DefaultRetries
	}
	var body []byte
	if req.Body != nil && req.GetBody == nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("buffering request body: %w", err)
		}
		body = b
	}
	wait := t.Backoff
	if wait <= 0 {
		wait = DefaultBackoff
	}
	for i := 1; ; i++ {
		r, err := rewind(req, body)
		if err != nil {
			return nil, err
		}
		resp, err := t.attempt(base, r)
		reason := retryReason(resp, err)
		if reason == "" || i >= attempts || req.Context().Err() != nil {
			if err != nil && req.Context().Err() == nil {
				err = t.giveUp(i, err)
			}
			return resp, err
		}
		if resp != nil {
			if ra := retryAfter(resp); ra > 0 {
				wait = ra
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		maxWait := t.MaxWait
		if maxWait <= 0 {
			maxWait = 8 * time.Second
		}
		wait = min(wait, maxWait)
		if t.Log != nil {
			t.Log("%s%s %s%s: %s; retrying in %s (attempt %d of %d)", t.prefix(), req.Method, req.URL.Host, req.URL.Path, reason, wait, i+1, attempts)
		}
		if !t.sleep(req, wait) {
			return nil, req.Context().Err()
		}
		wait *= 2
	}
}

// errAttemptTimeout marks an attempt that Timeout cut off.
var errAttemptTimeout = errors.New("no answer")

// attempt runs one round trip under Timeout. The deadline also covers the
// body: it is released when the caller closes the body.
func (t *RetryTransport) attempt(base http.RoundTripper, r *http.Request) (*http.Response, error) {
	if t.Timeout <= 0 {
		return base.RoundTrip(r)
	}
	ctx, cancel := context.WithTimeoutCause(r.Context(), t.Timeout, errAttemptTimeout)
	resp, err := base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		if context.Cause(ctx) == errAttemptTimeout {
			return nil, fmt.Errorf("%w within %s", errAttemptTimeout, t.Timeout)
		}
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// giveUp is the error of the last attempt, naming the service, so a
// failed run says which of Fulcio, Rekor, the TSA or the registry failed
// (http.Client adds the method and URL).
func (t *RetryTransport) giveUp(attempts int, err error) error {
	if attempts == 1 {
		return fmt.Errorf("%s%w", t.prefix(), err)
	}
	return fmt.Errorf("%s%w (gave up after %d attempts)", t.prefix(), err, attempts)
}

func (t *RetryTransport) prefix() string {
	if t.Service == "" {
		return ""
	}
	return t.Service + ": "
}

// cancelOnClose releases an attempt's deadline when the body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func (t *RetryTransport) sleep(req *http.Request, d time.Duration) bool {
	if t.Sleep != nil {
		t.Sleep(d)
		return req.Context().Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-req.Context().Done():
		return false
	}
}

func rewind(req *http.Request, body []byte) (*http.Request, error) {
	r := req.Clone(req.Context())
	switch {
	case body != nil:
		r.Body = io.NopCloser(bytes.NewReader(body))
	case req.GetBody != nil:
		b, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("rewinding request body: %w", err)
		}
		r.Body = b
	}
	return r, nil
}

// retryReason says why a response is worth retrying, or "" if it is not.
func retryReason(resp *http.Response, err error) string {
	if err != nil {
		if errors.Is(err, errAttemptTimeout) || transient(err) {
			return err.Error()
		}
		return ""
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
		return resp.Status
	}
	return ""
}

// transient reports whether a connection-level error may go away by
// itself: a reset, refused or timed-out connection, a truncated response.
// A TLS or certificate error never does (go-containerregistry's probe of an
// insecure registry over HTTPS must fail at once and fall back to HTTP).
func transient(err error) bool {
	var ne net.Error
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.As(err, &ne) && ne.Timeout()
}

func retryAfter(resp *http.Response) time.Duration {
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 && s <= 60 {
		return time.Duration(s) * time.Second
	}
	return 0
}
