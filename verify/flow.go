package verify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
)

// The engine decides an image in four steps, each with a typed result:
//
//	policy.Policy.Match(ref)         -> policy.Match (rule, pattern, effective mode)   Prepare
//	Resolver.Resolve(ctx, ref)       -> name.Digest                                    Flow
//	Verifier.Collect(ctx, Target)    -> *Evidence (signatures, attestations, platforms)
//	Evaluate(ctx, Target, *Evidence) -> *Decision
//
// Flow runs them in order; a TargetDecider (the Verifier: Collect then
// Evaluate) decides a resolved Target, and a cache may stand in front of
// it or of the Resolver. Every decision, including those a cache makes
// when the engine cannot answer in time, is built here.

// Subject is an image on its way through the engine: the reference as
// written and parsed, the policy, and the rule that governs it.
type Subject struct {
	Image  string
	Ref    name.Reference
	Policy *policy.Policy
	Match  policy.Match
}

// Target is a Subject at the digest that will run: what evidence is
// collected for and evaluated against.
type Target struct {
	Subject
	Digest name.Digest
}

// Resolver turns a reference into the digest it names (Verifier.Resolve).
type Resolver interface {
	Resolve(ctx context.Context, ref name.Reference) (name.Digest, error)
}

// TargetDecider decides a resolved target: the engine's costly half
// (Verifier.Decide), which enforce's cache keeps.
type TargetDecider interface {
	Decide(ctx context.Context, t Target) *Decision
}

// Flow is the engine's whole flow over a Resolver and a TargetDecider.
type Flow struct {
	Resolver Resolver
	Decider  TargetDecider
}

// Verify decides one image under a policy. It always returns a Decision:
// registry and trust-root failures become denials with the failure as the
// reason (fail closed), never an error the caller could mistake for "allow".
// Its registry requests are accounted to the regclient.Tracker of ctx (one
// is added when ctx has none), whose Cause is added to a transient denial.
func (f Flow) Verify(ctx context.Context, image string, p *policy.Policy) *Decision {
	start := time.Now()
	ctx, tr := tracked(ctx)
	s, d := Prepare(image, p)
	if d == nil {
		if digest, err := f.Resolver.Resolve(ctx, s.Ref); err != nil {
			d = s.deny(NewReason(resolveCode(err), "could not resolve %s to a digest: %v", image, err), true)
		} else {
			d = f.Decider.Decide(ctx, Target{Subject: s, Digest: digest})
		}
	}
	if d.Transient {
		d.addCause(tr.Cause())
	}
	d.Elapsed = Duration(time.Since(start))
	return d
}

// CodedError is an error that knows the reason code of the denial it
// causes (enforce's overload), where the step that meets it would give a
// generic one.
type CodedError interface {
	error
	ReasonCode() ReasonCode
}

// resolveCode is the code of a denial for a failed resolution.
func resolveCode(err error) ReasonCode {
	if ce := CodedError(nil); errors.As(err, &ce) {
		return ce.ReasonCode()
	}
	return CodeUnresolved
}

// Prepare is the engine's first step, pure: parse the reference and match
// it. A reference that does not parse, that no rule matches or that a deny
// rule refuses is decided here (d non-nil), without a registry request.
func Prepare(image string, p *policy.Policy) (s Subject, d *Decision) {
	s = Subject{Image: image, Policy: p, Match: policy.Match{Mode: p.Enforcement.Mode}}
	ref, err := name.ParseReference(image)
	if err != nil {
		return s, s.deny(NewReason(CodeInvalidReference, "%q is not a valid image reference: %v", image, err), false)
	}
	s.Ref = ref
	m, err := p.MatchRepository(ref.Context().Name())
	if he := (*policy.HostError)(nil); errors.As(err, &he) {
		return s, s.deny(NewReason(CodeInvalidReference, "%q is not a valid image reference: %v", image, err), false)
	}
	if err != nil {
		r := NewReason(CodeNoRule, "%v", err)
		if nr := (*policy.NoRuleError)(nil); errors.As(err, &nr) {
			r = r.With(&policy.Mismatch{Field: "rule", Expected: "a rule matching " + nr.Repository})
		}
		return s, s.deny(r, false)
	}
	s.Match = m
	if r := m.Rule; r.Deny != "" {
		return s, s.deny(NewReason(CodeDeniedByRule, "rule %q denies %s: %s", r.Name, m.Repository, r.Deny).
			With(&policy.Mismatch{Field: "rule", Expected: "an image the policy admits"}), false)
	}
	return s, nil
}

// decision is a decision about s with no verdict yet.
func (s Subject) decision() *Decision {
	d := &Decision{Image: s.Image, Mode: s.Match.Mode}
	if s.Policy != nil {
		d.PolicyHash = s.Policy.Hash
	}
	if r := s.Match.Rule; r != nil {
		d.Rule = &RuleRef{Index: r.Index, Name: r.Name, Kind: r.Kind(), Pattern: s.Match.Pattern}
	}
	return d
}

// deny is the decision that s is denied for r (admitted in audit mode).
func (s Subject) deny(r Reason, transient bool) *Decision {
	d := s.decision()
	d.Transient = transient
	d.deny(r)
	d.settle()
	return d
}

// decision is a decision about t with no verdict yet.
func (t Target) decision() *Decision {
	d := t.Subject.decision()
	if t.Digest.DigestStr() != "" {
		d.Digest, d.Pinned = t.Digest.DigestStr(), Pin(t.Image, t.Digest)
	}
	return d
}

// Unavailable is the decision for t when its evidence could not be read:
// a transient denial for r (admitted in audit mode), never cached. enforce's
// cache gives it when a shared verification does not finish in time.
func (t Target) Unavailable(r Reason) *Decision {
	d := t.decision()
	d.Transient = true
	d.deny(r)
	d.settle()
	return d
}

// Key identifies what a decision about t depends on: the digest (by its
// repository and digest, whatever tag the reference also names), the
// governing rule's meaning (policy.Rule.Hash: its requirements, identities,
// sigstore section and mode) and the trusted root version. A decision made
// for one target stays valid for another with the same Key, whatever else
// the trust file changed: enforce's cache and audit's memo keep decisions
// by it, and Present makes a kept decision the current policy's.
func (t Target) Key(rootVersion string) string {
	return t.Digest.Name() + "|" + t.Match.Rule.Hash + "|" + rootVersion
}

// Present returns d, a decision made for a target with t's Key, as a
// decision for t: t's image and pinned reference, the current policy's
// hash and the rule's current name and position, its mode applied. d is
// not changed (a cache shares it).
func (t Target) Present(d *Decision) *Decision {
	out := *d
	now := t.decision()
	out.Image, out.Pinned, out.Digest = now.Image, now.Pinned, now.Digest
	out.PolicyHash, out.Rule, out.Mode = now.PolicyHash, now.Rule, now.Mode
	out.Reasons = slices.Clip(d.Reasons) // a caller's append must not reach d's array
	out.settle()
	return &out
}

// settle sets the verdict from the reasons and the mode: allowed without
// reasons; with reasons, allowed only in audit mode (admit, report).
func (d *Decision) settle() {
	d.Allowed = len(d.Reasons) == 0 || d.Mode == policy.ModeAudit
}

func (d *Decision) deny(r Reason) { d.Reasons = append(d.Reasons, r) }

// addCause adds what the registry did to a transient denial, unless a
// reason already says it: "… context deadline exceeded" alone does not tell
// a developer that the registry answered 503 three times.
func (d *Decision) addCause(cause string) {
	if cause == "" {
		return
	}
	for _, r := range d.Reasons {
		if strings.Contains(r.String(), cause) {
			return
		}
	}
	d.deny(NewReason(CodeRegistryUnavailable, "last registry error: %s", cause).With(&policy.Mismatch{Field: "registry", Actual: cause}))
	d.settle()
}

// tracked returns ctx with a regclient.Tracker, adding one when it has none.
func tracked(ctx context.Context) (context.Context, *regclient.Tracker) {
	tr := regclient.FromContext(ctx)
	if tr == nil {
		tr = regclient.NewTracker(regclient.Priority{Since: time.Now()})
		ctx = regclient.WithTracker(ctx, tr)
	}
	return ctx, tr
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

// fetchReason is the reason a failure to read a digest's signatures gives:
// a registry failure (transient), since a listing longer than signet reads
// is not a failure (ocisig.Unread; see evaluation.unread), unless the
// registry answered with an attachment larger than signet reads (not
// transient: retrying does not change it).
func fetchReason(digest name.Digest, err error) (Reason, bool) {
	if tooLarge := (*ocisig.TooLargeError)(nil); errors.As(err, &tooLarge) {
		return NewReason(CodeTooLarge, "%s carries more than signet reads: %v", digest, err).
			WithHint("attach smaller attestations (a scan report without descriptions, an SBOM per image, not per base)"), false
	}
	return NewReason(CodeRegistryUnavailable, "could not read signatures of %s: %v", digest, err), true
}
