package enforce

import (
	"context"
	"errors"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/signet-dev/signet/policy"
)

const labelPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore: {trustedRoot: trusted_root.json, transparencyLog: optional}
identities:
  - name: app-release
    keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app, workflow: .github/workflows/release.yml, refs: [refs/heads/main]}
images:
  - {name: acme, match: [REGISTRY/acme/**], signedBy: [app-release]}
  - {name: default-deny, match: ["**"], deny: only approved registries}
enforcement:
  namespaces:
    auditLabels: {signet.dev/mode: audit}
    exemptLabels: {signet.dev/mode: exempt, team: platform}
`

// TestNamespaceLabelSelectors: namespaces are audited or exempted by label;
// a partial label match or unreadable labels leave the namespace enforced.
func TestNamespaceLabelSelectors(t *testing.T) {
	f := newFixture(t)
	f.w.SetPolicy(labelPolicy)
	p, err := policy.LoadFile(f.w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	ns := func(name string, labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	client := fake.NewSimpleClientset(
		ns("staging", map[string]string{"signet.dev/mode": "audit"}),
		ns("infra", map[string]string{"signet.dev/mode": "exempt", "team": "platform"}),
		ns("half", map[string]string{"signet.dev/mode": "exempt"}),
		ns("prod", nil),
	)
	f.h.NamespaceLabels = NewNamespaceLabelCache(client, 0).Labels
	cases := []struct {
		ns          string
		allow, warn bool
		verifies    bool
	}{
		{"staging", true, true, true},
		{"infra", true, false, false},
		{"half", false, false, true},
		{"prod", false, false, true},
		{"missing", false, false, true},
	}
	for _, c := range cases {
		t.Run(c.ns, func(t *testing.T) {
			before := f.calls.Load()
			resp := bothPasses(t, context.Background(), f.h, request(t, "Pod", c.ns, pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, ""))
			if resp.Allowed != c.allow || (len(resp.Warnings) > 0) != c.warn {
				t.Fatalf("allowed=%v warnings=%v, want %v/%v", resp.Allowed, resp.Warnings, c.allow, c.warn)
			}
			if called := f.calls.Load() > before; called != c.verifies {
				t.Fatalf("verifier called=%v, want %v", called, c.verifies)
			}
		})
	}
	f.h.NamespaceLabels = func(context.Context, string) (map[string]string, error) { return nil, errors.New("apiserver down") }
	if resp := f.h.Mutate(context.Background(), request(t, "Pod", "infra", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, "")); resp.Allowed {
		t.Fatal("unreadable labels must not exempt a namespace")
	}
}
