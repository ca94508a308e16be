// Package verify is signet's verification engine: from an image reference
// and a trust policy to a Decision. `sign verify`, `sign`'s preflight and
// post-check, the `enforce` webhook and its background verifier all call
// it, so the CI and the cluster cannot disagree.
//
// The flow is one way and each step is typed data (flow.go): the policy
// picks the rule and its mode (Prepare, no network); the reference is
// resolved to a digest (a digest reference is never re-resolved); the
// trusted material the rule needs is resolved (trust.go); the signatures
// and attestations attached to the digest are read in both OCI layouts
// (ocisig) as Evidence (collect*.go); Evaluate verifies each with
// sigstore-go against that material, matches certificates against the
// rule's identities and provenance against its conditions (policy), and
// returns a Decision that records what held and why, as typed Reasons
// (evaluate*.go); text and JSON are renderings of it (render*.go).
package verify

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/trustroot"
)

// Verifier is the engine's three costly steps (Resolve, Trust, Decide).
// It is safe for concurrent use; it holds no per-image state. It is meant
// to live as long as the process: it keeps, per registry, the
// authentication its verifications share (one ping, one token per
// repository and credentials), the transport's kept-alive connections and
// the trusted material it resolved.
type Verifier struct {
	remote   []remote.Option
	registry *regclient.Client // reads: one ping and token per process
	keychain authn.Keychain
	roots    *trustroot.Store
	keys     keyCache
	trusts   trustMemo
	// revocation checks Notation chains (OCSP, CRL), its CRLs kept for
	// the process like the registry's tokens; envelopes remembers the
	// integrity checks of Notation envelopes.
	revocation RevocationChecker
	envelopes  *integrityMemo
}

// New returns a Verifier.
func New(opts ...Option) *Verifier {
	v := &Verifier{keys: keyCache{load: loadKMSKey}}
	for _, o := range opts {
		o(v)
	}
	if v.roots == nil {
		v.roots = trustroot.NewStore(trustroot.NewRefresher(trustroot.Options{}))
	}
	if v.registry == nil {
		v.registry = regclient.New()
	}
	if v.revocation == nil {
		v.revocation = NewOCSPCRLChecker()
	}
	v.envelopes = newIntegrityMemo()
	return v
}

// Flow is the engine's flow over the Verifier alone, without caches.
func (v *Verifier) Flow() Flow { return Flow{Resolver: v, Trust: v, Decider: v} }

// Verify decides one image under a policy through v's Flow, with the
// Verifier's own credentials.
func (v *Verifier) Verify(ctx context.Context, image string, p *policy.Policy) *Decision {
	return v.Flow().Decide(ctx, Request{Image: image, Policy: p})
}

// Decide collects the evidence on t's digest and evaluates it under
// trust: the TargetDecider of the flow. A failure to read the evidence is
// a denial that names it, with what the registry did.
func (v *Verifier) Decide(ctx context.Context, t Target, trust *Trust) *Decision {
	t.Request = t.Request.tracked()
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
		d = Evaluate(t, ev, trust)
	}
	if d.Transient {
		d.addCause(t.Tracker.Failure(), err)
	}
	return d
}

// Resolve returns the digest the subject's reference names. A digest
// reference is returned as is: the digest the workload names is the
// digest verified.
func (v *Verifier) Resolve(ctx context.Context, s Subject) (name.Digest, error) {
	ref := s.Ref
	if dg, ok := ref.(name.Digest); ok {
		return dg, nil
	}
	s.Request = s.Request.tracked()
	d, err := v.resolve(ctx, s.Request, ref)
	return d, regclient.WithFailure(err, s.Tracker.Failure())
}

// resolve asks the registry for the digest ref names.
func (v *Verifier) resolve(ctx context.Context, req Request, ref name.Reference) (name.Digest, error) {
	opts, err := v.session(req).remoteOpts(ctx, ref.Context())
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
