package verify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
)

// The engine decides an image in five steps, each with a typed result:
//
//	Prepare(Request)                     -> Subject (reference, rule, mode)  no network
//	Resolver.Resolve(ctx, Subject)       -> name.Digest                      a tag's digest
//	TrustSource.Trust(ctx, Subject)      -> *Trust (root, keys)              once per version
//	Verifier.Collect(ctx, Target)        -> *Evidence (signatures, attestations, platforms)
//	Evaluate(Target, *Evidence, *Trust)  -> *Decision                        pure
//
// Flow runs them in order and is the only route to a Decision. A
// TargetDecider (the Verifier: Collect then Evaluate) decides a resolved
// Target; a cache is a decorator on the Resolver (a tag cache) or on the
// TargetDecider (a decision store keyed by Target.Key), never a second
// path. Every decision, including those a store makes when the engine
// cannot answer in time, is built here.

// Request is one image to decide, and everything about the asker that
// the decision may use: explicit values, never context values.
type Request struct {
	Image  string
	Policy *policy.Policy
	// Keychain holds the asker's own registry credentials (a pod's pull
	// secrets), tried before the Verifier's; nil: the Verifier's alone.
	// Keychains resolve per registry, so each credential only goes to the
	// registry it names.
	Keychain authn.Keychain
	// Background marks work no one waits for (the background verifier):
	// its registry requests wait behind every other's, and a store may
	// answer it from older decisions (see enforce's decision store).
	Background bool
	// ReverifyDenied asks a store not to answer a denial from memory
	// (a periodic background pass: a denial is fixed by signing).
	ReverifyDenied bool
	// Tracker accounts for, and bounds, the request's registry traffic.
	// When it is nil, each step that goes to the registry (Resolve,
	// Decide) makes its own, so an answer from memory costs none.
	Tracker *regclient.Tracker

	// Waiting, when set, is called in the caller's goroutine before the
	// request first waits for registry work (a verification or a tag
	// resolution of a store in front of the engine), and never when it is
	// answered from memory: a caller deciding several requests one after
	// another hands the rest to other goroutines then (enforce's handler).
	Waiting func()

	// since is when Flow.Decide took the request: its place in a
	// registry gate's queue, whichever step first waits there.
	since time.Time
}

// Priority is the request's priority at a registry gate.
func (r Request) Priority() regclient.Priority {
	if r.Tracker != nil {
		return r.Tracker.Priority()
	}
	since := r.since
	if since.IsZero() {
		since = time.Now()
	}
	return regclient.Priority{Since: since, Background: r.Background}
}

// Wait calls r.Waiting, if set: a step of a store is about to wait for
// registry work.
func (r Request) Wait() {
	if r.Waiting != nil {
		r.Waiting()
	}
}

// tracked is r with a Tracker: its own, or a new one for a step that is
// about to go to the registry.
func (r Request) tracked() Request {
	if r.Tracker == nil {
		r.Tracker = regclient.NewTracker(r.Priority())
	}
	return r
}

// Subject is a request on its way through the engine: the reference
// parsed and the rule that governs it.
type Subject struct {
	Request
	Ref   name.Reference
	Match policy.Match
}

// Target is a Subject at the digest that will run: what evidence is
// collected for and evaluated against.
type Target struct {
	Subject
	Digest name.Digest
}

// Decider decides one request: a Flow, with or without caches. Every
// caller of the engine (the webhook, the background verifier, sign's
// post-check, sign verify) holds one.
type Decider interface {
	Decide(ctx context.Context, req Request) *Decision
}

// Resolver turns a subject's reference into the digest it names
// (Verifier.Resolve; a tag cache in front of one).
type Resolver interface {
	Resolve(ctx context.Context, s Subject) (name.Digest, error)
}

// TrustSource resolves the trusted material a subject's rule needs
// (Verifier.Trust).
type TrustSource interface {
	Trust(ctx context.Context, s Subject) *Trust
}

// TargetDecider decides a resolved target under trusted material: the
// engine's costly half (Verifier.Decide), which a decision store keeps.
type TargetDecider interface {
	Decide(ctx context.Context, t Target, trust *Trust) *Decision
}

// Flow is the engine's whole flow over its three parts, and, when set,
// a memo of its pure first step (a long-lived caller's: the webhook's).
type Flow struct {
	Resolver Resolver
	Trust    TrustSource
	Decider  TargetDecider
	Prepared *Prepared
}

// Decide decides one request. It always returns a Decision: registry and
// trust-root failures become denials with the failure as the reason (fail
// closed), never an error the caller could mistake for "allow". Its
// registry requests are accounted to req.Tracker, or to a Tracker per step
// that goes to the registry when that is nil: a request answered from
// caches makes none.
func (f Flow) Decide(ctx context.Context, req Request) *Decision {
	start := time.Now()
	req.since = start
	var s Subject
	var d *Decision
	if f.Prepared != nil {
		s, d = f.Prepared.Prepare(req)
	} else {
		s, d = Prepare(req)
	}
	if d == nil {
		if digest, err := f.Resolver.Resolve(ctx, s); err != nil {
			d = s.unresolved(err)
		} else {
			d = f.Decider.Decide(ctx, Target{Subject: s, Digest: digest}, f.Trust.Trust(ctx, s))
		}
	}
	d.Elapsed = Duration(time.Since(start))
	return d
}

// unresolved is the decision for s when its reference could not be
// resolved with err: a transient denial that says what the registry did,
// from the Tracker err carries (regclient.WithFailure: the resolving
// step's, or the shared work's) or from the request's own.
func (s Subject) unresolved(err error) *Decision {
	d := s.deny(NewReason(resolveCode(err), "could not resolve %s to a digest: %v", s.Image, err), true)
	f := regclient.FailureOf(err)
	if f == nil {
		f = s.Tracker.Failure()
	}
	d.addCause(f, err)
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
func Prepare(req Request) (s Subject, d *Decision) {
	p := req.Policy
	s = Subject{Request: req, Match: policy.Match{Mode: p.Enforcement.Mode}}
	ref, err := name.ParseReference(req.Image)
	if err != nil {
		return s, s.deny(NewReason(CodeInvalidReference, "%q is not a valid image reference: %v", req.Image, err), false)
	}
	s.Ref = ref
	m, err := p.MatchRepository(ref.Context().Name())
	if he := (*policy.HostError)(nil); errors.As(err, &he) {
		return s, s.deny(NewReason(CodeInvalidReference, "%q is not a valid image reference: %v", req.Image, err), false)
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
	d := &Decision{Image: s.Image, Mode: s.Match.Mode, DecidedAt: time.Now()}
	if s.Policy != nil {
		d.PolicyHash = s.Policy.Hash
	}
	if r := s.Match.Rule; r != nil {
		d.Rule = &RuleRef{Index: r.Index, Name: r.Name, Kind: r.Kind(), Pattern: s.Match.Pattern, Hash: r.Hash}
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
// a transient denial for r (admitted in audit mode), never kept. A
// decision store gives it when a shared verification does not finish in
// time.
func (t Target) Unavailable(r Reason) *Decision {
	d := t.decision()
	d.Transient = true
	d.deny(r)
	d.settle()
	return d
}

// Key identifies what a decision about t under trust depends on: the
// digest (by its repository and digest, whatever tag the reference also
// names), the governing rule's meaning (policy.Rule.Hash: its
// requirements, identities, sigstore section and mode) and the trusted
// material's version. A decision made for one target stays valid for
// another with the same Key, whatever else the trust file changed: a
// decision store keeps decisions by it, and Present makes a kept decision
// the current policy's.
func (t Target) Key(trust *Trust) string {
	return t.Digest.Name() + "|" + t.Match.Rule.Hash + "|" + trust.Version()
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

// addCause adds what the registries did (f) to a transient denial,
// unless the error the denial reports (err) is f's own: "… context
// deadline exceeded" alone does not tell a developer that the registry
// answered 503 three times. Each step that talks to registries adds its
// own cause once: Verifier.Decide for the evidence, unresolved for a tag.
func (d *Decision) addCause(f *regclient.Failure, err error) {
	if f == nil || f.Said(err) {
		return
	}
	cause := f.String()
	d.deny(NewReason(CodeRegistryUnavailable, "last registry error: %s", cause).
		With(&policy.Mismatch{Field: "registry", Actual: cause}).WithRegistry(f))
	d.settle()
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
