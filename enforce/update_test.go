package enforce

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// downDecider is a registry that cannot be reached: every image it is asked
// to decide is denied as transient, and recorded.
type downDecider struct {
	mu    sync.Mutex
	asked []string
}

func (d *downDecider) Decide(_ context.Context, req verify.Request) *verify.Decision {
	d.mu.Lock()
	d.asked = append(d.asked, req.Image)
	d.mu.Unlock()
	return &verify.Decision{Image: req.Image, PolicyHash: req.Policy.Hash, Transient: true,
		Reasons: []verify.Reason{verify.NewReason(verify.CodeRegistryUnavailable, "registry down")}}
}

const (
	appPinned   = "registry.example/acme/app:1@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	otherPinned = "registry.example/acme/other:1@sha256:2222222222222222222222222222222222222222222222222222222222222222"
	appTag      = "registry.example/acme/app:1"
)

// running is a pod as the apiserver stores it: images pinned, a finalizer.
func running(containers ...string) *corev1.Pod {
	p := pod(podSpec(nil, containers))
	p.Finalizers = []string{"batch.kubernetes.io/job-tracking"}
	return p
}

func withEphemeral(p *corev1.Pod, images ...string) *corev1.Pod {
	p = p.DeepCopy()
	for i, img := range images {
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug" + string(rune('a'+i)), Image: img}})
	}
	return p
}

func updateReq(t *testing.T, kind, sub string, old, obj runtime.Object) *admissionv1.AdmissionRequest {
	t.Helper()
	req := request(t, kind, "prod", obj, admissionv1.Update, sub)
	if old != nil {
		raw, err := json.Marshal(old)
		if err != nil {
			t.Fatal(err)
		}
		req.OldObject = runtime.RawExtension{Raw: raw}
	}
	return req
}

// TestUpdateDecidesOnlyChangedImages: with the registry down (every
// decision a transient denial), an UPDATE that changes no image is
// admitted without asking the verifier, and every image it changes is
// decided: an edit, a removed digest, a swap between containers, an
// ephemeral container added, a container added to a template.
func TestUpdateDecidesOnlyChangedImages(t *testing.T) {
	p, err := policy.Parse([]byte("apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages: [{match: ['**'], deny: the trust file has tightened}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	stored := running(appPinned, otherPinned)
	finalized := stored.DeepCopy()
	finalized.Finalizers, finalized.DeletionTimestamp = nil, &metav1.Time{Time: time.Now()}
	labelled := stored.DeepCopy()
	labelled.Labels = map[string]string{"team": "a"}
	edited, untagged, swapped := running("registry.example/acme/app:2", otherPinned), running(appTag, otherPinned), running(otherPinned, appPinned)
	deployment := func(images ...string) *appsv1.Deployment {
		return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: podSpec(nil, images)}}}
	}
	predates := running(appTag)
	predatesLabelled := predates.DeepCopy()
	predatesLabelled.Labels = map[string]string{"team": "a"}
	scaled := deployment(appTag)
	scaled.Spec.Replicas = new(int32(3))

	cases := []struct {
		name   string
		req    *admissionv1.AdmissionRequest
		decide []string // the images the verifier must be asked about
	}{
		{name: "finalizer removal is admitted while the registry is down", req: updateReq(t, "Pod", "", stored, finalized)},
		{name: "kubectl label is admitted while the registry is down", req: updateReq(t, "Pod", "", stored, labelled)},
		{name: "a pod that predates signet keeps its tag through a metadata update", req: updateReq(t, "Pod", "", predates, predatesLabelled)},
		{name: "an edited image is decided", req: updateReq(t, "Pod", "", stored, edited), decide: []string{"registry.example/acme/app:2"}},
		{name: "a removed digest is decided", req: updateReq(t, "Pod", "", stored, untagged), decide: []string{appTag}},
		{name: "images swapped between containers are both decided", req: updateReq(t, "Pod", "", stored, swapped), decide: []string{otherPinned, appPinned}},
		{name: "an ephemeral container with an image the pod already runs is decided",
			req: updateReq(t, "Pod", "ephemeralcontainers", stored, withEphemeral(stored, appPinned)), decide: []string{appPinned}},
		{name: "only the added ephemeral container is decided",
			req: updateReq(t, "Pod", "ephemeralcontainers", withEphemeral(stored, appPinned), withEphemeral(stored, appPinned, otherPinned)), decide: []string{otherPinned}},
		{name: "a template's other fields do not decide its images", req: updateReq(t, "Deployment", "", deployment(appTag), scaled)},
		{name: "a container added to a template with an image it already runs is decided",
			req: updateReq(t, "Deployment", "", deployment(appTag), deployment(appTag, appTag)), decide: []string{appTag}},
		{name: "an update without an old object decides every image", req: updateReq(t, "Pod", "", nil, labelled), decide: []string{appPinned, otherPinned}},
	}
	unreadable := updateReq(t, "Pod", "", nil, labelled)
	unreadable.OldObject = runtime.RawExtension{Raw: []byte(`{"spec":[1,2]}`)}
	cases = append(cases, struct {
		name   string
		req    *admissionv1.AdmissionRequest
		decide []string
	}{name: "an update whose old object cannot be read decides every image", req: unreadable, decide: []string{appPinned, otherPinned}})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &downDecider{}
			var results []Result
			h := &Handler{Decider: d, Policy: func() *policy.Policy { return p }, OnAdmission: func(a *Admission) { results = append(results, a.Result) }}
			for _, review := range []func(context.Context, *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse{h.Mutate, h.Validate} {
				resp := review(context.Background(), c.req)
				if c.decide == nil && (!resp.Allowed || resp.Patch != nil) {
					t.Fatalf("an update that changes no image: allowed=%v patch=%s %+v", resp.Allowed, resp.Patch, resp.Result)
				}
				if c.decide != nil && resp.Allowed {
					t.Fatalf("an update that changes images was admitted without a decision: %+v", resp)
				}
			}
			slices.Sort(d.asked)
			want := slices.Sorted(slices.Values(append(append([]string{}, c.decide...), c.decide...))) // both passes
			if !slices.Equal(d.asked, want) {
				t.Fatalf("verifier asked about %q, want %q", d.asked, want)
			}
			if c.decide == nil && (len(results) != 1 || results[0] != ResultUnchanged) {
				t.Fatalf("recorded %v, want one %q", results, ResultUnchanged)
			}
		})
	}
}

// TestUnchangedImagesInTheAuditLog: an UPDATE's audit annotations name the
// images it did not decide.
func TestUnchangedImagesInTheAuditLog(t *testing.T) {
	f := newFixture(t)
	stored := running(f.signed+"@"+f.signedDigest, appPinned)
	edited := running(f.signed+"@"+f.signedDigest, f.vendor)
	resp := f.h.Mutate(context.Background(), updateReq(t, "Pod", "", stored, edited))
	notes := resp.AuditAnnotations[AuditDecisions]
	if !resp.Allowed || !strings.Contains(notes, "container ca=unchanged") || !strings.Contains(notes, "container cb=pin-only@") {
		t.Fatalf("allowed=%v, decisions annotation %q", resp.Allowed, notes)
	}
}
