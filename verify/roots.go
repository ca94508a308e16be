package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
)

// A trust file may give an identity its own Sigstore root (a private
// Sigstore beside public-good, GitHub's instance for private
// repositories): a keyless signature is verified against the root of the
// identity it is matched to, with that identity's required proofs, so a
// certificate another instance's Fulcio issued never satisfies it. Trust
// resolves those roots beside the policy's (identityRoot), and its Version
// names them all, so a decision is kept by every root it was checked under.

// rootResult is one identity section's resolved root, or why it is missing.
type rootResult struct {
	root *trustroot.Root
	err  error
}

// identityRoot resolves the root of sigstore section s (an identity's own,
// not the policy's) into t, once.
func (v *Verifier) identityRoot(ctx context.Context, t *Trust, s policy.Sigstore) {
	if _, done := t.roots[s]; done {
		return
	}
	if t.roots == nil {
		t.roots = map[policy.Sigstore]rootResult{}
	}
	var r rootResult
	r.root, r.err = v.rootFor(ctx, s)
	t.roots[s] = r
	t.rootOrder = append(t.rootOrder, s)
}

// rootFor loads the trusted root of a sigstore section.
func (v *Verifier) rootFor(ctx context.Context, s policy.Sigstore) (*trustroot.Root, error) {
	r, err := v.roots.Root(ctx, s.TrustedRoot, s.TrustedRootDigest)
	if err != nil {
		return nil, fmt.Errorf("loading Sigstore trusted root %q: %w", s.TrustedRoot, err)
	}
	return r, nil
}

// identityRootsCurrent says whether the identity roots kept in t are still
// the ones the store hands out (a refresh of public-good replaces them).
func (v *Verifier) identityRootsCurrent(ctx context.Context, t *Trust) bool {
	for _, s := range t.rootOrder {
		if r, err := v.rootFor(ctx, s); err != nil || r != t.roots[s].root {
			return false
		}
	}
	return true
}

// identityVersions are the versions of the identities' own roots, in the
// order they were resolved (Version appends them to the policy root's).
func (t *Trust) identityVersions() []string {
	var vs []string
	for _, s := range t.rootOrder {
		if r := t.roots[s]; r.root != nil {
			vs = append(vs, r.root.Version)
		}
	}
	return vs
}

// identityErr is why an identity's own root could not be loaded, or nil.
func (t *Trust) identityErr() error {
	var errs []error
	for _, s := range t.rootOrder {
		errs = append(errs, t.roots[s].err)
	}
	return errors.Join(errs...)
}

// trustedRootOf is the root of sigstore section s for a candidate that
// needs it; the policy's is also the decision's TrustedRoot.
func (e *evaluation) trustedRootOf(s policy.Sigstore) (*trustroot.Root, error) {
	if s == e.p.Sigstore {
		return e.trustedRoot()
	}
	r, ok := rootResult{}, false
	if e.trust != nil {
		r, ok = e.trust.roots[s]
	}
	if !ok {
		r.err = fmt.Errorf("no trusted root resolved for %q", s.TrustedRoot)
	}
	e.d.Transient = e.d.Transient || r.err != nil
	if r.root != nil && e.d.TrustedRoot == "" {
		e.d.TrustedRoot, e.d.TrustedRootSource = r.root.Version, string(r.root.Source)
	}
	return r.root, r.err
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
