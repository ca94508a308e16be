package enforce

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/verdict"
	"github.com/signet-dev/signet/verify"
)

// TestAdmittedPodCarriesAVerdictTheNodeAccepts: the mutating webhook puts
// on each pod it admits outright a verdict signet-node accepts for exactly
// that pod, namespace, digest and trust file; nothing else gets one.
func TestAdmittedPodCarriesAVerdictTheNodeAccepts(t *testing.T) {
	f := newFixture(t)
	priv, pub, err := verdict.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := verdict.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	nodeKeys, err := verdict.NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	f.h.Verdicts = signer
	ctx := context.Background()
	generated := pod(podSpec(nil, []string{f.signed, f.vendor}))
	generated.Name, generated.GenerateName = "", "web-5d8f-"
	annotated := pod(podSpec(nil, []string{f.signed}))
	annotated.Annotations = map[string]string{"team": "a", verdict.Annotation: "forged by the pod's author"}

	for _, tc := range []struct {
		name   string
		req    *admissionv1.AdmissionRequest
		pod    string
		prefix bool
		team   string // the pod's own annotation, kept
	}{
		{"a named pod", request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed})), admissionv1.Create, ""), "web", false, ""},
		{"a pod the API server names (generateName), two images", request(t, "Pod", "prod", generated, admissionv1.Create, ""), "web-5d8f-", true, ""},
		{"a pod with annotations of its own (a forged verdict is replaced)", request(t, "Pod", "prod", annotated, admissionv1.Create, ""), "web", false, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.h.Mutate(ctx, tc.req)
			ann := patchedAnnotations(t, tc.req, resp)
			c, err := nodeKeys.Verify(ann[verdict.Annotation])
			if err != nil {
				t.Fatalf("the node refuses the pod's verdict: %v", err)
			}
			if c.Namespace != "prod" || c.Pod != tc.pod || c.PodPrefix != tc.prefix || c.PolicyHash != f.p.Hash || time.Since(c.Time) > time.Minute {
				t.Fatalf("claim %+v", c)
			}
			s, _ := verify.Prepare(verify.Request{Image: f.signed, Policy: f.p})
			want := verdict.Want{Namespace: "prod", Pod: tc.pod + "x7k2q", Repository: s.Ref.Context().Name(), Digest: f.signedDigest,
				PolicyHash: f.p.Hash, RuleHash: s.Match.Rule.Hash, Now: time.Now(), MaxAge: time.Hour}
			if !tc.prefix {
				want.Pod = tc.pod
			}
			if err := c.Covers(want); err != nil {
				t.Fatalf("the verdict does not cover the admitted image: %v", err)
			}
			if ann["team"] != tc.team {
				t.Errorf("the pod's own annotations were lost: %v", ann)
			}
		})
	}

	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
		Template: corev1.PodTemplateSpec{Spec: podSpec(nil, []string{f.signed})}}}
	for _, tc := range []struct {
		name string
		req  *admissionv1.AdmissionRequest
	}{
		{"an unsigned image admitted in an audit namespace", request(t, "Pod", "dev", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, "")},
		{"a workload (its pods get their own)", request(t, "Deployment", "prod", deploy, admissionv1.Create, "")},
		{"ephemeral containers", request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed})), admissionv1.Update, "ephemeralcontainers")},
	} {
		t.Run("no verdict for "+tc.name, func(t *testing.T) {
			resp := f.h.Mutate(ctx, tc.req)
			if !resp.Allowed {
				t.Fatalf("denied: %v", resp.Result)
			}
			if tc.req.Kind.Kind == "Pod" && tc.req.SubResource == "" {
				if v, ok := patchedAnnotations(t, tc.req, resp)[verdict.Annotation]; ok {
					t.Fatalf("verdict issued: %s", v)
				}
			} else if string(resp.Patch) != "" && json.Valid(resp.Patch) && containsVerdict(resp.Patch) {
				t.Fatalf("verdict in the patch: %s", resp.Patch)
			}
		})
	}
	t.Run("the validating pass adds nothing", func(t *testing.T) {
		if resp := f.h.Validate(ctx, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed})), admissionv1.Create, "")); resp.Patch != nil {
			t.Fatalf("patch %s", resp.Patch)
		}
	})
}

func patchedAnnotations(t *testing.T, req *admissionv1.AdmissionRequest, resp *admissionv1.AdmissionResponse) map[string]string {
	t.Helper()
	obj := req.Object.Raw
	if len(resp.Patch) > 0 {
		p, err := jsonpatch.DecodePatch(resp.Patch)
		if err != nil {
			t.Fatalf("patch %s: %v", resp.Patch, err)
		}
		if obj, err = p.Apply(obj); err != nil {
			t.Fatalf("applying %s: %v", resp.Patch, err)
		}
	}
	var pod corev1.Pod
	if err := json.Unmarshal(obj, &pod); err != nil {
		t.Fatal(err)
	}
	return pod.Annotations
}

func containsVerdict(patch []byte) bool {
	var ops []struct{ Path string }
	_ = json.Unmarshal(patch, &ops)
	for _, op := range ops {
		if strings.HasPrefix(op.Path, "/metadata/annotations") {
			return true
		}
	}
	return false
}
