package verify

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/regclient"
)

// session is the registry side of one verification: the transport for
// each repository it reads, from the Verifier's regclient.Auth (which pings
// each registry and fetches each token once per process, not once per
// call as go-containerregistry does for every remote.Image, remote.Head and
// remote.Referrers), and one regclient.Tracker that accounts for, and
// bounds, all of its requests. A repository the session could not
// authenticate to is not tried again within the verification.
type session struct {
	v  *Verifier
	mu sync.Mutex
	// byRepo holds a transport (or the error of building it) per
	// repository; a mutex per entry lets calls about other repositories
	// proceed while one pings.
	byRepo map[string]*repoTransport
}

type repoTransport struct {
	once sync.Once
	rt   http.RoundTripper
	err  error
}

type sessionKey struct{}

// begin returns ctx carrying a session of v and a Tracker, adding whichever
// it lacks (a caller such as enforce's cache may bring its own Tracker).
func (v *Verifier) begin(ctx context.Context) (context.Context, *regclient.Tracker) {
	ctx, tr := tracked(ctx)
	if s, _ := ctx.Value(sessionKey{}).(*session); s == nil || s.v != v {
		ctx = context.WithValue(ctx, sessionKey{}, &session{v: v, byRepo: map[string]*repoTransport{}})
	}
	return ctx, tr
}

// remoteOpts are the registry options for calls about repo within the
// session of ctx (begin must have been called).
func (v *Verifier) remoteOpts(ctx context.Context, repo name.Repository) ([]remote.Option, error) {
	s, _ := ctx.Value(sessionKey{}).(*session)
	if s == nil {
		ctx, _ = v.begin(ctx)
		s = ctx.Value(sessionKey{}).(*session)
	}
	rt, err := s.transport(ctx, repo)
	if err != nil {
		return nil, err
	}
	return append([]remote.Option{remote.WithContext(ctx), remote.WithTransport(rt)}, v.remote...), nil
}

func (s *session) transport(ctx context.Context, repo name.Repository) (http.RoundTripper, error) {
	s.mu.Lock()
	e := s.byRepo[repo.Name()]
	if e == nil {
		e = &repoTransport{}
		s.byRepo[repo.Name()] = e
	}
	s.mu.Unlock()
	e.once.Do(func() { e.rt, e.err = s.v.authenticate(ctx, repo) })
	return e.rt, e.err
}

// authenticate returns the transport for reading repo with the request's
// keychain, then the Verifier's (anonymous if neither knows the registry),
// over the Verifier's registry transport. The result is a
// transport.Wrapper: go-containerregistry uses it as is, adding neither
// another ping nor its own retries (regclient retries, within the caller's
// deadline).
func (v *Verifier) authenticate(ctx context.Context, repo name.Repository) (http.RoundTripper, error) {
	if v.signedIn != nil {
		return v.signedIn, nil
	}
	var kcs []authn.Keychain
	if kc := RequestKeychain(ctx); kc != nil {
		kcs = append(kcs, kc)
	}
	if v.keychain != nil {
		kcs = append(kcs, v.keychain)
	}
	auth := authn.Anonymous
	if len(kcs) > 0 {
		// The credentials of the registry that is read (a mirror's, with
		// WithRegistries), never those of a name it stands in for.
		a, err := authn.Resolve(ctx, authn.NewMultiKeychain(kcs...), v.auth.Dial(repo))
		if err != nil {
			return nil, fmt.Errorf("finding credentials for %s: %w", repo, err)
		}
		auth = a
	}
	rt, err := v.auth.Transport(ctx, repo, auth)
	if err != nil {
		return nil, fmt.Errorf("contacting registry %s: %w", repo.RegistryStr(), err)
	}
	return rt, nil
}
