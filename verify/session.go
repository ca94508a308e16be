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

// session is the registry side of one step of one request (a resolution,
// or the collection of a target's evidence): the request's credentials
// and Tracker, and the transport for each repository it reads, from the
// Verifier's regclient.Auth (which pings each registry and fetches each
// token once per process, not once per call as go-containerregistry does
// for every remote.Image, remote.Head and remote.Referrers). A repository
// the session could not authenticate to is not tried again within it.
type session struct {
	v        *Verifier
	keychain authn.Keychain
	tracker  *regclient.Tracker

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

// session starts the registry side of one step of req, accounted to its
// Tracker (a new one when it has none: registry work is never unbounded).
func (v *Verifier) session(req Request) *session {
	req = req.tracked()
	return &session{v: v, keychain: req.Keychain, tracker: req.Tracker, byRepo: map[string]*repoTransport{}}
}

// remoteOpts are the registry options for calls about repo.
func (s *session) remoteOpts(ctx context.Context, repo name.Repository) ([]remote.Option, error) {
	rt, err := s.transport(ctx, repo)
	if err != nil {
		return nil, err
	}
	return append([]remote.Option{remote.WithContext(ctx), remote.WithTransport(rt)}, s.v.remote...), nil
}

func (s *session) transport(ctx context.Context, repo name.Repository) (http.RoundTripper, error) {
	s.mu.Lock()
	e := s.byRepo[repo.Name()]
	if e == nil {
		e = &repoTransport{}
		s.byRepo[repo.Name()] = e
	}
	s.mu.Unlock()
	e.once.Do(func() { e.rt, e.err = s.authenticate(ctx, repo) })
	return e.rt, e.err
}

// authenticate returns the transport for reading repo with the request's
// keychain, then the Verifier's (anonymous if neither knows the registry),
// from the Verifier's registry client, accounted to the session's
// Tracker. The result is a transport.Wrapper: go-containerregistry uses it
// as is, adding neither another ping nor its own retries (regclient
// retries, within the caller's deadline).
func (s *session) authenticate(ctx context.Context, repo name.Repository) (http.RoundTripper, error) {
	v := s.v
	var kcs []authn.Keychain
	if s.keychain != nil {
		kcs = append(kcs, s.keychain)
	}
	if v.keychain != nil {
		kcs = append(kcs, v.keychain)
	}
	auth := authn.Anonymous
	if len(kcs) > 0 {
		// The credentials of the registry that is read (a mirror's, with
		// regclient.WithRegistries), never those of a name it stands in for.
		a, err := authn.Resolve(ctx, authn.NewMultiKeychain(kcs...), v.registry.Dial(repo))
		if err != nil {
			return nil, fmt.Errorf("finding credentials for %s: %w", repo, err)
		}
		auth = a
	}
	rt, err := v.registry.Reader(ctx, s.tracker, repo, auth)
	if err != nil {
		return nil, fmt.Errorf("contacting registry %s: %w", repo.RegistryStr(), err)
	}
	return rt, nil
}
