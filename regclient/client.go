package regclient

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Client is signet's one registry client: the engine reads through it
// (verify), sign writes and post-checks through it, and enforce bounds it.
// What differs between them is options of this one object, as
// go-containerregistry's remote.Puller takes its options: the limits and
// retries of each request (Limits), the priority gate in front of each
// registry host (WithHostConcurrency), the memory of what a run wrote
// (WithMemory), its logging and the name its errors carry. Authentication
// is the client's (Auth), accounting the work's (Tracker), failures typed
// (Failure). It is safe for concurrent use and meant to live as long as
// its caller: a webhook process, one signing run.
type Client struct {
	rt   *transport
	top  http.RoundTripper // rt, or the memory in front of it
	auth *Auth
}

// Option configures a Client.
type Option func(*config)

type config struct {
	base    http.RoundTripper
	lim     Limits
	gate    Gate
	memory  bool
	log     func(format string, args ...any)
	service string
}

// WithBase sends through rt (default HTTPTransport).
func WithBase(rt http.RoundTripper) Option { return func(c *config) { c.base = rt } }

// WithLimits bounds and retries each request (fields left zero keep their
// defaults).
func WithLimits(l Limits) Option { return func(c *config) { c.lim = l } }

// WithGate admits every attempt through g (after the budget check, before
// the request is sent).
func WithGate(g Gate) Option { return func(c *config) { c.gate = g } }

// WithHostConcurrency admits at most n requests at once per registry host,
// the waiting ones by priority (NewLimiter).
func WithHostConcurrency(n int) Option { return WithGate(NewLimiter(n)) }

// WithMemory remembers what the client wrote and read back (memory.go):
// a signing run's post-check reads what the run attached without
// downloading it again.
func WithMemory() Option { return func(c *config) { c.memory = true } }

// WithLog is told of every retry (what failed, the wait, the attempt), so
// a slow CI job says why.
func WithLog(f func(format string, args ...any)) Option { return func(c *config) { c.log = f } }

// WithService names what the client talks to in the errors it returns
// ("Fulcio: … (gave up after 4 attempts)"); a registry reader names none,
// its failures are reported through the Tracker.
func WithService(name string) Option { return func(c *config) { c.service = name } }

// New returns a Client.
func New(opts ...Option) *Client {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.base == nil {
		cfg.base = HTTPTransport()
	}
	c := &Client{rt: &transport{base: cfg.base, lim: cfg.lim.withDefaults(), gate: cfg.gate, log: cfg.log, service: cfg.service}}
	c.top = c.rt
	if cfg.memory {
		c.top = newMemory(c.rt)
	}
	c.auth = NewAuth(c.top)
	return c
}

// Transport is the client's bounded, retrying transport without
// authentication: for a service that is not a registry (Fulcio, Rekor, a
// timestamp authority), or for tests.
func (c *Client) Transport() http.RoundTripper { return c.top }

// Reader is the transport for reading repo with auth, its requests
// accounted to tr: authenticated once per process (Auth.Transport), and a
// transport.Wrapper, which go-containerregistry uses as is.
func (c *Client) Reader(ctx context.Context, tr *Tracker, repo name.Repository, auth authn.Authenticator) (http.RoundTripper, error) {
	rt, err := c.auth.Transport(withTracker(ctx, tr), repo, auth)
	if err != nil {
		return nil, err
	}
	return Track(repo.Registry, rt, tr), nil
}

// Writer is the transport for pushing to (and reading) repo with auth
// (Auth.Writer): every write and read of a run goes through it, and a
// Reader of the same repository and credentials later (the post-check)
// is this very transport.
func (c *Client) Writer(ctx context.Context, repo name.Repository, auth authn.Authenticator) (http.RoundTripper, error) {
	return c.auth.Writer(ctx, repo, auth)
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
