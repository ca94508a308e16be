package verify

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
)

// Evaluate decides t from ev: the engine's last step. It verifies each
// found signature and attestation (sigstore-go, against the trusted root
// or the rule's keys; predicted ones are taken as signed by their Signer),
// matches them against the rule's identities and threshold, checks
// provenance against the rule's conditions and, under platforms: all,
// every platform of an index, and each attestation the rule requires
// (attestations.go: signers, age, CEL conditions); the Decision says what held and, for each
// requirement that did not, a typed Reason.
func Evaluate(ctx context.Context, t Target, ev *Evidence) *Decision {
	d := t.decision()
	r := t.Match.Rule
	if r.Signature == policy.Optional {
		d.settle()
		return d // pin-only: the digest is what runs, no signature needed
	}
	e := &evaluation{p: t.Policy, rule: r, digest: t.Digest, ev: ev, d: d, now: time.Now(), budget: policy.NewBudget()}
	d.Rejected = slices.Clone(ev.rejected)
	if e.unsignedAdmitted() {
		d.settle()
		return d // signature: ifPresent, and none is there
	}
	e.signatures(ctx)
	if r.Provenance != nil {
		e.provenance(ctx)
	}
	e.attestations(ctx)
	if r.Platforms == policy.PlatformsAll && ev.platforms != nil {
		e.platforms(ctx)
	}
	e.unread()
	d.settle()
	return d
}

// unread records what was listed but not read (over ocisig.MaxItems) as
// rejected material, so every decision says it. What was read decides: a
// signature that satisfies the rule admits the image whatever else is
// attached. A denial, though, was made without looking at everything (an
// unread item may be the signature the rule wants, hidden by junk anyone
// with push access can add): it says so and is transient, so no cache
// keeps it and it changes as soon as the digest is cleaned up.
func (e *evaluation) unread() {
	var what []string
	for _, u := range e.ev.unread {
		r := NewReason(CodeTooManySignatures, "%s", u)
		e.d.Rejected = append(e.d.Rejected, Rejection{Layout: u.Layout, Kind: u.Kind, Reason: r.String(), Code: r.Code})
		what = append(what, u.String())
	}
	if len(what) == 0 || len(e.d.Reasons) == 0 {
		return
	}
	e.d.deny(NewReason(CodeTooManySignatures, "not everything attached to %s was read, and what was read does not satisfy rule %q: %s",
		shortDigest(e.digest), e.rule.Name, strings.Join(what, "; ")))
	e.d.Transient = true
}

// evaluation carries the state of deciding one digest.
type evaluation struct {
	p      *policy.Policy
	rule   *policy.Rule
	digest name.Digest
	ev     *Evidence
	d      *Decision
	// now is when the attestations' ages are measured; budget is what
	// conditions may still spend.
	now    time.Time
	budget *policy.Budget
	// statements are the candidates' statements decoded for conditions,
	// each once.
	statements map[*candidate]*policy.Facts

	root    *trustroot.Root
	rootErr error
	rootSet bool
	// roots are the identities' own trusted roots loaded so far (roots.go).
	roots map[policy.Sigstore]rootResult
}

// trustedRoot loads the policy's trusted root once per evaluation, the
// first time a candidate needs it.
func (e *evaluation) trustedRoot(ctx context.Context) (*trustroot.Root, error) {
	if !e.rootSet {
		e.root, e.rootErr = e.ev.trust.trustedRoot(ctx, e.p)
		e.rootSet = true
		e.d.Transient = e.d.Transient || e.rootErr != nil
		if e.root != nil {
			e.d.TrustedRoot, e.d.TrustedRootSource = e.root.Version, string(e.root.Source)
		}
	}
	return e.root, e.rootErr
}

func (e *evaluation) reject(c *candidate, r Reason) {
	e.d.Rejected = append(e.d.Rejected, Rejection{Layout: c.layout, Kind: c.kind, Reason: r.String(), Code: r.Code, Mismatch: r.Mismatch, Attestation: r.Attestation})
}
