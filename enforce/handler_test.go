package enforce

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// fixture is a world with a signed, an unsigned and a third-party image.
type fixture struct {
	w                        *testworld.World
	p                        *policy.Policy
	signed, unsigned, vendor string
	signedDigest             string
	vendorDigest             string
	calls                    atomic.Int64
	h                        *Handler
}

// countingDecider counts how often verification is asked for.
type countingDecider struct {
	f *fixture
	d verify.Decider
}

func (c countingDecider) Decide(ctx context.Context, req verify.Request) *verify.Decision {
	c.f.calls.Add(1)
	return c.d.Decide(ctx, req)
}

const enforcePolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore: {trustedRoot: trusted_root.json, transparencyLog: optional}
identities:
  - name: app-release
    keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app, workflow: .github/workflows/release.yml, refs: [refs/heads/main]}
images:
  - {name: acme, match: [REGISTRY/acme/**], signedBy: [app-release]}
  - {name: vendor, match: [REGISTRY/vendor/**], signature: optional}
  - {name: default-deny, match: ["**"], deny: only approved registries}
enforcement:
  namespaces: {audit: [dev], exempt: [kube-system]}
`

func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy})
	d := w.Push("acme/app:1.0")
	w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	w.Push("acme/app:unsigned")
	v := w.Push("vendor/db:7")
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{w: w, p: p, signed: w.Ref("acme/app:1.0"), unsigned: w.Ref("acme/app:unsigned"), vendor: w.Ref("vendor/db:7"), signedDigest: d.DigestStr(), vendorDigest: v.DigestStr()}
	f.h = &Handler{Decider: countingDecider{f: f, d: verify.New().Flow()}, Policy: func() *policy.Policy { return f.p }}
	return f
}

func podSpec(init, containers []string) corev1.PodSpec {
	var s corev1.PodSpec
	for i, img := range init {
		s.InitContainers = append(s.InitContainers, corev1.Container{Name: "init" + string(rune('a'+i)), Image: img})
	}
	for i, img := range containers {
		s.Containers = append(s.Containers, corev1.Container{Name: "c" + string(rune('a'+i)), Image: img})
	}
	return s
}

func request(t *testing.T, kind, ns string, obj runtime.Object, op admissionv1.Operation, sub string) *admissionv1.AdmissionRequest {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &admissionv1.AdmissionRequest{UID: types.UID("uid-1"), Kind: metav1.GroupVersionKind{Kind: kind}, Namespace: ns, Name: "web",
		Operation: op, SubResource: sub, Object: runtime.RawExtension{Raw: raw}}
}

func pod(spec corev1.PodSpec) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: spec}
}

func TestHandler(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cases := []struct {
		name      string
		req       *admissionv1.AdmissionRequest
		allow     bool
		deny      []string // substrings of the denial
		warn      string
		wantCalls bool
	}{
		{name: "pod with a signed image is allowed", allow: true, wantCalls: true,
			req: request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed})), admissionv1.Create, "")},
		{name: "unsigned init container is denied and named", deny: []string{"initContainer inita", "has no signatures"}, wantCalls: true,
			req: request(t, "Pod", "prod", pod(podSpec([]string{f.unsigned}, []string{f.signed})), admissionv1.Create, "")},
		{name: "every failing image is listed", deny: []string{"container ca", "container cb", "only approved registries"}, wantCalls: true,
			req: request(t, "Pod", "prod", pod(podSpec(nil, []string{f.unsigned, "docker.io/library/nginx:latest"})), admissionv1.Create, "")},
		{name: "third-party pin-only image is allowed", allow: true, wantCalls: true,
			req: request(t, "Pod", "prod", pod(podSpec(nil, []string{f.vendor})), admissionv1.Create, "")},
		{name: "deletionTimestamp is not a bypass", deny: []string{"has no signatures"}, wantCalls: true,
			req: request(t, "Pod", "prod", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", DeletionTimestamp: &metav1.Time{Time: time.Now()}}, Spec: podSpec(nil, []string{f.unsigned})}, admissionv1.Update, "")},
		{name: "unsigned ephemeral container is denied", deny: []string{"ephemeralContainer debug"}, wantCalls: true,
			req: request(t, "Pod", "prod", &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: f.signed}},
				EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: f.unsigned}}}}}, admissionv1.Update, "ephemeralcontainers")},
		{name: "unsigned image volume is denied", deny: []string{"image volume data"}, wantCalls: true,
			req: request(t, "Pod", "prod", &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: f.signed}},
				Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: f.unsigned}}}}}}, admissionv1.Create, "")},
		{name: "deployment template with unsigned image is denied", deny: []string{"container ca"}, wantCalls: true,
			req: request(t, "Deployment", "prod", &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: podSpec(nil, []string{f.unsigned})}}}, admissionv1.Create, "")},
		{name: "cronjob template with unsigned image is denied", deny: []string{"container ca"}, wantCalls: true,
			req: request(t, "CronJob", "prod", &batchv1.CronJob{Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: podSpec(nil, []string{f.unsigned})}}}}}, admissionv1.Create, "")},
		{name: "audit namespace admits", allow: true, wantCalls: true,
			req: request(t, "Pod", "dev", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, "")},
		{name: "exempt namespace never reaches the verifier", allow: true,
			req: request(t, "Pod", "kube-system", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, "")},
		{name: "delete is not checked", allow: true,
			req: &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Kind: "Pod"}, Namespace: "prod", Operation: admissionv1.Delete}},
		{name: "status subresource is not checked", allow: true,
			req: request(t, "Pod", "prod", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Update, "status")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.calls.Load()
			resp := f.h.Mutate(ctx, c.req)
			if resp.Allowed != c.allow {
				t.Fatalf("allowed=%v, want %v: %+v", resp.Allowed, c.allow, resp.Result)
			}
			for _, s := range c.deny {
				if resp.Result == nil || !strings.Contains(resp.Result.Message, s) {
					t.Fatalf("denial does not say %q: %+v", s, resp.Result)
				}
			}
			if c.warn != "" && !strings.Contains(strings.Join(resp.Warnings, "\n"), c.warn) {
				t.Fatalf("no warning %q: %v", c.warn, resp.Warnings)
			}
			if called := f.calls.Load() > before; called != c.wantCalls {
				t.Fatalf("verifier called=%v, want %v", called, c.wantCalls)
			}
			if !resp.Allowed && resp.Patch != nil {
				t.Fatal("a denial carries a patch")
			}
		})
	}
}

// TestPinPatchIsExactAndIdempotent: the mutating answer pins every image to
// the digest that was verified, and applying it again changes nothing.
func TestPinPatchIsExactAndIdempotent(t *testing.T) {
	f := newFixture(t)
	req := request(t, "Pod", "prod", pod(podSpec([]string{f.vendor}, []string{f.signed})), admissionv1.Create, "")
	resp := f.h.Mutate(context.Background(), req)
	if !resp.Allowed || resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("want an allowed JSON patch: %+v", resp)
	}
	var ops []patchOp
	if err := json.Unmarshal(resp.Patch, &ops); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"/spec/containers/0/image": f.signed + "@" + f.signedDigest}
	for _, op := range ops {
		if op.Op != "replace" || !strings.Contains(op.Value, "@sha256:") {
			t.Fatalf("bad op %+v", op)
		}
		if w, ok := want[op.Path]; ok && op.Value != w {
			t.Fatalf("%s pinned to %s, want %s", op.Path, op.Value, w)
		}
	}
	if len(ops) != 2 {
		t.Fatalf("want 2 ops (init + container), got %+v", ops)
	}
	// Apply the patch and admit again: no further change.
	p := pod(podSpec([]string{ops[0].Value}, []string{ops[1].Value}))
	if ops[0].Path != "/spec/initContainers/0/image" {
		p = pod(podSpec([]string{ops[1].Value}, []string{ops[0].Value}))
	}
	again := f.h.Mutate(context.Background(), request(t, "Pod", "prod", p, admissionv1.Create, ""))
	if !again.Allowed || again.Patch != nil {
		t.Fatalf("second pass must allow without a patch: %+v", again)
	}
	// The validating endpoint admits the pinned object and never patches.
	if v := f.h.Validate(context.Background(), request(t, "Pod", "prod", p, admissionv1.Create, "")); !v.Allowed || v.Patch != nil {
		t.Fatalf("validate must admit the pinned object without a patch: %+v", v)
	}
}

// TestWebhookThresholdCountsDistinctSigners: through the webhook, a
// threshold of two is not met by one certificate that satisfies both of the
// rule's identities, and is met by two signers each counted for one.
func TestWebhookThresholdCountsDistinctSigners(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Decider: verify.New().Flow(), Policy: func() *policy.Policy { return p }}
	one := w.Push("acme/tworefs/app:one")
	w.Sign(one, one, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	two := w.Push("acme/tworefs/app:two")
	w.Sign(two, two, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	w.Sign(two, two, w.GitHub("acme/app", "refs/heads/feature"), ocisig.LayoutBundle)

	resp := h.Mutate(context.Background(), request(t, "Pod", "prod", pod(podSpec(nil, []string{w.Ref("acme/tworefs/app:one")})), admissionv1.Create, ""))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "only 1 distinct signer") {
		t.Fatalf("one certificate under two identity names admitted a threshold-2 pod: %+v", resp.Result)
	}
	resp = h.Mutate(context.Background(), request(t, "Pod", "prod", pod(podSpec(nil, []string{w.Ref("acme/tworefs/app:two")})), admissionv1.Create, ""))
	if !resp.Allowed {
		t.Fatalf("two distinct signers denied: %+v", resp.Result)
	}
}

// TestAuditWarningsOncePerAdmission: both webhooks see every request, but
// an audit violation is shown to the client once: by the validating pass,
// or by the mutating pass when it denies (the validating one then never runs).
func TestAuditWarningsOncePerAdmission(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := request(t, "Pod", "dev", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, "")
	mutating := f.h.Mutate(ctx, req)
	validating := f.h.Validate(ctx, patched(t, req, mutating.Patch))
	if !mutating.Allowed || !validating.Allowed {
		t.Fatalf("audit namespace denied: %+v %+v", mutating.Result, validating.Result)
	}
	all := append(append([]string{}, mutating.Warnings...), validating.Warnings...)
	if len(all) != 1 || !strings.Contains(all[0], "signet audit: container ca") {
		t.Fatalf("want one audit warning over both passes, got mutating %q, validating %q", mutating.Warnings, validating.Warnings)
	}

	// An audit-mode image beside a denied one: the mutating pass denies,
	// so its answer carries the warning.
	f.w.SetPolicy(strings.Replace(enforcePolicy, "signature: optional}", "signedBy: [app-release], mode: audit}", 1))
	p, err := policy.LoadFile(f.w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	resp := f.h.Mutate(ctx, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.unsigned, f.vendor})), admissionv1.Create, ""))
	if resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "container cb") {
		t.Fatalf("want a denial with the audit-mode image's warning: allowed=%v %q", resp.Allowed, resp.Warnings)
	}
}

// TestAuditAnnotationKeys: the keys are plain names, as kube-apiserver
// requires (it prefixes the webhook's name and rejects keys holding a "/"),
// and they carry the policy hash, each image's digest and the identity.
func TestAuditAnnotationKeys(t *testing.T) {
	f := newFixture(t)
	resp := f.h.Mutate(context.Background(), request(t, "Pod", "prod", pod(podSpec([]string{f.vendor}, []string{f.signed})), admissionv1.Create, ""))
	a := resp.AuditAnnotations
	for k := range a {
		if strings.Contains(k, "/") || validation.IsQualifiedName(k) != nil {
			t.Errorf("audit annotation key %q is not a plain qualified name", k)
		}
	}
	if a[AuditPolicyHash] != f.p.Hash || a[AuditIdentity] != "app-release" ||
		!strings.Contains(a[AuditDigest], "container ca="+f.signedDigest) || !strings.Contains(a[AuditDecisions], "signed-by:app-release") {
		t.Fatalf("audit annotations %v", a)
	}
}
