// Package verify is signet's verification engine: from an image reference
// and a trust policy to a Decision. `sign verify`, `sign`'s post-check and the
// `enforce` webhook all call it, so the CI and the cluster cannot disagree.
//
// The flow is one way: the policy picks the rule (no network), the
// reference is resolved to a digest (a digest reference is never
// re-resolved), signatures and attestations are read in both OCI layouts
// (ocisig), each is verified with sigstore-go against the trusted root or
// the rule's keys, and the certificate is matched against the rule's
// identities (policy). The Decision records what held and why.
package verify

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature/kms"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/trustroot"
)

// Verifier decides images. It is safe for concurrent use; it holds no
// per-image state.
type Verifier struct {
	remote    []remote.Option
	transport http.RoundTripper
	keychain  authn.Keychain
	roots     *trustroot.Store
	loadKMS   func(ctx context.Context, uri string) (crypto.PublicKey, error)

	mu      sync.Mutex
	kmsKeys map[string]crypto.PublicKey
}

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
	return v
}

// loadKMSKey resolves a KMS URI through sigstore's KMS registry. Providers
// register themselves when imported (cmd/sign and cmd/enforce import them).
func loadKMSKey(ctx context.Context, uri string) (crypto.PublicKey, error) {
	sv, err := kms.Get(ctx, uri, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading KMS key %s: %w", uri, err)
	}
	return sv.PublicKey()
}

// trustedRoot is the trusted root in force for the policy: the current
// public-good root (which a refresher may replace at any time), or the file
// content the policy pinned.
func (v *Verifier) trustedRoot(ctx context.Context, p *policy.Policy) (*trustroot.Root, error) {
	spec := p.Sigstore.TrustedRoot
	r, err := v.roots.Root(ctx, spec, p.Sigstore.TrustedRootDigest)
	if err != nil {
		return nil, fmt.Errorf("loading Sigstore trusted root %q: %w", spec, err)
	}
	return r, nil
}

// Verify decides one image under a policy. It always returns a Decision:
// registry and trust-root failures become denials with the failure as the
// reason (fail closed), never an error the caller could mistake for "allow".
// Its registry requests share one session and are accounted to the
// regclient.Tracker of ctx (one is added when ctx has none), whose budget
// bounds them and whose Cause is added to a transient denial.
func (v *Verifier) Verify(ctx context.Context, image string, p *policy.Policy) *Decision {
	start := time.Now()
	d := &Decision{Image: image, PolicyHash: p.Hash, Mode: string(p.Enforcement.Mode)}
	ctx, tr := v.begin(ctx)
	v.decide(ctx, d, image, p)
	if d.Transient {
		d.addCause(tr.Cause())
	}
	if d.Mode == string(policy.ModeAudit) && len(d.Reasons) > 0 {
		d.Allowed = true // audit: admit, report the violations
	} else {
		d.Allowed = len(d.Reasons) == 0
	}
	d.Elapsed = Duration(time.Since(start))
	return d
}

func (v *Verifier) decide(ctx context.Context, d *Decision, image string, p *policy.Policy) {
	ref, err := name.ParseReference(image)
	if err != nil {
		d.denyf("%q is not a valid image reference: %v", image, err)
		return
	}
	m, err := p.MatchRepository(ref.Context().Name())
	if err != nil {
		d.denyf("%v", err)
		return
	}
	r := m.Rule
	d.Rule = &RuleRef{Index: r.Index, Name: r.Name, Kind: r.Kind(), Pattern: m.Pattern}
	if r.Mode != "" {
		d.Mode = string(r.Mode)
	}
	if r.Deny != "" {
		d.denyf("rule %q denies %s: %s", r.Name, m.Repository, r.Deny)
		return
	}
	digest, err := v.Resolve(ctx, ref)
	if err != nil {
		d.denyf("could not resolve %s to a digest: %v", image, err)
		d.Transient = true
		return
	}
	d.Digest = digest.DigestStr()
	d.Pinned = Pin(image, digest)
	if r.Signature == policy.Optional {
		return // pin-only: the digest is what runs, no signature needed
	}
	v.checkDigest(ctx, d, digest, p, r)
}

// checkDigest verifies signatures (and provenance) of one digest.
func (v *Verifier) checkDigest(ctx context.Context, d *Decision, digest name.Digest, p *policy.Policy, r *policy.Rule) {
	found, err := v.fetch(ctx, digest, ocisig.Want{Attestations: r.Provenance != nil})
	if err != nil {
		d.denyFetch(digest, err)
		return
	}
	ev := &evaluation{v: v, p: p, rule: r, digest: digest, d: d}
	if err := ev.classify(found); err != nil {
		d.denyf("%v", err)
		return
	}
	ev.signatures(ctx)
	if r.Provenance != nil {
		ev.provenance(ctx)
	}
	if r.Platforms == policy.PlatformsAll {
		v.checkPlatforms(ctx, d, digest, p, r)
	}
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

// Pin returns the image as written plus the verified digest:
// "ghcr.io/acme/app:1.0" -> "ghcr.io/acme/app:1.0@sha256:...". An image that
// already names a digest is returned unchanged (it is what was verified).
func Pin(image string, digest name.Digest) string {
	if strings.Contains(image, "@") {
		return image
	}
	return image + "@" + digest.DigestStr()
}

// RootVersion returns the version of the trusted root p's identities need,
// loading it if necessary, or "" when they need none (keys without a
// transparency-log requirement). Caches key decisions on it, so a new
// public-good root (a refresh) or a new file makes new keys and every
// image is verified again under it. A refresh between RootVersion and the
// verification can only store a decision made with the newer root under
// the older key, which only requests begun before the refresh look up.
func (v *Verifier) RootVersion(ctx context.Context, p *policy.Policy) (string, error) {
	if !needsTrustedRoot(p) {
		return "", nil
	}
	r, err := v.trustedRoot(ctx, p)
	if err != nil {
		return "", err
	}
	return r.Version, nil
}

func needsTrustedRoot(p *policy.Policy) bool {
	for _, id := range p.Identities {
		if id.Keyless != nil || id.Key != nil && id.Key.TransparencyLog == policy.Required {
			return true
		}
	}
	return false
}

// fetch reads what is attached to digest, only the kinds asked for.
func (v *Verifier) fetch(ctx context.Context, digest name.Digest, want ocisig.Want) (*ocisig.Found, error) {
	opts, err := v.remoteOpts(ctx, digest.Context())
	if err != nil {
		return nil, err
	}
	return ocisig.FetchWant(ctx, digest, want, opts...)
}

// denyFetch denies for a failure to read signatures: transient (a registry
// failure), unless the registry answered and holds more than signet reads.
func (d *Decision) denyFetch(digest name.Digest, err error) {
	var tooMany *ocisig.TooManyError
	if errors.As(err, &tooMany) {
		d.denyf("%v", err)
		return
	}
	d.denyf("could not read signatures of %s: %v", digest, err)
	d.Transient = true
}

// addCause adds what the registry did to a transient denial, unless a
// reason already says it: "… context deadline exceeded" alone does not tell
// a developer that the registry answered 503 three times.
func (d *Decision) addCause(cause string) {
	if cause == "" {
		return
	}
	for _, r := range d.Reasons {
		if strings.Contains(r, cause) {
			return
		}
	}
	d.denyf("last registry error: %s", cause)
}

func (d *Decision) denyf(format string, args ...any) {
	d.Reasons = append(d.Reasons, fmt.Sprintf(format, args...))
}

func (d *Decision) reject(layout ocisig.Layout, kind ocisig.Kind, format string, args ...any) {
	d.Rejected = append(d.Rejected, Rejection{Layout: layout, Kind: kind, Reason: fmt.Sprintf(format, args...)})
}
