package verify

import (
	"context"
	"crypto"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/trustroot"
)

// Option configures a Verifier.
type Option func(*Verifier)

// WithRemoteOptions appends go-containerregistry options to every registry
// call. Credentials given here are ignored: a verification authenticates
// once per repository, with the request's keychain and then WithKeychain's.
// A transport given here replaces signet's registry client, its limits and
// its accounting (use WithRegistry instead).
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(v *Verifier) { v.remote = append(v.remote, opts...) }
}

// WithRegistry reads through c (default: a regclient.Client with
// regclient's default limits). enforce passes one with its per-registry
// limit; sign's post-check the run's own client, so it reads what the run
// wrote through the run's authentication and memory.
func WithRegistry(c *regclient.Client) Option {
	return func(v *Verifier) { v.registry = c }
}

// WithKeychain sets the verifier's own registry credentials (the Docker
// config, cloud helpers). A request's keychain (Request.Keychain) is
// tried first.
func WithKeychain(kc authn.Keychain) Option {
	return func(v *Verifier) { v.keychain = kc }
}

// WithTrustedRoots takes trusted roots from s (default: a store of its
// own, whose public-good root is fetched from TUF once and never
// refreshed). A long-running process passes a store whose public-good
// refresher it runs, so verifications follow key rotations.
func WithTrustedRoots(s *trustroot.Store) Option {
	return func(v *Verifier) { v.roots = s }
}

// WithOffline uses the embedded public-good snapshot instead of TUF.
func WithOffline() Option {
	return WithTrustedRoots(trustroot.NewStore(trustroot.NewRefresher(trustroot.Options{Offline: true})))
}

// WithKMSLoader replaces how KMS key URIs are resolved to public keys.
func WithKMSLoader(f func(ctx context.Context, uri string) (crypto.PublicKey, error)) Option {
	return func(v *Verifier) { v.keys.load = f }
}

// WithRevocationChecker replaces how Notation certificate chains are
// checked for revocation (default: NewOCSPCRLChecker).
func WithRevocationChecker(rc RevocationChecker) Option {
	return func(v *Verifier) { v.revocation = rc }
}
