// Package regclient is the HTTP layer under every registry read signet
// makes while verifying. go-containerregistry builds the requests; regclient
// decides whether each may be sent, for how long, and how much of the answer
// is read. A registry is untrusted input on the admission hot path, so:
//
//   - each request is bounded: a timeout per attempt, at most 10 redirects,
//     a response size cap checked before reading (Content-Length) and while
//     reading (a limited reader);
//   - each verification is bounded: a Tracker in the context carries a
//     request and byte budget, checked before a request is sent;
//   - a response is read completely inside RoundTrip, under the Gate that
//     admits it, so a connection slot is never held by a body a caller has
//     not closed, and never while its holder waits for another slot;
//   - every failure is recorded on the Tracker, so a denial can name what the
//     registry did ("answered 503 Service Unavailable 3 times") even when a
//     deadline is what ended the work;
//   - authentication is the process's, not the call's (Auth): one ping per
//     registry, one token per repository and credentials, each sent only to
//     the registry it is for.
package regclient

import "time"

// Limits bound one request and one verification. The zero value of a field
// means its default.
type Limits struct {
	// RequestTimeout bounds one attempt, from sending the request to the
	// last byte of the body (default 20s). A caller's deadline still applies.
	RequestTimeout time.Duration
	// MaxResponseBytes caps one response body (default 4 MiB: distribution's
	// manifest limit, and ocisig's signature blob limit).
	MaxResponseBytes int64
	// MaxRedirects caps one request's redirect chain (default 10, net/http's
	// own limit, which go-containerregistry's redirect check replaces).
	MaxRedirects int
	// Attempts is how often a request is tried when the registry answers
	// 408, 429 or 5xx or the connection breaks (default 3).
	Attempts int
	// Backoff is the first wait between attempts, doubled each time
	// (default 250ms). A Retry-After up to MaxBackoff is honoured.
	Backoff, MaxBackoff time.Duration
	// RetryUnanswered also tries again a request that got no answer: the
	// connection refused, or the attempt cut by RequestTimeout (sign's
	// services and registry writes: a CI run rides out a restart). An
	// admission does not: its deadline is for the next step.
	RetryUnanswered bool
	// MaxRequests and MaxBytes are one Tracker's budget: the registry
	// requests (attempts, redirects, pings and token fetches included) and
	// response bytes one verification may spend (default 512 and 16 MiB).
	MaxRequests int
	MaxBytes    int64
}

// Defaults for Limits. A cold image signed and attested in both layouts
// costs about 11 requests and a few KiB; `platforms: all` over an index of
// ocisig's cap of children about 30 times that.
const (
	DefaultRequestTimeout   = 20 * time.Second
	DefaultMaxResponseBytes = 4 << 20
	DefaultMaxRedirects     = 10
	DefaultAttempts         = 3
	DefaultBackoff          = 250 * time.Millisecond
	DefaultMaxBackoff       = 2 * time.Second
	DefaultMaxRequests      = 512
	DefaultMaxBytes         = 16 << 20
)

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxRedirects, DefaultMaxRedirects)
	def(&l.Attempts, DefaultAttempts)
	def(&l.MaxRequests, DefaultMaxRequests)
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	if l.MaxResponseBytes <= 0 {
		l.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if l.Backoff <= 0 {
		l.Backoff = DefaultBackoff
	}
	if l.MaxBackoff <= 0 {
		l.MaxBackoff = DefaultMaxBackoff
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}
