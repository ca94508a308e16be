package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
)

// A trust file may give an identity its own Sigstore root (a private
// Sigstore beside public-good, GitHub's instance for private
// repositories): a keyless signature is verified against the root of the
// identity it is matched to, with that identity's required proofs, so a
// certificate another instance's Fulcio issued never satisfies it.

// rootFor loads the trusted root of a sigstore section.
func (v *Verifier) rootFor(ctx context.Context, s policy.Sigstore) (*trustroot.Root, error) {
	r, err := v.roots.Root(ctx, s.TrustedRoot, s.TrustedRootDigest)
	if err != nil {
		return nil, fmt.Errorf("loading Sigstore trusted root %q: %w", s.TrustedRoot, err)
	}
	return r, nil
}

// trustedRootOf is the root of sigstore section s, loaded once per
// evaluation; the policy's is also the decision's TrustedRoot.
func (e *evaluation) trustedRootOf(ctx context.Context, s policy.Sigstore) (*trustroot.Root, error) {
	if s == e.p.Sigstore {
		return e.trustedRoot(ctx)
	}
	if e.roots == nil {
		e.roots = map[policy.Sigstore]rootResult{}
	}
	r, ok := e.roots[s]
	if !ok {
		r.root, r.err = e.ev.trust.rootFor(ctx, s)
		e.roots[s] = r
		e.d.Transient = e.d.Transient || r.err != nil
		if r.root != nil && e.d.TrustedRoot == "" {
			e.d.TrustedRoot, e.d.TrustedRootSource = r.root.Version, string(r.root.Source)
		}
	}
	return r.root, r.err
}

type rootResult struct {
	root *trustroot.Root
	err  error
}

// byRoot groups keyless identities by the sigstore section they are
// verified under, in the order they first appear.
func byRoot(p *policy.Policy, ids []*policy.Identity) ([]policy.Sigstore, map[policy.Sigstore][]*policy.Identity) {
	var order []policy.Sigstore
	groups := map[policy.Sigstore][]*policy.Identity{}
	for _, id := range keylessOf(ids) {
		s := p.SigstoreOf(id)
		if _, ok := groups[s]; !ok {
			order = append(order, s)
		}
		groups[s] = append(groups[s], id)
	}
	return order, groups
}

// rootVersions is the version of every trusted root p's identities are
// verified under, joined: what decisions are kept by (RootVersion).
func (v *Verifier) rootVersions(ctx context.Context, p *policy.Policy) (string, error) {
	var versions []string
	for _, s := range p.TrustedRoots() {
		r, err := v.rootFor(ctx, s)
		if err != nil {
			return "", err
		}
		versions = append(versions, r.Version)
	}
	return strings.Join(versions, "+"), nil
}
