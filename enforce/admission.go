package enforce

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/verify"
)

// Admission is one checked admission request and the webhook's answer to
// it: what metrics, events and the decision log record.
type Admission struct {
	Request  *admissionv1.AdmissionRequest
	Response *admissionv1.AdmissionResponse
	// Pass is the webhook that saw it: the mutating or the validating one.
	Pass Pass
	// Result is the outcome; empty for requests that are not checked
	// (deletes, status updates, kinds without a pod spec).
	Result Result
	// Audit is set when the namespace is in audit mode (its decisions are
	// in that mode: verify.Decision.InNamespace).
	Audit bool
	// PolicyHash is the policy that decided.
	PolicyHash string
	// Images are the images this admission decides: all of them, or on
	// UPDATE those it changes (see changedImages).
	Images []Image
	// Decisions are one per image, as they apply in the namespace.
	Decisions []*verify.Decision
	// Unchanged are the images of an UPDATE the old object already holds
	// at the same field: not decided.
	Unchanged []Image
	// KeepsTag, per image, says its rule has pin: false: no pin is added
	// or required (pinning.go).
	KeepsTag []bool
	// Failures deny the request; Violations are admitted with a warning
	// (audit mode). One "where (image): reasons" line each.
	Failures, Violations []string
}

// Pass is one of the two webhooks every request goes through.
type Pass string

const (
	// Mutating runs first and pins each image to the digest it verified.
	Mutating Pass = "mutate"
	// Validating sees the final object and checks it again.
	Validating Pass = "validate"
)

// Result is the outcome of an admission, or of one image in it.
type Result string

const (
	ResultAllow                 = Result(verify.OutcomeAllow)
	ResultDeny                  = Result(verify.OutcomeDeny)
	ResultAuditViolation        = Result(verify.OutcomeAudit) // admitted: audit mode, would have been denied
	ResultExempt         Result = "exempt"                    // exempt namespace, not verified
	ResultUnchanged      Result = "unchanged"                 // an UPDATE that changes no image: nothing to decide
)

// Decides reports whether this pass is the one that decides the admission,
// so that it is recorded (counted, evented, warned about) exactly once
// although both webhooks see every request. The mutating webhook runs
// first: when it denies, the validating one is never called, so a denial
// there is the decision. Otherwise the validating pass decides: it sees the
// final object (after every mutating webhook), and for a CREATE the UID the
// apiserver assigned, which events need to show up in `kubectl describe`.
func (a *Admission) Decides() bool { return a.Pass == Validating || !a.Response.Allowed }

// ImageResult is the outcome of image i: its decision's, or a denial for
// a container without an image.
func (a *Admission) ImageResult(i int) Result {
	if a.Images[i].Image == "" {
		return ResultDeny
	}
	return Result(a.Decisions[i].Outcome())
}

// requirePins is the validating pass's check that the final object names
// each image it decided by the digest that was verified. The mutating pass
// pins; a mutating webhook that runs after it can rewrite
// "app:v1@sha256:D" back to "app:v1", and the tag, decided again here,
// would be admitted for whatever digest it names when the kubelet pulls
// it. So a decided image without its digest is a failure (a violation in
// audit mode), never re-resolved and allowed.
func (a *Admission) requirePins() {
	for i, img := range a.Images {
		d := a.Decisions[i]
		if d.Digest == "" || d.Pinned == img.Image || a.keepsTag(i) {
			continue // not resolved (denied already), pinned, or verified at what its tag names now (pin: false)
		}
		a.Decisions[i] = d.WithReason(verify.NewReason(verify.CodeDigestNotPinned,
			"the final object names %s without the digest signet verified (%s): a mutating webhook that ran after signet's removed the pin, or signet's mutating webhook did not run", img.Image, d.Digest).
			WithHint("the object must name " + d.Pinned + "; keep mutating webhooks that run after signet's from rewriting image references"))
	}
}

// classify sorts the images' reasons into failures and violations.
func (a *Admission) classify() {
	for i, img := range a.Images {
		d := a.Decisions[i]
		if img.Image == "" {
			a.Failures = append(a.Failures, fmt.Sprintf("%s has no image", img.Where))
			continue
		}
		if len(d.Reasons) == 0 {
			continue
		}
		msg := fmt.Sprintf("%s (%s): %s", img.Where, img.Image, strings.Join(d.Messages(), "; "))
		if a.ImageResult(i) == ResultAuditViolation {
			a.Violations = append(a.Violations, msg)
		} else {
			a.Failures = append(a.Failures, msg)
		}
	}
}

// warnings are the audit violations as apiserver warnings, and the notes on
// images admitted without a pin, shown to the client once per admission
// (by the deciding pass).
func (a *Admission) warnings() []string {
	out := make([]string, len(a.Violations))
	for i, v := range a.Violations {
		out[i] = "signet audit: " + v
	}
	return append(out, a.keptTagNotes()...)
}

// auditAnnotations record, for the audit log, the policy that decided and
// per image its outcome (or "unchanged"), digest and the identity that
// signed it.
func (a *Admission) auditAnnotations() map[string]string {
	var notes, digests strings.Builder
	var identities []string
	add := func(b *strings.Builder, where, what string) {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(where + "=" + what)
	}
	for i, img := range a.Images {
		d := a.Decisions[i]
		add(&notes, img.Where, shortOutcome(d))
		if d.Digest != "" {
			add(&digests, img.Where, d.Digest)
		}
		for _, s := range d.Signatures {
			if !slices.Contains(identities, s.Identity) {
				identities = append(identities, s.Identity)
			}
		}
	}
	for _, img := range a.Unchanged {
		add(&notes, img.Where, "unchanged")
	}
	out := map[string]string{AuditPolicyHash: a.PolicyHash, AuditDecisions: notes.String()}
	if digests.Len() > 0 {
		out[AuditDigest] = digests.String()
	}
	if len(identities) > 0 {
		out[AuditIdentity] = strings.Join(identities, ", ")
	}
	return out
}
