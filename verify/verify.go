// Package verify is signet's verification engine: from an image reference
// and a trust policy to a Decision. `sign verify`, `sign`'s preflight and
// post-check, the `enforce` webhook and its background verifier all call
// it, so the CI and the cluster cannot disagree.
//
// The flow is one way and each step is typed data (flow.go): the policy
// picks the rule and its mode (policy.Match, no network); the reference is
// resolved to a digest (a digest reference is never re-resolved); the
// signatures and attestations attached to it are read in both OCI layouts
// (ocisig) as Evidence; Evaluate verifies each with sigstore-go against
// the trusted root or the rule's keys, matches certificates against the
// rule's identities and provenance against its conditions (policy), and
// returns a Decision that records what held and why, as typed Reasons.
package verify

import (
	"context"
	"crypto"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/trustroot"
)

// Verifier decides images. It is safe for concurrent use; it holds no
// per-image state. It is meant to live as long as the process: it keeps,
// per registry, the authentication its verifications share (one ping, one
// token per repository and credentials) and the transport's kept-alive
// connections.
type Verifier struct {
	remote    []remote.Option
	transport http.RoundTripper
	auth      *regclient.Auth   // over transport: one ping and token per process
	signedIn  http.RoundTripper // WithAuthenticatedTransport: used as is
	keychain  authn.Keychain
	roots     *trustroot.Store
	loadKMS   func(ctx context.Context, uri string) (crypto.PublicKey, error)
	// revocation checks Notation chains (OCSP, CRL), its CRLs kept for
	// the process like the registry's tokens; envelopes remembers the
	// integrity checks of Notation envelopes.
	revocation RevocationChecker
	envelopes  *integrityMemo

	mu      sync.Mutex
	kmsKeys map[string]crypto.PublicKey
}

// New returns a Verifier.
func New(opts ...Option) *Verifier {
	v := &Verifier{loadKMS: loadKMSKey}
	for _, o := range opts {
		o(v)
	}
	if v.roots == nil {
		v.roots = trustroot.NewStore(trustroot.NewRefresher(trustroot.Options{}))
	}
	if v.transport == nil {
		v.transport = regclient.New(regclient.HTTPTransport(), regclient.Options{})
	}
	v.auth = regclient.NewAuth(v.transport)
	if v.revocation == nil {
		v.revocation = NewOCSPCRLChecker()
	}
	v.envelopes = newIntegrityMemo()
	return v
}

// Verify decides one image under a policy: Flow over the Verifier itself.
// Its registry requests share one session.
func (v *Verifier) Verify(ctx context.Context, image string, p *policy.Policy) *Decision {
	ctx, _ = v.begin(ctx)
	return Flow{Resolver: v, Decider: v}.Verify(ctx, image, p)
}

// Decide collects the evidence on t's digest and evaluates it: the
// TargetDecider of the flow. A failure to read the evidence is a denial
// that names it, with what the registry did.
func (v *Verifier) Decide(ctx context.Context, t Target) *Decision {
	ctx, tr := v.begin(ctx)
	ev, err := v.Collect(ctx, t)
	var d *Decision
	if err != nil {
		r, transient := fetchReason(t.Digest, err)
		if transient {
			d = t.Unavailable(r)
		} else {
			d = t.decision()
			d.deny(r)
			d.settle()
		}
	} else {
		d = Evaluate(ctx, t, ev)
	}
	if d.Transient {
		d.addCause(tr.Cause())
	}
	return d
}

// Resolve returns the digest the reference names. A digest reference is
// returned as is: the digest the workload names is the digest verified.
func (v *Verifier) Resolve(ctx context.Context, ref name.Reference) (name.Digest, error) {
	if dg, ok := ref.(name.Digest); ok {
		return dg, nil
	}
	ctx, _ = v.begin(ctx)
	opts, err := v.remoteOpts(ctx, ref.Context())
	if err != nil {
		return name.Digest{}, err
	}
	desc, err := remote.Head(ref, opts...)
	if err != nil && ctx.Err() != nil {
		return name.Digest{}, err
	}
	if err != nil {
		// Some registries refuse HEAD on manifests; GET is authoritative.
		gd, gerr := remote.Get(ref, opts...)
		if gerr != nil {
			return name.Digest{}, gerr
		}
		return ref.Context().Digest(gd.Digest.String()), nil
	}
	return ref.Context().Digest(desc.Digest.String()), nil
}

// trustedRoot is the trusted root in force for the policy: the current
// public-good root (which a refresher may replace at any time), or the file
// content the policy pinned.
func (v *Verifier) trustedRoot(ctx context.Context, p *policy.Policy) (*trustroot.Root, error) {
	return v.rootFor(ctx, p.Sigstore)
}

// RootVersion returns the version of the trusted root p's identities need,
// loading it if necessary, or "" when they need none (keys without a
// transparency-log requirement). Caches key decisions on it (Target.Key),
// so a new public-good root (a refresh) or a new file makes new keys and
// every image is verified again under it. A refresh between RootVersion and
// the verification can only store a decision made with the newer root under
// the older key, which only requests begun before the refresh look up.
func (v *Verifier) RootVersion(ctx context.Context, p *policy.Policy) (string, error) {
	if !p.NeedsTrustedRoot() {
		return "", nil
	}
	return v.rootVersions(ctx, p)
}
