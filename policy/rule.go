package policy

import (
	"fmt"
)

// Rule governs the images its patterns match. Exactly one of three shapes:
// a deny rule (Deny set), a pin-only rule (Signature optional), or a
// signature rule (SignedBy non-empty).
type Rule struct {
	// Index is the rule's position in the file (0-based); Name defaults to
	// "images[Index]".
	Index int
	Name  string
	Match []Glob

	Deny string

	Signature Requirement
	SignedBy  []*Identity
	// Threshold is how many distinct identities of SignedBy must have signed.
	Threshold int

	Provenance *Provenance

	// Attestations are the other attestations the rule requires (SBOMs,
	// scans, any predicate), each with its signers, age and conditions.
	Attestations []*Attestation

	// Platforms says what a multi-arch image needs: PlatformsNamed (default)
	// verifies the digest the workload names; PlatformsAll additionally
	// requires every child manifest of an index to be signed.
	Platforms Platforms

	// Mode overrides the enforcement mode for this rule (audit: report but admit).
	Mode Mode

	// NoPin is the file's `pin: false`: enforce admits the images this rule
	// governs without rewriting their tag to the verified digest (GitOps
	// tools then see no drift), and its validating pass verifies the
	// digest the tag names when it runs instead of requiring the pin. The
	// decision is still about a verified digest; what the node pulls later
	// is what the tag names then (the background verifier reports it).
	// Default false: every image is pinned.
	NoPin bool

	// SignatureRepository is the normalized repository the rule's
	// signatures and attestations are stored in, when not beside the image
	// (cosign's COSIGN_REPOSITORY), or "". Credentials for it are those of
	// its own registry.
	SignatureRepository string
	// SignatureAnnotations must all be in the signed payload of every
	// signature the rule counts (cosign sign -a).
	SignatureAnnotations map[string]string

	// Hash is the hash of what a decision under this rule depends on (its
	// requirements, the identities it names, the sigstore section, the
	// mode it decides in) and of nothing that only selects which images it
	// governs. A decision about a digest stays valid across trust-file
	// edits that keep the governing rule's Hash (and the trusted root).
	Hash string
}

// Platforms is the multi-arch requirement of a rule.
type Platforms string

const (
	PlatformsNamed Platforms = "named"
	PlatformsAll   Platforms = "all"
)

// Provenance says which attestation an image must carry.
type Provenance struct {
	Required bool
	// PredicateTypes accepted (default: SLSA v1 only).
	PredicateTypes []string
	// SignedBy defaults to the rule's SignedBy.
	SignedBy []*Identity
	// BuilderIDs match runDetails.builder.id (v1) / builder.id (v0.2).
	BuilderIDs []Glob
	// BuildTypes match buildDefinition.buildType exactly.
	BuildTypes []string
	// SourceRepositories match the provenance source repository URI, e.g.
	// "https://github.com/acme/**".
	SourceRepositories []Glob
	// SourceRefs match the source ref ("refs/heads/main").
	SourceRefs []Glob
	// SourceMatchesSigner requires the provenance's source repository to
	// equal the attestation certificate's Source Repository URI.
	SourceMatchesSigner bool
	// Conditions are CEL conditions on the predicate, checked besides the
	// structured fields above.
	Conditions []*Condition
}

// SLSA predicate types.
const (
	SLSAProvenanceV1  = "https://slsa.dev/provenance/v1"
	SLSAProvenanceV02 = "https://slsa.dev/provenance/v0.2"
)

// RuleKind is a rule's shape: what a decision under it needs.
type RuleKind string

const (
	// RuleDeny refuses every image it matches, with its message.
	RuleDeny RuleKind = "deny"
	// RulePinOnly admits by digest without a signature (third-party images).
	RulePinOnly RuleKind = "pin-only"
	// RuleSignature needs signatures (and maybe provenance) by its identities.
	RuleSignature RuleKind = "signature"
)

// Kind is the rule's shape.
func (r *Rule) Kind() RuleKind {
	switch {
	case r.Deny != "":
		return RuleDeny
	case r.Signature == Optional:
		return RulePinOnly
	default:
		return RuleSignature
	}
}

func (r *Rule) String() string {
	return fmt.Sprintf("%s (match %s)", r.Name, joinGlobs(r.Match, ", "))
}

// IdentityNames lists the names of the rule's signers.
func IdentityNames(ids []*Identity) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.Name
	}
	return out
}

// Match is the outcome of matching an image against the policy: the first
// step of every decision.
type Match struct {
	// Repository is the normalized repository ("index.docker.io/library/nginx").
	Repository string
	Rule       *Rule
	// Pattern is the glob of Rule that matched.
	Pattern string
	// Mode is the mode the rule decides in (ModeOf).
	Mode Mode
}

// ModeOf is the mode a decision under r is made in: the rule's own mode
// when it sets one, else the policy's. It is the one place the override is
// written; Match, Explain and the rule's Hash all take it from here.
func (p *Policy) ModeOf(r *Rule) Mode {
	if r.Mode != "" {
		return r.Mode
	}
	return p.Enforcement.Mode
}

// Match finds the first rule whose patterns match the image's normalized
// repository. A reference that names no rule is an error: an image that
// no rule mentions must never be admitted by omission.
func (p *Policy) Match(image string) (Match, error) {
	repo, err := NormalizeRepository(image)
	if err != nil {
		return Match{}, err
	}
	return p.matchCanonical(repo)
}

// MatchRepository is Match for a repository name as go-containerregistry
// spells it ("host/path"). It is normalized again (cheaply, and
// idempotently), so every spelling of a registry selects the same rule. A
// host the runtime would not reach as written (see HostError) is an error.
func (p *Policy) MatchRepository(repo string) (Match, error) {
	canonical, err := canonicalRepository(repo)
	if err != nil {
		return Match{Repository: repo}, err
	}
	return p.matchCanonical(canonical)
}

func (p *Policy) matchCanonical(repo string) (Match, error) {
	if m, ok := p.memo.get(repo); ok {
		return m, nil
	}
	if r, pattern := p.index.lookup(repo); r != nil {
		m := Match{Repository: repo, Rule: r, Pattern: pattern, Mode: p.ModeOf(r)}
		p.memo.put(repo, m)
		return m, nil
	}
	return Match{Repository: repo}, &NoRuleError{Policy: p.sourceName(), Repository: repo}
}

// NoRuleError is Match's error for a repository no rule matches: such an
// image is never admitted by omission.
type NoRuleError struct {
	// Policy names the trust file; Repository is the normalized repository.
	Policy, Repository string
}

func (e *NoRuleError) Error() string {
	return fmt.Sprintf("no rule in %s matches %s; add a rule (or a final catch-all rule with match: [\"**\"])", e.Policy, e.Repository)
}

func (p *Policy) sourceName() string {
	if p.Source == "" {
		return "the trust policy"
	}
	return p.Source
}
