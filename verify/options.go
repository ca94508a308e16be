package verify

import (
	"context"
	"crypto"
	"net/http"

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
// its accounting (use WithTransport instead).
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(v *Verifier) { v.remote = append(v.remote, opts...) }
}

// WithTransport sets the registry transport (default: a regclient
// transport over regclient.HTTPTransport, with regclient's default limits).
// enforce passes one with its per-registry limiter as the Gate.
func WithTransport(rt http.RoundTripper) Option {
	return func(v *Verifier) { v.transport = rt }
}

// WithAuthenticatedTransport reads every repository through rt as is: a
// transport.Wrapper that already authenticates to its registry (sign's run
// transport, which has pinged and exchanged a token at most once for the
// whole run). The engine adds no ping and no token of its own, and no
// keychain is consulted: rt's credentials are the only ones sent.
func WithAuthenticatedTransport(rt http.RoundTripper) Option {
	return func(v *Verifier) { v.signedIn = rt }
}

// WithRegistries reads mirrored registries from their mirrors, with the
// mirror's credentials (the decision and the pin keep the name the image
// was given by). A transport given to WithTransport must come from
// regclient.New with the same Registries (their CAs and plain HTTP).
func WithRegistries(r *regclient.Registries) Option {
	return func(v *Verifier) { v.registries = r }
}

// WithKeychain sets the verifier's own registry credentials (the Docker
// config, cloud helpers). A request's keychain (WithRequestKeychain) is
// tried first.
func WithKeychain(kc authn.Keychain) Option {
	return func(v *Verifier) { v.keychain = kc }
}

type requestKeychainKey struct{}

// WithRequestKeychain attaches credentials for one request (a pod's pull
// secrets) to ctx. Keychains resolve per registry, so each credential only
// goes to the registry it names.
func WithRequestKeychain(ctx context.Context, kc authn.Keychain) context.Context {
	if kc == nil {
		return ctx
	}
	return context.WithValue(ctx, requestKeychainKey{}, kc)
}

// RequestKeychain returns the keychain WithRequestKeychain attached, or nil.
func RequestKeychain(ctx context.Context) authn.Keychain {
	kc, _ := ctx.Value(requestKeychainKey{}).(authn.Keychain)
	return kc
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
	return func(v *Verifier) { v.loadKMS = f }
}

// WithRevocationChecker replaces how Notation certificate chains are
// checked for revocation (default: NewOCSPCRLChecker).
func WithRevocationChecker(rc RevocationChecker) Option {
	return func(v *Verifier) { v.revocation = rc }
}
