package sign

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// connect returns the run's one authenticated transport to repo's
// registry, for pushing and pulling repo: every read, write and the
// post-check of the run go through it, so the registry is pinged and a
// token exchanged at most once per run. It is a transport.Wrapper, which
// go-containerregistry (and the verify engine, through verify.WithTransport)
// uses as is, without a ping of its own.
//
// With credentials for the registry, it pings at once (go-containerregistry's
// handshake: the challenge says how to authenticate). Without any, it
// sends requests anonymously and pings only if the registry answers 401:
// an open registry is never pinged, and one that wants a token costs one
// 401 more than the handshake would (anonymous pushes fail there anyway).
func connect(ctx context.Context, repo name.Repository, kc authn.Keychain, base http.RoundTripper) (http.RoundTripper, error) {
	auth := authn.Anonymous
	if kc != nil {
		a, err := authn.Resolve(ctx, kc, repo)
		if err != nil {
			return nil, fmt.Errorf("finding credentials for %s: %w", repo, err)
		}
		auth = a
	}
	l := &lazyAuth{repo: repo, auth: auth, base: base}
	if auth != authn.Anonymous {
		if err := l.handshake(ctx); err != nil {
			return nil, err
		}
	}
	// An anonymous basic transport adds nothing: FromToken only makes l a
	// transport.Wrapper.
	return transport.FromToken(repo.Registry, authn.Anonymous, l, &transport.Challenge{}, &transport.Token{})
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
	rt, err := transport.NewWithContext(ctx, l.repo.Registry, l.auth, l.base,
		[]string{l.repo.Scope(transport.PushScope), l.repo.Scope(transport.PullScope)})
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
