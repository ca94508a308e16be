package manifest

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/golden"
	"github.com/signet-dev/signet/verify"
)

// fakeEngine decides by name: "unsigned" images are denied, "flaky" ones
// could not be checked, the rest are signed by "app-release". It counts
// the calls per image. (The engine itself is tested in verify and end to
// end through `sign verify -f` in cmd/sign.)
type fakeEngine struct {
	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeEngine) decide(_ context.Context, image string) *verify.Decision {
	f.mu.Lock()
	f.calls[image]++
	f.mu.Unlock()
	d := &verify.Decision{Image: image, Allowed: true, Digest: "sha256:1111", Rule: &verify.RuleRef{Name: "acme"}}
	switch {
	case strings.Contains(image, "unsigned"):
		d.Allowed, d.Reasons = false, []verify.Reason{verify.NewReason(verify.CodeNoSignature, "no signatures found on %s", image)}
	case strings.Contains(image, "flaky"):
		d.Allowed, d.Transient = false, true
		d.Reasons = []verify.Reason{verify.NewReason(verify.CodeRegistryUnavailable, "registry answered 503")}
	default:
		d.Signatures = []verify.SignatureResult{{Identity: "app-release"}}
	}
	return d
}

func checkPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.New(policy.Spec{
		Images:      []policy.RuleSpec{{Match: []string{"**"}, Signature: policy.Optional}},
		Enforcement: &policy.EnforcementSpec{Namespaces: &policy.NamespacesSpec{Exempt: []string{"kube-system"}, Audit: []string{"dev"}}},
	}, policy.WithSource("trust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const checkManifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      initContainers: [{name: migrate, image: ghcr.io/acme/unsigned:1}]
      containers: [{name: web, image: ghcr.io/acme/web:1.4}]
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: web, image: ghcr.io/acme/web:1.4}, {name: empty}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  template:
    spec:
      containers: [{name: agent, image: ghcr.io/acme/unsigned:agent}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: try, namespace: dev}
spec:
  template:
    spec:
      containers: [{name: try, image: ghcr.io/acme/unsigned:try}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
`

// TestCheckDecidesAsTheWebhook: each image gets the result admission
// would give it in its object's namespace, each reference is decided once,
// and the report fails when anything would be denied.
func TestCheckDecidesAsTheWebhook(t *testing.T) {
	objs, notes, err := Read(strings.NewReader(checkManifest), "app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEngine{calls: map[string]int{}}
	r := Check(t.Context(), checkPolicy(t), objs, notes, f.decide, Options{Namespace: "shop"})
	results := map[string]Result{}
	for _, o := range r.Objects {
		for _, ci := range o.Images {
			results[o.Kind+" "+o.Namespace+"/"+ci.Where] = ci.Result
		}
	}
	want := map[string]Result{
		"Deployment shop/initContainer migrate": Deny,           // unsigned
		"Deployment shop/container web":         Allow,          // signed
		"Pod shop/container web":                Allow,          // no namespace: --namespace
		"Pod shop/container empty":              Deny,           // no image at all
		"DaemonSet kube-system/container agent": Exempt,         // exempt namespace: not verified
		"Job dev/container try":                 AuditViolation, // audit namespace: admitted with a warning
	}
	for k, w := range want {
		if results[k] != w {
			t.Errorf("%s: %q, want %q", k, results[k], w)
		}
	}
	if len(results) != len(want) {
		t.Errorf("results %v, want exactly %v", results, want)
	}
	if f.calls["ghcr.io/acme/web:1.4"] != 1 || f.calls["ghcr.io/acme/unsigned:agent"] != 0 {
		t.Errorf("calls %v: want the shared image decided once and the exempt one never", f.calls)
	}
	if r.Allowed || r.Transient() {
		t.Errorf("allowed %v transient %v: want a failed check, not a transient one", r.Allowed, r.Transient())
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "golden", "check.txt"), text.String(), *update)
}

// TestCheckTransient: a check whose only denials could not reach the
// registry is transient (sign verify exits 3), so a gate can retry it.
func TestCheckTransient(t *testing.T) {
	objs, _, err := Read(strings.NewReader("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: ghcr.io/acme/flaky:1}, {name: b, image: ghcr.io/acme/web:1}]}\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEngine{calls: map[string]int{}}
	r := Check(t.Context(), checkPolicy(t), objs, nil, f.decide, Options{})
	if r.Allowed || !r.Transient() {
		t.Fatalf("allowed %v transient %v, want a transient failure", r.Allowed, r.Transient())
	}
}
