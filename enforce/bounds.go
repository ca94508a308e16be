package enforce

import (
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// DefaultMaxImages is how many images one admission may ask the webhook to
// decide (containers, init and ephemeral containers, image volumes; on
// UPDATE those it changes). A real pod rarely has more than a few dozen;
// the bound keeps one review from starting work for thousands.
const DefaultMaxImages = 100

// MaxReferenceBytes is the longest image reference the webhook reads. A
// valid one is at most about 520 bytes (a 255-character name, a
// 128-character tag, a sha512 digest); a longer one is refused before it
// reaches the registry client, the logs or the audit annotations.
const MaxReferenceBytes = 1024

// MaxPullSecrets is how many imagePullSecrets one workload may name: each
// is an API read when its images need credentials, so a review must not
// turn into thousands of them. A real pod names a handful.
const MaxPullSecrets = 64

// tooMany says why a workload asks for more work than one admission may
// (images to decide, their references' length, pull secrets), or "".
func (h *Handler) tooMany(w *Workload, images []Image) string {
	if limit := orDefault(h.MaxImages, DefaultMaxImages); len(images) > limit {
		return fmt.Sprintf("it has %d images to decide, more than the %d one admission may carry (enforce serve --max-images-per-review)", len(images), limit)
	}
	for _, img := range images {
		if len(img.Image) > MaxReferenceBytes {
			return fmt.Sprintf("the image reference of %s is %d bytes, longer than any valid reference (at most %d)", img.Where, len(img.Image), MaxReferenceBytes)
		}
	}
	if len(w.PullSecrets) > MaxPullSecrets {
		return fmt.Sprintf("it names %d imagePullSecrets, more than the %d signet reads for one workload", len(w.PullSecrets), MaxPullSecrets)
	}
	return ""
}

// Bounds of the request's own strings, which reach logs, events and
// metrics: the apiserver sends a UUID, a namespace name (a DNS label, or
// none for a cluster-scoped object) and an object name (a DNS subdomain at
// most, or none when it is generated).
const (
	maxUIDBytes        = 128
	maxObjectNameBytes = validation.DNS1123SubdomainMaxLength
)

// checkRequest refuses a request whose identifying strings no apiserver
// sends, so that a forged review cannot carry them into logs, events or
// metric labels.
func checkRequest(req *admissionv1.AdmissionRequest) error {
	switch {
	case len(req.UID) > maxUIDBytes:
		return fmt.Errorf("request uid is %d bytes, more than the %d an apiserver sends", len(req.UID), maxUIDBytes)
	case req.Namespace != "" && !validNamespace(req.Namespace):
		return fmt.Errorf("request namespace %.64q is not a namespace name (a DNS-1123 label)", req.Namespace)
	case len(req.Name) > maxObjectNameBytes:
		return fmt.Errorf("request name is %d bytes, longer than any object name (%d)", len(req.Name), maxObjectNameBytes)
	}
	return nil
}

// validNamespace reports whether ns can name a namespace.
func validNamespace(ns string) bool { return len(validation.IsDNS1123Label(ns)) == 0 }
