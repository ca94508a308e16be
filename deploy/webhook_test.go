package deploy

import (
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// webhook is the part both webhook kinds share.
type webhook struct {
	kind, name        string
	client            admissionregv1.WebhookClientConfig
	rules             []admissionregv1.RuleWithOperations
	failure           *admissionregv1.FailurePolicyType
	sideEffects       *admissionregv1.SideEffectClass
	timeout           *int32
	nsSelector        *metav1.LabelSelector
	reviewVersions    []string
	annotations       map[string]string
	configurationName string
}

func webhooks(t *testing.T, objs []runtime.Object) []webhook {
	t.Helper()
	var out []webhook
	m := one[*admissionregv1.MutatingWebhookConfiguration](t, objs)
	for _, w := range m.Webhooks {
		out = append(out, webhook{"mutating", w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.SideEffects, w.TimeoutSeconds, w.NamespaceSelector, w.AdmissionReviewVersions, m.Annotations, m.Name})
	}
	v := one[*admissionregv1.ValidatingWebhookConfiguration](t, objs)
	for _, w := range v.Webhooks {
		if w.Name == trustConfigWebhook {
			continue // not an image webhook: TestTrustConfigWebhook
		}
		out = append(out, webhook{"validating", w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.SideEffects, w.TimeoutSeconds, w.NamespaceSelector, w.AdmissionReviewVersions, v.Annotations, v.Name})
	}
	if len(out) != 2 {
		t.Fatalf("want one mutating and one validating webhook, got %d", len(out))
	}
	return out
}

// TestWebhooksFailClosed: both webhooks refuse when enforce cannot answer,
// promise no side effects, and time out after webhook.timeoutSeconds, above
// enforce's own deadline so a slow registry yields an explained denial.
func TestWebhooksFailClosed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  map[string]any
		timeout int32
	}{
		{"default timeout", nil, 10},
		{"custom timeout", map[string]any{"webhook": map[string]any{"timeoutSeconds": 15}}, 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.values)
			for _, w := range webhooks(t, objs) {
				if w.failure == nil || *w.failure != admissionregv1.Fail {
					t.Errorf("%s: failurePolicy %v, want Fail", w.name, w.failure)
				}
				if w.sideEffects == nil || *w.sideEffects != admissionregv1.SideEffectClassNone {
					t.Errorf("%s: sideEffects %v, want None", w.name, w.sideEffects)
				}
				if w.timeout == nil || *w.timeout != tc.timeout {
					t.Errorf("%s: timeoutSeconds %v, want %d", w.name, w.timeout, tc.timeout)
				}
				if !slices.Equal(w.reviewVersions, []string{"v1"}) {
					t.Errorf("%s: admissionReviewVersions %v", w.name, w.reviewVersions)
				}
			}
			d := webhookDeployment(t, objs)
			if deadline, _ := arg(d.Spec.Template.Spec.Containers[0].Args, "deadline"); deadline != "8s" {
				t.Errorf("--deadline=%s, want 8s", deadline)
			}
		})
	}
}

// TestWebhooksCoverEveryPodCarrier: the same rules enforce's handler
// understands, CREATE and UPDATE, for both webhooks.
func TestWebhooksCoverEveryPodCarrier(t *testing.T) {
	want := map[string][]string{
		"":      {"pods", "pods/ephemeralcontainers", "replicationcontrollers"},
		"apps":  {"deployments", "replicasets", "statefulsets", "daemonsets"},
		"batch": {"jobs", "cronjobs"},
	}
	for _, w := range webhooks(t, render(t, nil)) {
		got := map[string][]string{}
		for _, r := range w.rules {
			if !slices.Equal(r.Operations, []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update}) || !slices.Equal(r.APIVersions, []string{"v1"}) {
				t.Errorf("%s: rule %+v, want CREATE and UPDATE of v1", w.name, r)
			}
			for _, g := range r.APIGroups {
				got[g] = append(got[g], r.Resources...)
			}
		}
		for g, res := range want {
			if !slices.Equal(got[g], res) {
				t.Errorf("%s: group %q resources %v, want %v", w.name, g, got[g], res)
			}
		}
	}
}

// excludedNamespaces evaluates the webhooks' namespaceSelector against each
// candidate namespace's kubernetes.io/metadata.name label, and insists both
// webhooks agree.
func excludedNamespaces(t *testing.T, objs []runtime.Object) map[string]bool {
	t.Helper()
	candidates := []string{"kube-system", releaseNamespace, "default", "prod", "dev", "tenant-a", "exempt-ns", "kube-public"}
	var result map[string]bool
	for _, w := range webhooks(t, objs) {
		sel, err := metav1.LabelSelectorAsSelector(w.nsSelector)
		if err != nil || w.nsSelector == nil {
			t.Fatalf("%s: namespaceSelector %v: %v", w.name, w.nsSelector, err)
		}
		got := map[string]bool{}
		for _, ns := range candidates {
			if !sel.Matches(labels.Set{corev1.LabelMetadataName: ns}) {
				got[ns] = true
			}
		}
		if result != nil && !mapsEqual(result, got) {
			t.Fatalf("webhooks exclude different namespaces: %v vs %v", result, got)
		}
		result = got
	}
	return result
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// TestNamespaceSelector: kube-system and the release namespace are always
// excluded; exemptNamespaces and the inline trust file's exempt list add to
// them; everything else is enforced.
func TestNamespaceSelector(t *testing.T) {
	withExempt := "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages:\n  - {match: [\"**\"], signature: optional}\nenforcement:\n  namespaces: {exempt: [exempt-ns]}\n"
	for _, tc := range []struct {
		name     string
		values   map[string]any
		excluded []string
	}{
		{"default values", nil, []string{"kube-system", releaseNamespace}},
		{"exemptNamespaces", map[string]any{"exemptNamespaces": []any{"tenant-a"}}, []string{"kube-system", releaseNamespace, "tenant-a"}},
		{"trust file exempt list", map[string]any{"trustPolicy": withExempt}, []string{"kube-system", releaseNamespace, "exempt-ns"}},
		{"existingConfigMap relies on exemptNamespaces", map[string]any{"existingConfigMap": "x", "exemptNamespaces": []any{"exempt-ns"}}, []string{"kube-system", releaseNamespace, "exempt-ns"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := excludedNamespaces(t, render(t, tc.values))
			want := map[string]bool{}
			for _, ns := range tc.excluded {
				want[ns] = true
			}
			if !mapsEqual(got, want) {
				t.Errorf("excluded %v, want %v", keys(got), tc.excluded)
			}
		})
	}
}

// TestChartRefusesDefaultNamespace: the release namespace is never sent to
// the webhooks, so a release in "default" (helm install without -n) would let
// anyone who may create a pod there run an unsigned image. The render fails
// and says where to install instead; any other namespace renders.
func TestChartRefusesDefaultNamespace(t *testing.T) {
	_, err := renderFilesIn("default", nil)
	if err == nil || !strings.Contains(err.Error(), "default namespace") || !strings.Contains(err.Error(), "-n signet-system") {
		t.Fatalf("render in default: %v, want a refusal naming the default namespace and a dedicated one", err)
	}
	if _, err := renderFilesIn("platform-signet", nil); err != nil {
		t.Fatalf("render in platform-signet: %v", err)
	}
}

// TestGeneratedCATrustsServingCert: the caBundle in both webhooks verifies
// the Secret's serving certificate for the Service's DNS name, the name the
// apiserver dials.
func TestGeneratedCATrustsServingCert(t *testing.T) {
	objs := render(t, nil)
	secret := one[*corev1.Secret](t, objs)
	svc := one[*corev1.Service](t, objs)
	block, _ := pem.Decode(secret.Data["tls.crt"])
	if block == nil {
		t.Fatal("tls.crt is not PEM")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range webhooks(t, objs) {
		if s := w.client.Service; s == nil || s.Name != svc.Name || s.Namespace != releaseNamespace || s.Port == nil || *s.Port != 443 {
			t.Errorf("%s: clientConfig.service %+v, want %s/%s:443", w.name, s, releaseNamespace, svc.Name)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(w.client.CABundle) {
			t.Fatalf("%s: caBundle holds no certificate", w.name)
		}
		dns := svc.Name + "." + releaseNamespace + ".svc"
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: dns, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("%s: serving certificate does not verify for %s: %v", w.name, dns, err)
		}
	}
}

// TestCertManagerInjectsCA: with cert-manager no Secret is rendered, the
// caBundle is left to cainjector, and inject-ca-from names the Certificate
// that writes the mounted Secret.
func TestCertManagerInjectsCA(t *testing.T) {
	objs := render(t, certManagerValues)
	if s := all[*corev1.Secret](objs); len(s) != 0 {
		t.Errorf("rendered Secret %s although cert-manager issues it", s[0].Name)
	}
	certs := map[string]bool{}
	for _, c := range ofKind(objs, "Certificate") {
		certs[c.GetNamespace()+"/"+c.GetName()] = true
	}
	if len(ofKind(objs, "Issuer")) == 0 {
		t.Error("no Issuer rendered")
	}
	for _, w := range webhooks(t, objs) {
		from := w.annotations["cert-manager.io/inject-ca-from"]
		if !certs[from] {
			t.Errorf("%s %s: inject-ca-from %q names no rendered Certificate (%v)", w.kind, w.configurationName, from, keys(certs))
		}
		if len(w.client.CABundle) != 0 {
			t.Errorf("%s: chart-provided caBundle would fight cainjector", w.name)
		}
	}
}

// TestInvalidValuesFailRender: values that would break the webhook's
// promises are refused at install time.
func TestInvalidValuesFailRender(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
	}{
		{"deadline not below timeout", map[string]any{"webhook": map[string]any{"timeoutSeconds": 8}}},
		{"timeout above the apiserver's 30s maximum", map[string]any{"webhook": map[string]any{"timeoutSeconds": 31}}},
		{"trust policy is not YAML", map[string]any{"trustPolicy": "images: [unclosed"}},
		{"no trust policy at all", map[string]any{"trustPolicy": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := renderErr(tc.values); err == nil {
				t.Error("rendered without error")
			}
		})
	}
}

// TestFailurePolicyIsAChoiceAndIgnoreIsLoud: webhook.failurePolicy sets both
// image webhooks (the trust ConfigMap's stays Ignore), Ignore is announced
// in the install notes and by an alert in the rules, and any other value is
// refused at render time.
func TestFailurePolicyIsAChoiceAndIgnoreIsLoud(t *testing.T) {
	ignore := map[string]any{"webhook": map[string]any{"failurePolicy": "Ignore"}}
	for _, w := range webhooks(t, render(t, ignore)) {
		if w.failure == nil || *w.failure != admissionregv1.Ignore {
			t.Errorf("%s: failurePolicy %s with webhook.failurePolicy=Ignore", w.name, ptrString(w.failure))
		}
	}
	if n := notes(t, ignore); !strings.Contains(n, "FAIL OPEN") || !strings.Contains(n, "UNVERIFIED") {
		t.Errorf("the install notes do not say the webhooks fail open:\n%s", n)
	}
	if n := notes(t, nil); strings.Contains(n, "FAIL OPEN") {
		t.Errorf("the default notes say the webhooks fail open:\n%s", n)
	}
	rules := renderedRules(t, merge(observabilityValues, ignore))
	if a := rules.alert(t, "SignetWebhookFailsOpen"); a["expr"] == nil {
		t.Error("SignetWebhookFailsOpen has no expression")
	}
	_, err := renderErr(map[string]any{"webhook": map[string]any{"failurePolicy": "Maybe"}})
	if err == nil || !strings.Contains(err.Error(), "failurePolicy") {
		t.Errorf("webhook.failurePolicy=Maybe: %v, want a refusal naming it", err)
	}
}

func ptrString[T ~string](p *T) string {
	if p == nil {
		return "unset"
	}
	return string(*p)
}
