package enforce

import (
	"context"
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/signet-dev/signet/policy"
)

func images(n int, image string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", image, i)
	}
	return out
}

func withPullSecrets(n int) *corev1.Pod {
	p := pod(podSpec(nil, []string{"r.example/c"}))
	for i := range n {
		p.Spec.ImagePullSecrets = append(p.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: fmt.Sprintf("secret-%d", i)})
	}
	return p
}

// TestImagesPerReviewAreBounded: a review with more images to decide than
// the cap is denied, naming the cap and the count, before any verification
// starts; on UPDATE only the changed images count. References longer than
// any valid one, and more pull secrets than signet reads, are refused too.
func TestImagesPerReviewAreBounded(t *testing.T) {
	p, err := policy.Parse([]byte("apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages: [{match: ['**'], signature: optional}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		name   string
		max    int
		req    *admissionv1.AdmissionRequest
		deny   string
		decide int
	}{
		{name: "the default cap refuses a pod of 101 images", req: request(t, "Pod", "prod", pod(podSpec(images(1, "r.example/i"), images(100, "r.example/c"))), admissionv1.Create, ""),
			deny: "it has 101 images to decide, more than the 100 one admission may carry (enforce serve --max-images-per-review)"},
		{name: "the default cap admits a pod of 100 images", req: request(t, "Pod", "prod", pod(podSpec(nil, images(100, "r.example/c"))), admissionv1.Create, ""), decide: 100},
		{name: "image volumes and ephemeral containers count", max: 2, deny: "it has 3 images to decide, more than the 2",
			req: request(t, "Pod", "prod", withEphemeral(&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "r.example/c"}},
				Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "r.example/v"}}}}}}, "r.example/e"), admissionv1.Create, "")},
		{name: "an update counts only the images it changes", max: 2, decide: 1,
			req: updateReq(t, "Pod", "", running(images(5, "r.example/c")...), running(append(images(4, "r.example/c"), "r.example/new")...))},
		{name: "a reference longer than any valid one is refused without echoing it",
			req:  request(t, "Pod", "prod", pod(podSpec(nil, []string{"r.example/" + strings.Repeat("a", MaxReferenceBytes)})), admissionv1.Create, ""),
			deny: fmt.Sprintf("the image reference of container ca is %d bytes, longer than any valid reference (at most %d)", MaxReferenceBytes+10, MaxReferenceBytes)},
		{name: "more pull secrets than signet reads for one workload are refused", req: request(t, "Pod", "prod", withPullSecrets(MaxPullSecrets+1), admissionv1.Create, ""),
			deny: fmt.Sprintf("it names %d imagePullSecrets, more than the %d", MaxPullSecrets+1, MaxPullSecrets)},
		{name: "as many pull secrets as signet reads are accepted", req: request(t, "Pod", "prod", withPullSecrets(MaxPullSecrets), admissionv1.Create, ""), decide: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &downDecider{}
			h := &Handler{Decider: d, Policy: func() *policy.Policy { return p }, MaxImages: c.max}
			resp := h.Mutate(ctx, c.req)
			if c.deny != "" {
				if resp.Allowed || !strings.Contains(resp.Result.Message, c.deny) {
					t.Fatalf("want a denial saying %q, got %+v", c.deny, resp.Result)
				}
				if len(resp.Result.Message) > 512 {
					t.Fatalf("the denial is %d bytes: %.200s...", len(resp.Result.Message), resp.Result.Message)
				}
			}
			if len(d.asked) != c.decide {
				t.Fatalf("%d images decided, want %d", len(d.asked), c.decide)
			}
		})
	}
}

// TestRequestStringsAreBounded: a forged review whose identifying strings
// no apiserver sends is refused with a 400 that names the field; names
// inside the object are clipped wherever they are shown.
func TestRequestStringsAreBounded(t *testing.T) {
	f := newFixture(t)
	wh := &Webhook{Handler: f.h}
	good := func(edit func(*admissionv1.AdmissionRequest)) []byte {
		req := request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed})), admissionv1.Create, "")
		edit(req)
		return review(t, req)
	}
	for name, c := range map[string]struct {
		body []byte
		say  string
	}{
		"a namespace that is not a DNS label": {good(func(r *admissionv1.AdmissionRequest) { r.Namespace = "Junk/../" + strings.Repeat("x", 600000) }), "is not a namespace name"},
		"a namespace over 63 bytes":           {good(func(r *admissionv1.AdmissionRequest) { r.Namespace = strings.Repeat("a", 64) }), "is not a namespace name"},
		"a uid over 128 bytes":                {good(func(r *admissionv1.AdmissionRequest) { r.UID = types.UID(strings.Repeat("u", 129)) }), "request uid is"},
		"a name longer than any object name":  {good(func(r *admissionv1.AdmissionRequest) { r.Name = strings.Repeat("n", 254) }), "longer than any object name"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := post(wh, ValidatePath, "application/json", c.body)
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.say) || rec.Body.Len() > 512 {
				t.Fatalf("status %d, want 400 saying %q: %.300s", rec.Code, c.say, rec.Body)
			}
		})
	}
	long := pod(podSpec(nil, []string{f.unsigned}))
	long.Spec.Containers[0].Name = strings.Repeat("n", 100000)
	resp := f.h.Mutate(context.Background(), request(t, "Pod", "prod", long, admissionv1.Create, ""))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "container "+strings.Repeat("n", 63)+"… (") || len(resp.Result.Message) > 2048 {
		t.Fatalf("a 100,000-byte container name was not clipped: %d bytes", len(resp.Result.Message))
	}
	for k, v := range resp.AuditAnnotations {
		if len(v) > 2048 {
			t.Fatalf("audit annotation %s is %d bytes", k, len(v))
		}
	}
}
