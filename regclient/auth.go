package regclient

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Auth is one process's authentication to registries, over one transport:
// the registry's challenge is asked for (GET /v2/) once per registry, and
// an authenticated transport is built once per registry, credentials and,
// for bearer registries, repository scope; every later call reuses it, its
// token and its kept-alive connections. go-containerregistry pings and
// fetches a token on every remote.Image, remote.Head and remote.Referrers;
// a verification makes several of each, and a webhook thousands.
//
// Credentials never travel further than they did: a transport is keyed by
// the credentials it was built with (a hash of them), so a token one
// caller's credentials earned is never used for a caller without them, and
// each transport sends its credentials or token only to its own registry
// (go-containerregistry's basic and bearer transports check the host of
// every request, redirects included).
type Auth struct {
	base http.RoundTripper
	mu   sync.Mutex
	// pings, transports and writers hold one entry per key; a failure is
	// not kept, so the next caller asks again.
	pings      map[string]*entry[*ggcr.Challenge]
	transports map[string]*entry[http.RoundTripper]
	// writers are the push transports (Writer), by registry, credentials
	// and repository; a read of the same repository with the same
	// credentials goes through its writer (a signing run's post-check).
	writers map[string]*entry[http.RoundTripper]
}

// maxEntries bounds an Auth's memory: a webhook sees credentials per pod
// (pull secrets), so keys are as many as distinct secrets and repositories.
// Past it the cache starts over; the cost is one ping and token per key.
const maxEntries = 4096

// NewAuth returns an Auth whose transports send through base (a transport
// from New, so every request, pings and token fetches included, keeps
// regclient's bounds and accounting).
func NewAuth(base http.RoundTripper) *Auth {
	return &Auth{base: base, pings: map[string]*entry[*ggcr.Challenge]{}, transports: map[string]*entry[http.RoundTripper]{},
		writers: map[string]*entry[http.RoundTripper]{}}
}

// Transport returns the transport for reading repo with auth, building it
// (ping, token) only if this Auth has none for repo's registry, auth's
// credentials and, on a bearer registry, repo's pull scope. The result is a
// transport.Wrapper: go-containerregistry uses it as is.
func (a *Auth) Transport(ctx context.Context, repo name.Repository, auth authn.Authenticator) (http.RoundTripper, error) {
	cfg, err := authn.Authorization(ctx, auth)
	if err != nil {
		return nil, err
	}
	if w := a.writer(repo, cfg); w != nil {
		return w, nil
	}
	reg := repo.Registry
	ch, err := lookup(&a.mu, a.pings, registryKey(reg)).get(ctx, func() (*ggcr.Challenge, error) {
		return ggcr.Ping(ctx, reg, a.base)
	})
	if err != nil {
		return nil, err
	}
	key := registryKey(reg) + "|" + credentialKey(cfg)
	scopes := []string{repo.Scope(ggcr.PullScope)}
	bearer := strings.EqualFold(ch.Scheme, "bearer")
	if bearer {
		// A token is scoped to repositories; basic and anonymous access
		// is not, so one transport serves every repository of the host.
		key += "|" + scopes[0]
	}
	return lookup(&a.mu, a.transports, key).get(ctx, func() (http.RoundTripper, error) {
		rt := ggcr.NewUserAgent(&schemeTransport{registry: reg, scheme: scheme(ch), inner: a.base}, "signet")
		tok := &ggcr.Token{Token: cfg.RegistryToken}
		if bearer && tok.Token == "" {
			if tok, err = ggcr.Exchange(ctx, reg, auth, rt, scopes, ch); err != nil {
				return nil, err
			}
			tok.Token = cmp.Or(tok.Token, tok.AccessToken) // some registries answer access_token
		}
		return ggcr.FromToken(reg, auth, rt, ch, tok)
	})
}

// Writer returns the transport for pushing to and reading repo with auth,
// built once per registry, credentials and repository. With credentials
// it authenticates at once (ping, token for push and pull); without any it
// sends requests anonymously and authenticates only if the registry
// answers 401: an open registry is never pinged, and one that wants a
// token costs one 401 more than the handshake would (anonymous pushes
// fail there anyway). Transport for the same repository and credentials
// returns it too. The result is a transport.Wrapper.
func (a *Auth) Writer(ctx context.Context, repo name.Repository, auth authn.Authenticator) (http.RoundTripper, error) {
	cfg, err := authn.Authorization(ctx, auth)
	if err != nil {
		return nil, err
	}
	return lookup(&a.mu, a.writers, writerKey(repo, cfg)).get(ctx, func() (http.RoundTripper, error) {
		l := &lazyAuth{repo: repo, auth: auth, base: a.base}
		if credentialKey(cfg) != "" {
			if err := l.handshake(ctx); err != nil {
				return nil, err
			}
		}
		// An anonymous basic transport adds nothing: FromToken only makes
		// l a transport.Wrapper.
		return ggcr.FromToken(repo.Registry, authn.Anonymous, l, &ggcr.Challenge{}, &ggcr.Token{})
	})
}

// writer is the Writer built for repo and cfg, or nil.
func (a *Auth) writer(repo name.Repository, cfg *authn.AuthConfig) http.RoundTripper {
	a.mu.Lock()
	e := a.writers[writerKey(repo, cfg)]
	a.mu.Unlock()
	if e == nil {
		return nil
	}
	e.sem <- struct{}{}
	defer func() { <-e.sem }()
	if !e.done {
		return nil
	}
	return e.v
}

func writerKey(repo name.Repository, cfg *authn.AuthConfig) string {
	return registryKey(repo.Registry) + "|" + credentialKey(cfg) + "|" + repo.Name()
}

// lazyAuth sends requests anonymously until the registry asks for
// credentials, then authenticates once (ping, token) and resends.
type lazyAuth struct {
	repo name.Repository
	auth authn.Authenticator
	base http.RoundTripper

	mu sync.Mutex
	rt http.RoundTripper // set once authenticated
}

func (l *lazyAuth) authenticated() http.RoundTripper {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rt
}

func (l *lazyAuth) handshake(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rt != nil {
		return nil
	}
	rt, err := ggcr.NewWithContext(ctx, l.repo.Registry, l.auth, l.base,
		[]string{l.repo.Scope(ggcr.PushScope), l.repo.Scope(ggcr.PullScope)})
	if err != nil {
		return fmt.Errorf("contacting registry %s: %w", l.repo.RegistryStr(), err)
	}
	l.rt = rt
	return nil
}

func (l *lazyAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	if rt := l.authenticated(); rt != nil {
		return rt.RoundTrip(req)
	}
	resp, err := l.base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || req.Body != nil && req.GetBody == nil {
		return resp, err
	}
	resp.Body.Close()
	if err := l.handshake(req.Context()); err != nil {
		return nil, err
	}
	again := req.Clone(req.Context())
	if req.GetBody != nil {
		if again.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	return l.authenticated().RoundTrip(again)
}

// lookup returns m's entry for key, adding it if m has none.
func lookup[T any](mu *sync.Mutex, m map[string]*entry[T], key string) *entry[T] {
	mu.Lock()
	defer mu.Unlock()
	e := m[key]
	if e == nil {
		if len(m) >= maxEntries {
			clear(m)
		}
		e = &entry[T]{sem: make(chan struct{}, 1)}
		m[key] = e
	}
	return e
}

// entry is a value built once, by one caller at a time: the others wait
// for it within their own deadline, and try themselves if it failed.
type entry[T any] struct {
	sem  chan struct{}
	done bool
	v    T
}

func (e *entry[T]) get(ctx context.Context, build func() (T, error)) (T, error) {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	defer func() { <-e.sem }()
	if e.done {
		return e.v, nil
	}
	v, err := build()
	if err == nil {
		e.v, e.done = v, true
	}
	return v, err
}

func registryKey(reg name.Registry) string { return reg.Scheme() + "://" + reg.RegistryStr() }

// credentialKey identifies credentials without keeping them: a hash of
// what would be sent ("" is anonymous).
func credentialKey(cfg *authn.AuthConfig) string {
	if cfg == nil || *cfg == (authn.AuthConfig{}) {
		return ""
	}
	b, _ := json.Marshal(cfg)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func scheme(ch *ggcr.Challenge) string {
	if ch.Insecure {
		return "http"
	}
	return "https"
}

// schemeTransport sends requests to the registry with the scheme its ping
// answered on (go-containerregistry's own is unexported). Other hosts (a
// token realm, blob storage) keep theirs.
type schemeTransport struct {
	registry name.Registry
	scheme   string
	inner    http.RoundTripper
}

func (s *schemeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == s.registry.RegistryStr() || r.Host == s.registry.RegistryStr() {
		r.URL.Scheme = s.scheme
	}
	return s.inner.RoundTrip(r)
}
