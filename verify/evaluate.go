package verify

import (
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
)

// Evaluate decides t from ev under trust: the engine's last step, pure
// (no I/O, no context: trust holds every key and root it may use). It
// verifies each found signature and attestation (sigstore-go, against the
// trusted root or the rule's keys; predicted ones are taken as signed by
// their Signer, and need no trust), matches them against the rule's
// identities and threshold, checks provenance against the rule's
// conditions and, under platforms: all, every platform of an index, and
// each attestation the rule requires (evaluate_attestations.go: signers,
// age, CEL conditions); the Decision says what held and, for each
// requirement that did not, a typed Reason.
func Evaluate(t Target, ev *Evidence, trust *Trust) *Decision {
	d := t.decision()
	r := t.Match.Rule
	if r.Signature == policy.Optional {
		d.settle()
		return d // pin-only: the digest is what runs, no signature needed
	}
	e := &evaluation{p: t.Policy, rule: r, digest: t.Digest, ev: ev, trust: trust, d: d, now: time.Now(), budget: policy.NewBudget()}
	d.Rejected = slices.Clone(ev.rejected)
	if e.unsignedAdmitted() {
		d.settle()
		return d // signature: ifPresent, and none is there
	}
	e.signatures()
	if r.Provenance != nil {
		e.provenance()
	}
	e.attestations()
	if r.Platforms == policy.PlatformsAll && ev.platforms != nil {
		e.platforms()
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
	trust  *Trust
	d      *Decision
	// now is when the attestations' ages are measured; budget is what
	// conditions may still spend.
	now    time.Time
	budget *policy.Budget
	// statements are the candidates' statements decoded for conditions,
	// each once.
	statements map[*candidate]*policy.Facts
}

// trustedRoot is the trusted root, for a candidate that needs it: the
// decision records which root it used, or is transient when there was
// none to use.
func (e *evaluation) trustedRoot() (*trustroot.Root, error) {
	r, err := e.trust.trustedRoot()
	e.d.Transient = e.d.Transient || err != nil
	if r != nil {
		e.d.TrustedRoot, e.d.TrustedRootSource = r.Version, string(r.Source)
	}
	return r, err
}

func (e *evaluation) reject(c *candidate, r Reason) {
	e.d.Rejected = append(e.d.Rejected, Rejection{Layout: c.layout, Kind: c.kind, Reason: r.String(), Code: r.Code, Mismatch: r.Mismatch, Attestation: r.Attestation})
}
