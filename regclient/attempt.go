package regclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// phase is where an attempt is: what a stalled registry is stalling.
type phase int

const (
	phaseQueued     phase = iota // waiting at the Gate for a connection slot
	phaseConnecting              // dialling, or waiting for a pooled connection
	phaseTLS                     // in the TLS handshake
	phaseWaiting                 // request sent, no response headers yet
	phaseBody                    // reading the body
)

// attempt is one try of one request, observed through httptrace.
type attempt struct {
	host, method, path string
	start              time.Time
	bytes              atomic.Int64

	mu    sync.Mutex
	phase phase
	since time.Time
}

func newAttempt(r *http.Request) *attempt {
	now := time.Now()
	return &attempt{host: r.URL.Host, method: r.Method, path: shortPath(r.URL.Path), start: now, since: now}
}

func (a *attempt) set(p phase) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p != a.phase {
		a.phase, a.since = p, time.Now()
	}
}

func (a *attempt) state() (phase, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.phase, a.since
}

func (a *attempt) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn:           func(string) { a.set(phaseConnecting) },
		TLSHandshakeStart: func() { a.set(phaseTLS) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { a.set(phaseConnecting) },
		WroteRequest:      func(httptrace.WroteRequestInfo) { a.set(phaseWaiting) },
	}
}

// answered reports whether the registry's answer had begun (its headers
// in, its body on the way).
func (a *attempt) answered() bool {
	p, _ := a.state()
	return p == phaseBody
}

// earlierThan orders unfinished attempts for Cause: one the registry is
// holding up (past the Gate) before one still queued, then the oldest.
func (a *attempt) earlierThan(b *attempt) bool {
	pa, _ := a.state()
	pb, _ := b.state()
	if (pa == phaseQueued) != (pb == phaseQueued) {
		return pb == phaseQueued
	}
	return a.start.Before(b.start)
}

// describe says what the attempt is (or was, when timedOut) stuck on.
func (a *attempt) describe(now time.Time, timedOut bool) string {
	p, since := a.state()
	d := now.Sub(since).Round(100 * time.Millisecond)
	req := a.method + " " + a.path
	switch {
	case p == phaseQueued:
		return fmt.Sprintf("a request to %s waited %s for a connection slot (the per-registry limit was reached)", a.host, d)
	case p == phaseConnecting && timedOut:
		return fmt.Sprintf("connecting to %s timed out after %s", a.host, d)
	case p == phaseConnecting:
		return fmt.Sprintf("connecting to %s had not succeeded after %s", a.host, d)
	case p == phaseTLS && timedOut:
		return fmt.Sprintf("TLS handshake with %s timed out after %s", a.host, d)
	case p == phaseTLS:
		return fmt.Sprintf("TLS handshake with %s had not completed after %s", a.host, d)
	case p == phaseWaiting && timedOut:
		return fmt.Sprintf("registry %s did not answer %s within %s", a.host, req, d)
	case p == phaseWaiting:
		return fmt.Sprintf("registry %s had not answered %s after %s", a.host, req, d)
	case timedOut:
		return fmt.Sprintf("registry %s sent the body of %s too slowly: %d bytes in %s", a.host, req, a.bytes.Load(), d)
	}
	return fmt.Sprintf("registry %s was still sending the body of %s after %s (%d bytes so far)", a.host, req, d, a.bytes.Load())
}

// classify turns a failed attempt into what to record and whether to try
// again. caller is the request's own context, attemptCtx the one bounded by
// the per-attempt timeout. what is empty when there is nothing to record:
// the caller cancelled (it gave up, or a sibling request already failed).
//
// A request that got no answer (refused, or cut by the per-attempt timeout)
// is tried again only with retryUnanswered (Limits.RetryUnanswered): a CI
// run rides out a service restarting, an admission keeps its deadline for
// the next step.
func (a *attempt) classify(caller, attemptCtx context.Context, err error, retryUnanswered bool) (what Failure, cut, retry bool) {
	var tooLarge *TooLargeError
	var budget *BudgetError
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var plain tls.RecordHeaderError
	var timeout net.Error
	now := time.Now()
	said := func(cause string) Failure { return Failure{Host: a.host, Cause: cause} }
	switch {
	case errors.Is(caller.Err(), context.Canceled), errors.As(err, &plain):
		// The caller gave up, a sibling request failed, or this was
		// go-containerregistry probing HTTPS on a plain-HTTP registry.
		return Failure{}, false, false
	case caller.Err() != nil:
		return said(a.describe(now, false)), true, false
	case attemptCtx.Err() != nil:
		return said(a.describe(now, true)), false, retryUnanswered
	case errors.As(err, &tooLarge), errors.As(err, &budget):
		return Failure{Host: a.host, Cause: err.Error(), Err: err}, false, false
	case strings.Contains(err.Error(), "TLS handshake timeout"), strings.Contains(err.Error(), "timeout awaiting response headers"):
		// net/http's own bounds, which it reports only as text.
		return said(a.describe(now, true)), false, retryUnanswered
	case errors.As(err, &dns):
		return said(fmt.Sprintf("could not resolve registry host %s: %v", a.host, dns.Err)), false, false
	case errors.As(err, &cert):
		return said(fmt.Sprintf("TLS certificate of registry %s is not trusted: %v", a.host, cert.Err)), false, false
	case errors.Is(err, syscall.ECONNREFUSED):
		return said(fmt.Sprintf("registry %s refused the connection", a.host)), false, retryUnanswered
	case errors.As(err, &timeout) && timeout.Timeout():
		return said(fmt.Sprintf("request to registry %s timed out: %v", a.host, err)), false, retryUnanswered
	case broken(err):
		if p, _ := a.state(); p == phaseBody {
			return said(fmt.Sprintf("registry %s broke the connection while sending the body of %s %s", a.host, a.method, a.path)), false, true
		}
		return said(fmt.Sprintf("registry %s closed the connection before answering %s %s", a.host, a.method, a.path)), false, true
	}
	return said(fmt.Sprintf("request to registry %s failed: %v", a.host, err)), false, false
}

// broken reports a connection that failed mid-way: worth another attempt.
func broken(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// countingReader counts body bytes for describe.
type countingReader struct {
	r io.Reader
	a *attempt
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.a.bytes.Add(int64(n))
	return n, err
}
