package manifest

import (
	"context"
	"sync"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
	"github.com/signet-dev/signet/workload"
)

// Result is what admission would do with one image, as the webhook
// classifies it (enforce.Admission.ImageResult).
type Result string

const (
	Allow Result = "allow"
	Deny  Result = "deny"
	// AuditViolation: admitted with a warning (an audit namespace or a
	// rule in audit mode); enforce mode would deny it.
	AuditViolation Result = "audit-violation"
	// Exempt: the object's namespace is exempt; nothing is verified.
	Exempt Result = "exempt"
)

// Decide decides one image under the policy (verify.Verifier.Verify).
type Decide func(ctx context.Context, image string) *verify.Decision

// Options are the parts of the admission context a manifest does not say.
type Options struct {
	// Namespace is where objects without metadata.namespace are applied
	// (kubectl's current namespace); default "default".
	Namespace string
	// Concurrency bounds the images decided at once (default 8).
	Concurrency int
}

// Check decides every image of objs as the webhook would under p: each
// distinct reference once, in each object's namespace mode (exempt and
// audit namespaces by name; label rules need the live namespace and do not
// apply). notes are passed on to the report.
func Check(ctx context.Context, p *policy.Policy, objs []Object, notes []Note, decide Decide, opts Options) *Report {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	r := &Report{APIVersion: policy.APIVersion, Kind: ReportKind, Policy: p.Source, PolicyHash: p.Hash, Allowed: true, Notes: notes}
	var todo []string
	for _, o := range objs {
		ns := o.Namespace
		if ns == "" {
			ns = opts.Namespace
		}
		mode := p.Enforcement.NamespaceMode(ns, nil)
		co := CheckedObject{Source: o.Source, Line: o.Line, Kind: o.Kind, Name: o.Name, Namespace: ns, NamespaceMode: mode}
		for _, img := range o.Images {
			ci := CheckedImage{Image: img}
			switch {
			case mode == policy.NamespaceExempt:
				ci.Result = Exempt
			case img.Image == "":
				ci.Result = Deny
			default:
				todo = append(todo, img.Image)
			}
			co.Images = append(co.Images, ci)
		}
		r.Objects = append(r.Objects, co)
	}
	decided := decideEach(ctx, todo, decide, opts.Concurrency)
	for i := range r.Objects {
		co := &r.Objects[i]
		for j := range co.Images {
			ci := &co.Images[j]
			if ci.Result == "" {
				ci.Decision = decided[ci.Image.Image]
				ci.Result = classify(ci.Decision, co.NamespaceMode == policy.NamespaceAudit)
			}
			r.Allowed = r.Allowed && ci.Result != Deny
		}
	}
	return r
}

// classify is the webhook's verdict on one decided image.
func classify(d *verify.Decision, auditNamespace bool) Result {
	switch {
	case len(d.Reasons) == 0:
		return Allow
	case d.Allowed || auditNamespace:
		return AuditViolation
	}
	return Deny
}

// decideEach decides each distinct image once, at most concurrency at a
// time. Each goroutine writes only its own slot of decided; the map is
// built after they all end.
func decideEach(ctx context.Context, images []string, decide Decide, concurrency int) map[string]*verify.Decision {
	if concurrency < 1 {
		concurrency = 8
	}
	var distinct []string
	seen := map[string]bool{}
	for _, img := range images {
		if !seen[img] {
			seen[img] = true
			distinct = append(distinct, img)
		}
	}
	decided := make([]*verify.Decision, len(distinct))
	var wg sync.WaitGroup
	slots := make(chan struct{}, concurrency)
	for i, img := range distinct {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			decided[i] = decide(ctx, img)
		})
	}
	wg.Wait()
	out := make(map[string]*verify.Decision, len(distinct))
	for i, img := range distinct {
		out[img] = decided[i]
	}
	return out
}

// ReportKind is the kind of `sign verify -f -o json`'s document.
const ReportKind = "ManifestReport"

// Report is every object and image of the manifests with its result.
type Report struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Policy     string `json:"policy"`
	PolicyHash string `json:"policyHash"`
	// Allowed is false when admission would deny any image.
	Allowed bool            `json:"allowed"`
	Objects []CheckedObject `json:"objects"`
	Notes   []Note          `json:"notes,omitempty"`
}

// CheckedObject is one workload and its images.
type CheckedObject struct {
	Source string `json:"source"`
	Line   int    `json:"line"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	// Namespace is where it would run: its own, or Options.Namespace.
	Namespace     string               `json:"namespace"`
	NamespaceMode policy.NamespaceMode `json:"namespaceMode,omitempty"`
	Images        []CheckedImage       `json:"images"`
}

// CheckedImage is one image of an object and what admission would do.
type CheckedImage struct {
	workload.Image
	Result Result `json:"result"`
	// Decision is the engine's, shared by every object naming the same
	// reference; nil for an exempt namespace or a container without an image.
	Decision *verify.Decision `json:"decision,omitempty"`
}

// Transient reports whether no image was denied on its merits but one
// could not be checked (a registry or trust root failed): retrying may help.
func (r *Report) Transient() bool {
	transient := false
	for _, o := range r.Objects {
		for _, ci := range o.Images {
			if ci.Result != Deny {
				continue
			}
			if ci.Decision == nil || !ci.Decision.Transient {
				return false
			}
			transient = true
		}
	}
	return transient
}
