package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verdict"
	"github.com/signet-dev/signet/verify"
)

// Defaults, which signet-node's flags show.
const (
	// DefaultBudget is how long Decide may verify: below containerd's NRI
	// request timeout (2 s by default), since a plugin that does not answer
	// in time is disconnected and the container created without it.
	DefaultBudget = 1500 * time.Millisecond
	// DefaultVerdictMaxAge is how old a webhook verdict may be.
	DefaultVerdictMaxAge = time.Hour
)

// Guard decides container creations.
type Guard struct {
	Policy enforce.PolicySource
	// Decider decides an image the verdict does not cover: the engine's
	// flow through enforce's Cache.
	Decider verify.Decider
	// Verdicts checks the webhook's signed verdicts; nil: every container
	// is verified (no verdict path).
	Verdicts      *verdict.Verifier
	VerdictMaxAge time.Duration
	Budget        time.Duration
	// Exempt namespaces are never checked, in addition to the trust file's
	// exempt namespaces: signet's own (the webhook and this plugin run
	// there, so neither can lock the other out).
	Exempt []string
	// Undecided is what happens when no decision could be made in time.
	Undecided Undecided
	Now       func() time.Time
}

// Request is one container the runtime is about to create.
type Request struct {
	Namespace, Pod, Container string
	// Image is the image as the pod names it (CRI's user-specified image);
	// Digest is the manifest or index digest the runtime resolved it to
	// and will run.
	Image, Digest string
	// Verdict is the pod's verdict annotation, if any.
	Verdict string
}

// Path says how a decision was made.
type Path string

const (
	PathExempt    Path = "exempt"
	PathVerdict   Path = "verdict"
	PathVerify    Path = "verify"
	PathUndecided Path = "undecided"
	PathInvalid   Path = "invalid"
)

// Result is Decide's answer.
type Result struct {
	Allowed bool
	Path    Path
	// Audit: the namespace is in audit mode; a denial was turned into an
	// admission (Reason says what would have denied).
	Audit bool
	// Reason explains a denial, an audited violation, an undecided
	// container, or why a verdict did not count.
	Reason     string
	Reference  string // repository@digest that was decided
	PolicyHash string
	Decision   *verify.Decision // set on the verify path
	Elapsed    time.Duration
	// Synchronized: the container already existed when the plugin
	// connected (created while no plugin ran); the result is what the node
	// would have done.
	Synchronized bool
}

// Decide decides one container creation. It always returns within about
// Budget (plus a verdict check, microseconds).
func (g *Guard) Decide(ctx context.Context, req Request) Result {
	start := g.now()
	r := g.decide(ctx, req)
	r.Elapsed = g.now().Sub(start)
	return r
}

func (g *Guard) decide(ctx context.Context, req Request) Result {
	p := g.Policy()
	r := Result{PolicyHash: p.Hash, Path: PathExempt, Allowed: true}
	// Namespace labels are not known on the node: label rules do not apply
	// and the namespace is decided by its name (fail closed).
	mode := p.Enforcement.NamespaceMode(req.Namespace, nil)
	if mode == policy.NamespaceExempt || slices.Contains(g.Exempt, req.Namespace) {
		return r
	}
	audit := mode == policy.NamespaceAudit
	ref, err := pinned(req.Image, req.Digest)
	if err != nil {
		return Result{PolicyHash: p.Hash, Path: PathInvalid, Reason: err.Error(), Allowed: audit, Audit: audit}
	}
	r.Reference = ref
	var verdictWhy string
	if req.Verdict != "" {
		ok, why := g.verdictCovers(req, ref, p)
		if ok {
			r.Path = PathVerdict
			return r
		}
		verdictWhy = "; the pod's verdict did not count: " + why
	}
	vctx, cancel := context.WithTimeout(ctx, g.budget())
	defer cancel()
	d := g.Decider.Decide(vctx, verify.Request{Image: ref, Policy: p}).InNamespace(mode)
	r.Decision, r.Path = d, PathVerify
	switch {
	case d.Transient:
		// An audit namespace or rule never blocks, decided or not.
		r.Path = PathUndecided
		r.Allowed = d.Allowed || g.Undecided.Allows(req.Namespace)
		r.Reason = fmt.Sprintf("could not decide %s within %s: %s%s", ref, g.budget(), strings.Join(d.Messages(), "; "), verdictWhy)
	case d.Outcome() != verify.OutcomeAllow:
		r.Allowed = d.Allowed
		r.Audit = r.Allowed
		r.Reason = strings.Join(d.Messages(), "; ") + verdictWhy
	}
	return r
}

// verdictCovers checks the pod's verdict for this container.
func (g *Guard) verdictCovers(req Request, ref string, p *policy.Policy) (bool, string) {
	if g.Verdicts == nil {
		return false, "this node trusts no verdict key"
	}
	c, err := g.Verdicts.Verify(req.Verdict)
	if err != nil {
		return false, err.Error()
	}
	s, d := verify.Prepare(verify.Request{Image: ref, Policy: p})
	if d != nil {
		return false, strings.Join(d.Messages(), "; ")
	}
	err = c.Covers(verdict.Want{Namespace: req.Namespace, Pod: req.Pod, Repository: s.Ref.Context().Name(), Digest: req.Digest,
		PolicyHash: p.Hash, RuleHash: s.Match.Rule.Hash, Now: g.now(), MaxAge: g.maxAge()})
	if err != nil {
		return false, err.Error()
	}
	return true, ""
}

// pinned is the reference the runtime will run: the image's repository at
// the digest the runtime resolved (never a tag).
func pinned(image, digest string) (string, error) {
	if !strings.HasPrefix(digest, "sha256:") {
		return "", fmt.Errorf("the runtime names no image digest for %q (got %q): cannot tell what would run", image, digest)
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("%q is not an image reference: %v", image, err)
	}
	d, err := name.NewDigest(ref.Context().Name() + "@" + digest)
	if err != nil {
		return "", fmt.Errorf("%s@%s: %v", ref.Context().Name(), digest, err)
	}
	return d.Name(), nil
}

func (g *Guard) budget() time.Duration {
	if g.Budget > 0 {
		return g.Budget
	}
	return DefaultBudget
}

func (g *Guard) maxAge() time.Duration {
	if g.VerdictMaxAge > 0 {
		return g.VerdictMaxAge
	}
	return DefaultVerdictMaxAge
}

func (g *Guard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}
