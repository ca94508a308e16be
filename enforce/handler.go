package enforce

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// PolicySource returns the current trust policy (it may be reloaded).
type PolicySource func() *policy.Policy

// Handler maps an admission request to a response. It is pure apart from
// the Decider: no HTTP, no encoding.
type Handler struct {
	// Decider decides one image: the engine's flow (verify.Flow), through
	// the Cache in a webhook. The handler needs nothing else from
	// verification.
	Decider verify.Decider
	Policy  PolicySource
	// Observe, if set, is told about every image decision of every pass
	// (both webhooks see each request); OnAdmission is the once-per-
	// admission record.
	Observe func(req *admissionv1.AdmissionRequest, img Image, d *verify.Decision)
	// OnAdmission, if set, is told about every checked admission once, by
	// the pass that decides it (see Decides): metrics, events, logs.
	OnAdmission func(a *Admission)
	// NamespaceLabels, if set, returns a namespace's labels for the trust
	// file's auditLabels/exemptLabels. On error the labels are unknown and
	// label rules do not apply: the namespace is enforced (fail closed).
	NamespaceLabels func(ctx context.Context, namespace string) (map[string]string, error)
	// Credentials, if set, returns the registry keychain of the workload
	// (its pull secrets and its service account's), used before the
	// webhook's own credentials.
	Credentials func(ctx context.Context, namespace string, w *Workload) (authn.Keychain, error)
	// MaxImages bounds the images one admission may ask to decide
	// (default DefaultMaxImages); a review with more is denied.
	MaxImages int
	// Verdicts, if set, signs a verdict onto each admitted pod for
	// signet-node (see addVerdict).
	Verdicts VerdictSigner
}

// Audit annotation keys. kube-apiserver prefixes each with the webhook's
// name ("pin.signet.dev/policy-hash") and rejects keys that already hold a
// "/", so they are plain names.
const (
	AuditPolicyHash = "policy-hash"
	AuditDecisions  = "decisions"
	AuditIdentity   = "identity"
	AuditDigest     = "digest"
)

// Mutate answers the mutating webhook: the decision, and for an admitted
// request the patch that pins each image to the digest that was verified.
func (h *Handler) Mutate(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	return h.review(ctx, req, Mutating)
}

// Validate answers the validating webhook: it decides the final object
// again, so a later mutating webhook cannot swap an image in, and requires
// each image it decides to carry the digest it verified, so a later one
// cannot strip the pin either (Admission.requirePins).
func (h *Handler) Validate(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	return h.review(ctx, req, Validating)
}

func (h *Handler) review(ctx context.Context, req *admissionv1.AdmissionRequest, pass Pass) *admissionv1.AdmissionResponse {
	a := h.handle(ctx, req, pass)
	if a.Result != "" && a.Decides() {
		a.Response.Warnings = append(a.Response.Warnings, a.warnings()...)
		if h.OnAdmission != nil {
			h.OnAdmission(a)
		}
	}
	return a.Response
}

func (h *Handler) handle(ctx context.Context, req *admissionv1.AdmissionRequest, pass Pass) *Admission {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	p := h.Policy()
	a := &Admission{Request: req, Response: resp, Pass: pass, PolicyHash: p.Hash}
	nsMode := h.namespaceMode(ctx, req.Namespace, p)
	if skip, why := h.skip(req, p, nsMode); skip {
		if why != "" {
			resp.AuditAnnotations = map[string]string{AuditPolicyHash: p.Hash, AuditDecisions: why}
			a.Result = ResultExempt
		}
		return a
	}
	a.Result = ResultDeny
	w, err := ExtractWorkload(req.Kind.Kind, req.Object.Raw, req.SubResource == "ephemeralcontainers")
	if err != nil {
		return a.deny(fmt.Sprintf("signet could not read the images of %s: %v", describe(req), err))
	}
	images, unchanged := w.Images, []Image(nil)
	if req.Operation == admissionv1.Update {
		images, unchanged = changedImages(req, w.Images)
	}
	if why := h.tooMany(w, images); why != "" {
		return a.deny(fmt.Sprintf("signet denied %s: %s", describe(req), why))
	}
	a.Unchanged = unchanged
	if len(images) == 0 && req.Operation == admissionv1.Update {
		a.Result = ResultUnchanged
		resp.AuditAnnotations = a.auditAnnotations()
		return a
	}
	var kc authn.Keychain
	if h.Credentials != nil {
		if kc, err = h.Credentials(ctx, req.Namespace, w); err != nil {
			return a.deny(fmt.Sprintf("signet could not read the pull secrets of %s: %v", describe(req), err))
		}
	}
	a.Audit = nsMode == policy.NamespaceAudit
	a.Images = images
	a.Decisions = h.decideAll(ctx, req, verify.Request{Policy: p, Keychain: kc}, nsMode, a.Images)
	a.markKeptTags(p)
	if pass == Validating {
		a.requirePins()
	}
	a.classify()
	resp.AuditAnnotations = a.auditAnnotations()
	if len(a.Failures) > 0 {
		return a.deny(fmt.Sprintf("signet denied %s under policy %s:\n- %s", describe(req), shortHash(p.Hash), strings.Join(a.Failures, "\n- ")))
	}
	a.Result = ResultAllow
	if len(a.Violations) > 0 {
		a.Result = ResultAuditViolation
	}
	if pass == Mutating {
		if err := pinPatch(resp, a.Images, a.Decisions, a.KeepsTag); err != nil {
			return a.deny(fmt.Sprintf("signet could not build the digest patch for %s: %v", describe(req), err))
		}
		h.addVerdict(resp, req, p, a)
	}
	return a
}

// skip says whether a request needs no verification, and why (for audit).
func (h *Handler) skip(req *admissionv1.AdmissionRequest, p *policy.Policy, nsMode policy.NamespaceMode) (bool, string) {
	switch {
	case req.Operation != admissionv1.Create && req.Operation != admissionv1.Update:
		return true, ""
	case req.SubResource != "" && req.SubResource != "ephemeralcontainers":
		return true, "" // status, scale, binding...: no image can change
	case nsMode == policy.NamespaceExempt:
		return true, "namespace exempt by policy"
	case !SupportedKind(req.Kind.Kind):
		return true, ""
	}
	return false, ""
}

// namespaceMode applies the trust file's namespace names and labels.
func (h *Handler) namespaceMode(ctx context.Context, ns string, p *policy.Policy) policy.NamespaceMode {
	var labels map[string]string
	e := p.Enforcement
	if h.NamespaceLabels != nil && ns != "" && (len(e.AuditLabels) > 0 || len(e.ExemptLabels) > 0) {
		labels, _ = h.NamespaceLabels(ctx, ns) // unknown labels: enforced
	}
	return e.NamespaceMode(ns, labels)
}

// decideAll decides the images, each as req (the policy and the
// workload's credentials) under the namespace's mode: a pod's latency is
// its slowest image, not the sum. Identical references are decided once.
// They are decided one after another in the current goroutine for as long
// as each is answered from memory; the first that must wait for registry
// work (verify.Request.Waiting) hands every later one to a goroutine of its
// own before it waits. So a cached pod starts no goroutine (each costs a
// thread wake-up, more than a cached decision), and a cold one waits once.
// Each goroutine writes only its own slot of decided; the slots of
// references are written before any goroutine starts and only read after
// they all end.
func (h *Handler) decideAll(ctx context.Context, req *admissionv1.AdmissionRequest, base verify.Request, ns policy.NamespaceMode, images []Image) []*verify.Decision {
	// slot[i] is images[i]'s place in refs, or -1 for no reference. A
	// review names at most MaxImagesPerReview images, so a linear search
	// costs less than a map.
	refs := make([]string, 0, len(images))
	slot := make([]int, len(images))
	for i, img := range images {
		slot[i] = -1
		if img.Image == "" {
			continue
		}
		slot[i] = slices.Index(refs, img.Image)
		if slot[i] < 0 {
			slot[i] = len(refs)
			refs = append(refs, img.Image)
		}
	}
	decided := make([]*verify.Decision, len(refs))
	decide := func(i int, waiting func()) {
		r := base
		r.Image, r.Waiting = refs[i], waiting
		decided[i] = h.Decider.Decide(ctx, r).InNamespace(ns)
	}
	var wg sync.WaitGroup
	next := 0 // refs[next:] are neither decided nor started
	startRest := func() {
		for ; next < len(refs); next++ {
			i := next
			wg.Go(func() { decide(i, nil) })
		}
	}
	for next < len(refs) {
		next++
		decide(next-1, startRest)
	}
	wg.Wait()
	out := make([]*verify.Decision, len(images))
	for i, img := range images {
		if j := slot[i]; j >= 0 && decided[j] != nil {
			out[i] = decided[j]
		} else {
			out[i] = &verify.Decision{Image: img.Image}
		}
		if h.Observe != nil && img.Image != "" {
			h.Observe(req, img, out[i])
		}
	}
	return out
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

// pinPatch replaces each image with the reference pinned to the digest that
// was verified, except those whose rule keeps the tag (pin: false). Images
// already carrying that digest produce no operation, so applying the
// webhook twice changes nothing the second time.
func pinPatch(resp *admissionv1.AdmissionResponse, images []Image, decisions []*verify.Decision, keepsTag []bool) error {
	var ops []patchOp
	for i, img := range images {
		d := decisions[i]
		if d == nil || d.Pinned == "" || d.Pinned == img.Image || keepsTag[i] {
			continue
		}
		ops = append(ops, patchOp{Op: "replace", Path: img.Pointer, Value: d.Pinned})
	}
	if len(ops) == 0 {
		return nil
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &pt
	return nil
}

func (a *Admission) deny(msg string) *Admission {
	a.Result = ResultDeny
	deny(a.Response, msg)
	return a
}

func deny(resp *admissionv1.AdmissionResponse, msg string) *admissionv1.AdmissionResponse {
	resp.Allowed = false
	resp.Patch, resp.PatchType = nil, nil
	resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: 403, Reason: metav1.StatusReasonForbidden, Message: msg}
	return resp
}

func describe(req *admissionv1.AdmissionRequest) string {
	name := req.Name
	if name == "" {
		name = "(generated name)"
	}
	kind := strings.ToLower(req.Kind.Kind)
	if req.SubResource != "" {
		kind += "/" + req.SubResource
	}
	return fmt.Sprintf("%s %s/%s", kind, req.Namespace, name)
}

// shortOutcome is an image's outcome for the audit log: "denied",
// "audit-violation", what admitted it, or "undecided".
func shortOutcome(d *verify.Decision) string {
	switch {
	case d == nil || d.Rule == nil && len(d.Reasons) == 0:
		return "undecided"
	case d.Outcome() == verify.OutcomeDeny:
		return "denied"
	case d.Outcome() == verify.OutcomeAudit:
		return string(verify.OutcomeAudit)
	case len(d.Signatures) > 0:
		return "signed-by:" + d.Signatures[0].Identity + "@" + d.Digest
	default:
		return string(d.Rule.Kind) + "@" + d.Digest
	}
}

func shortHash(h string) string {
	if len(h) > 19 {
		return h[:19]
	}
	return h
}
