package enforce

import (
	"encoding/json"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verdict"
	"github.com/signet-dev/signet/verify"
)

// VerdictSigner signs the webhook's verdicts (verdict.Signer).
type VerdictSigner interface {
	Sign(c *verdict.Claim) (string, error)
}

// addVerdict adds to an admitted pod's patch the signed verdict signet-node
// reads (verdict.Annotation): every image of the pod at its verified
// digest, the governing rules' hashes, the trust file's hash, the pod and
// its namespace, now. Nothing is added unless every image passed outright
// (no audit violation, no audit namespace): the node then verifies itself.
// A verdict that cannot be made is left out for the same reason, never a
// denial.
func (h *Handler) addVerdict(resp *admissionv1.AdmissionResponse, req *admissionv1.AdmissionRequest, p *policy.Policy, a *Admission) {
	if h.Verdicts == nil || req.Kind.Kind != "Pod" || req.SubResource != "" {
		return
	}
	var pod struct {
		Metadata struct {
			Name, GenerateName string
			Annotations        map[string]string
		}
	}
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return
	}
	c := &verdict.Claim{Namespace: req.Namespace, Pod: pod.Metadata.Name, PolicyHash: p.Hash, Time: time.Now().UTC()}
	if c.Pod == "" {
		c.Pod, c.PodPrefix = pod.Metadata.GenerateName, true
	}
	for _, d := range a.Decisions {
		img, ok := verdictImage(d)
		if !ok {
			return
		}
		c.Images = append(c.Images, img)
	}
	if c.Pod == "" || len(c.Images) == 0 {
		return
	}
	env, err := h.Verdicts.Sign(c)
	if err != nil {
		return
	}
	_ = appendPatch(resp, annotationOp(pod.Metadata.Annotations != nil, verdict.Annotation, env))
}

// verdictImage is d as a verdict subject, if d passed outright: a denial,
// an audit violation and an infrastructure failure all carry reasons. The
// decision names its rule's hash; nothing is matched again.
func verdictImage(d *verify.Decision) (verdict.Image, bool) {
	if d == nil || d.Outcome() != verify.OutcomeAllow || d.Digest == "" || d.Rule == nil {
		return verdict.Image{}, false
	}
	ref, err := name.ParseReference(d.Pinned)
	if err != nil {
		return verdict.Image{}, false
	}
	return verdict.Image{Repository: ref.Context().Name(), Digest: d.Digest, RuleHash: d.Rule.Hash}, true
}

type anyOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// annotationOp sets one annotation, creating the map when the object has none.
func annotationOp(haveMap bool, key, value string) anyOp {
	if !haveMap {
		return anyOp{Op: "add", Path: "/metadata/annotations", Value: map[string]string{key: value}}
	}
	key = strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1") // RFC 6901
	return anyOp{Op: "add", Path: "/metadata/annotations/" + key, Value: value}
}

// appendPatch adds op to the response's JSON patch (pinPatch's, if any).
func appendPatch(resp *admissionv1.AdmissionResponse, op anyOp) error {
	var ops []json.RawMessage
	if len(resp.Patch) > 0 {
		if err := json.Unmarshal(resp.Patch, &ops); err != nil {
			return err
		}
	}
	b, err := json.Marshal(op)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(append(ops, b))
	if err != nil {
		return err
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &pt
	return nil
}
