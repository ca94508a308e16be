package verify

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

// Decision is the engine's answer for one image: the verdict and everything
// that produced it. Its JSON form is a stable, documented interface (see
// docs/verify-json.md): fields are only ever added.
type Decision struct {
	// Image is the reference as given.
	Image string `json:"image"`
	// Digest is the manifest digest that was verified ("sha256:...");
	// empty only when the image could not be resolved or a deny rule
	// refused it before resolution.
	Digest string `json:"digest,omitempty"`
	// Pinned is the reference that must run: the given name (and tag) plus
	// the verified digest.
	Pinned string `json:"pinned,omitempty"`
	// Allowed is the verdict. An audit-mode rule can be Allowed with
	// Violations: the image would have been denied under enforce.
	Allowed bool `json:"allowed"`
	// Mode is the mode the governing rule decides in (policy.Policy.ModeOf).
	Mode policy.Mode `json:"mode"`
	// PolicyHash identifies the exact policy that decided.
	PolicyHash string   `json:"policyHash"`
	Rule       *RuleRef `json:"rule,omitempty"`
	// Signatures that verified and satisfied an identity of the rule.
	Signatures []SignatureResult `json:"signatures,omitempty"`
	// Attestations that verified and satisfied the rule's provenance and
	// the attestations it requires.
	Attestations []AttestationResult `json:"attestations,omitempty"`
	// Platforms lists child manifests checked when the rule requires
	// every platform of an index to be signed.
	Platforms []PlatformResult `json:"platforms,omitempty"`
	// Reasons explain a denial (or, in audit mode, what would have denied).
	// In JSON, "reasons" holds their sentences (the field's form since the
	// first release) and "reasonDetails" the typed reasons.
	Reasons []Reason `json:"-"`
	// Rejected lists material that was found but did not count, and why:
	// the first place to look when a signature "is there" but is not accepted.
	Rejected []Rejection `json:"rejected,omitempty"`
	// Transient marks a denial caused by infrastructure (a registry, TUF or
	// the trusted root could not be read) rather than by the image, or made
	// without reading everything attached (more than signet reads, see
	// Rejected): retrying may change it, so it is never cached.
	Transient bool `json:"transient,omitempty"`
	// TrustedRoot is the version of the Sigstore trusted root used, if any,
	// and TrustedRootSource where it came from: tuf, embedded (the snapshot
	// built into signet: offline, or TUF was unreachable) or file.
	TrustedRoot       string `json:"trustedRoot,omitempty"`
	TrustedRootSource string `json:"trustedRootSource,omitempty"`
	// Elapsed is how long the decision took.
	Elapsed Duration `json:"elapsedMs"`
	// DecidedAt is when the engine made the decision: a decision a store
	// kept keeps it, so a report can say since when its result holds.
	DecidedAt time.Time `json:"-"`
	// ValidUntil, when set, is when the decision stops being true by
	// itself: an attestation it counted becomes older than its rule's
	// maxAge. A cache keeps it no longer.
	ValidUntil *time.Time `json:"validUntil,omitempty"`

	// Unsigned: the rule says signature: ifPresent and nothing
	// signature-like is attached, so the image is admitted (pinned)
	// without a signature.
	Unsigned bool `json:"unsigned,omitempty"`
}

// RuleRef names the rule that governed the image.
type RuleRef struct {
	Index   int             `json:"index"`
	Name    string          `json:"name"`
	Kind    policy.RuleKind `json:"kind"`
	Pattern string          `json:"pattern"`
	// Hash is the rule's meaning (policy.Rule.Hash): what a verdict or a
	// store binds a decision to.
	Hash string `json:"-"`
}

// SignatureResult is one verified signature and the identity it satisfied.
type SignatureResult struct {
	Identity string        `json:"identity"`
	Layout   ocisig.Layout `json:"layout"`
	// Subject and Issuer are set for keyless signatures (certificate SAN and
	// OIDC issuer); KeyID for key signatures.
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	KeyID   string `json:"keyID,omitempty"`
	// LogIndex is the Rekor log index, when the signature has a log entry.
	LogIndex   *int64      `json:"logIndex,omitempty"`
	Timestamps []Timestamp `json:"timestamps,omitempty"`

	// Set for Notation signatures (layout notation), whose Subject is the
	// signing certificate's DN: that certificate's fingerprint, the trust
	// anchor its chain reached, the envelope's media type, the Notary
	// Project signing scheme and what the revocation check found.
	Certificate   string `json:"certificate,omitempty"`
	Anchor        string `json:"anchor,omitempty"`
	Envelope      string `json:"envelope,omitempty"`
	SigningScheme string `json:"signingScheme,omitempty"`
	Revocation    string `json:"revocation,omitempty"`
}

// Timestamp is a verified time for a signature.
type Timestamp struct {
	Kind string    `json:"kind"` // tlog or tsa
	URI  string    `json:"uri,omitempty"`
	Time time.Time `json:"time"`
}

// AttestationResult summarizes an accepted attestation: the provenance
// (Requirement empty) with the SLSA fields read from it, or one the rule
// requires under Requirement's name.
type AttestationResult struct {
	Requirement      string        `json:"requirement,omitempty"`
	Identity         string        `json:"identity"`
	Layout           ocisig.Layout `json:"layout"`
	PredicateType    string        `json:"predicateType"`
	BuilderID        string        `json:"builderID,omitempty"`
	BuildType        string        `json:"buildType,omitempty"`
	SourceRepository string        `json:"sourceRepository,omitempty"`
	SourceRef        string        `json:"sourceRef,omitempty"`
	SourceDigest     string        `json:"sourceDigest,omitempty"`
	Subject          string        `json:"subject,omitempty"`
	LogIndex         *int64        `json:"logIndex,omitempty"`
	// SignedAt is the attestation's trusted time (the earliest verified
	// log entry or timestamp), when it has one; ValidUntil is when it
	// becomes older than its requirement's maxAge.
	SignedAt   *time.Time `json:"signedAt,omitempty"`
	ValidUntil *time.Time `json:"validUntil,omitempty"`
}

// AttestationRef names the attestation a reason is about: the
// requirement, its predicate type, where it was found and who signed it
// when, and the condition at fault, if one.
type AttestationRef struct {
	Requirement   string        `json:"requirement"`
	PredicateType string        `json:"predicateType"`
	Layout        ocisig.Layout `json:"layout,omitempty"`
	LogIndex      *int64        `json:"logIndex,omitempty"`
	SignedAt      *time.Time    `json:"signedAt,omitempty"`
	Condition     string        `json:"condition,omitempty"`
}

// PlatformResult is the signature check of one child of an index.
type PlatformResult struct {
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
	Signed   bool   `json:"signed"`
	Reason   string `json:"reason,omitempty"`
}

// Rejection is attached material that did not count: its reason as a
// sentence, and typed (code, and the field at fault when one is).
type Rejection struct {
	Layout ocisig.Layout `json:"layout"`
	Kind   ocisig.Kind   `json:"kind"`
	Reason string        `json:"reason"`
	Code   ReasonCode    `json:"code,omitempty"`
	policy.Mismatch
	Attestation *AttestationRef `json:"attestation,omitempty"`
}

// Outcome is what a decision came to, whatever renders it: the webhook's
// result, a log line, a metric label, a PolicyReport result, `sign
// verify`'s verdict, how long a store keeps it.
type Outcome string

const (
	// OutcomeAllow: admitted, nothing held against it.
	OutcomeAllow Outcome = "allow"
	// OutcomeDeny: refused.
	OutcomeDeny Outcome = "deny"
	// OutcomeAudit: admitted in audit mode, with reasons that would have
	// refused it in enforce mode.
	OutcomeAudit Outcome = "audit-violation"
)

// Outcome is what d came to: its reasons decide, and its verdict whether
// they were admitted (audit mode).
func (d *Decision) Outcome() Outcome {
	switch {
	case len(d.Reasons) == 0:
		return OutcomeAllow
	case d.Allowed:
		return OutcomeAudit
	}
	return OutcomeDeny
}

// InNamespace returns d as it applies in a namespace of mode m, the one
// place a namespace's mode meets a decision: in an audit namespace a
// denial is admitted and reported (mode audit), as under an audit-mode
// rule; in any other, d as the rule decided it. An exempt namespace is
// never decided. d is not changed (a store shares it).
func (d *Decision) InNamespace(m policy.NamespaceMode) *Decision {
	if m != policy.NamespaceAudit || d.Mode == policy.ModeAudit {
		return d
	}
	out := *d
	out.Mode = policy.ModeAudit
	out.settle()
	return &out
}

// WithReason returns a copy of d with r added and the verdict settled
// again (allowed only in audit mode). d is not changed: a cache shares it.
func (d *Decision) WithReason(r Reason) *Decision {
	out := *d
	out.Reasons = append(slices.Clip(d.Reasons), r)
	out.settle()
	return &out
}

// Messages are the sentences of the decision's reasons, in order.
func (d *Decision) Messages() []string {
	out := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		out[i] = r.String()
	}
	return out
}

// Has reports whether a reason of the decision has code.
func (d *Decision) Has(code ReasonCode) bool {
	return slices.ContainsFunc(d.Reasons, func(r Reason) bool { return r.Code == code })
}

// decisionJSON is Decision without its methods, for MarshalJSON.
type decisionJSON Decision

// MarshalJSON writes the documented form (docs/verify-json.md): the
// reasons as sentences under "reasons", as they always were, and typed
// under "reasonDetails".
func (d Decision) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		decisionJSON
		Reasons []string `json:"reasons,omitempty"`
		Details []Reason `json:"reasonDetails,omitempty"`
	}{decisionJSON(d), d.Messages(), d.Reasons})
}

// UnmarshalJSON reads the documented form back. A document without
// reasonDetails (written before they existed) gets one uncoded Reason per
// sentence.
func (d *Decision) UnmarshalJSON(b []byte) error {
	var in struct {
		*decisionJSON
		Reasons []string `json:"reasons"`
		Details []Reason `json:"reasonDetails"`
	}
	in.decisionJSON = (*decisionJSON)(d)
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	d.Reasons = in.Details
	if len(d.Reasons) == 0 {
		for _, m := range in.Reasons {
			d.Reasons = append(d.Reasons, Reason{Message: m})
		}
	}
	return nil
}

// Duration marshals as milliseconds with microsecond precision.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	ms := float64(time.Duration(d).Microseconds()) / 1000
	return []byte(strconv.FormatFloat(ms, 'f', -1, 64)), nil
}

// UnmarshalJSON reads the millisecond form back, so the documented JSON
// round-trips through this type.
func (d *Duration) UnmarshalJSON(b []byte) error {
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("elapsedMs: %w", err)
	}
	*d = Duration(ms * float64(time.Millisecond))
	return nil
}
