package deploy

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"testing"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/signet-dev/signet/test/stack"
)

// installOrder is helm's: what others reference first, webhooks last.
var installOrder = []string{"NetworkPolicy", "ServiceAccount", "Secret", "ConfigMap", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
	"Service", "Deployment", "Job", "PodDisruptionBudget", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}

// neverMatches keeps registered webhooks from intercepting anything else in
// this apiserver: no namespace or object carries this label.
var neverMatches = &metav1.LabelSelector{MatchLabels: map[string]string{"signet.dev/chart-test": "never-matches"}}

// TestChartOnAPIServer creates every object of a default install on a real
// kube-apiserver. The webhook configurations are first created in dry-run
// exactly as rendered (full validation, nothing stored), then stored with a
// selector that matches nothing, and deleted at the end.
func TestChartOnAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver and etcd")
	}
	files, err := renderErr(nil)
	if err != nil {
		t.Fatal(err)
	}
	objs := render(t, nil)
	s := stack.New(t, stack.Options{Kube: true})
	kc, err := kubernetes.NewForConfig(s.Kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(s.Kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// Pod Security "restricted" is enforced in the release namespace, so the
	// apiserver itself judges the pod's security settings below.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNamespace, Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if _, err := kc.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createAll(t, ctx, kc, dyn, files)
	t.Run("the trust check hook's objects pass the apiserver's validation", func(t *testing.T) {
		all, err := renderFiles(nil)
		if err != nil {
			t.Fatal(err)
		}
		hookFiles := map[string]string{}
		for k, m := range all {
			if isHook(m) {
				hookFiles[k] = m
			}
		}
		if len(hookFiles) != 2 {
			t.Fatalf("rendered %d hook manifests, want the check's ConfigMap and Job", len(hookFiles))
		}
		createAll(t, ctx, kc, dyn, hookFiles, metav1.DryRunAll)
	})
	registerWebhooks(t, ctx, kc, one[*admissionregv1.MutatingWebhookConfiguration](t, objs), one[*admissionregv1.ValidatingWebhookConfiguration](t, objs))

	t.Run("the webhook and scanner pods pass Pod Security restricted", func(t *testing.T) {
		for _, d := range []*appsv1.Deployment{webhookDeployment(t, objs), scannerDeployment(t, objs)} {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "psa-probe", Namespace: releaseNamespace}, Spec: d.Spec.Template.Spec}
			if _, err := kc.CoreV1().Pods(releaseNamespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
				t.Errorf("%s: %v", d.Name, err)
			}
		}
	})
	t.Run("every optional object passes the apiserver's validation", func(t *testing.T) {
		for _, ns := range []string{"tenant-a", "monitoring"} {
			if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		optional := map[string]any{
			"webhook":       map[string]any{"clientAuth": map[string]any{"caBundle": testCA}},
			"rbac":          map[string]any{"pullSecretNamespaces": []any{"tenant-a"}},
			"networkPolicy": map[string]any{"webhook": map[string]any{"from": []any{map[string]any{"ipBlock": map[string]any{"cidr": "10.0.0.0/24"}}}}},
			"metrics":       map[string]any{"prometheusRule": map[string]any{"enabled": false}},
		}
		files, err := renderErr(optional)
		if err != nil {
			t.Fatal(err)
		}
		// Objects of the default install exist already: a dry-run apply
		// validates each as an upgrade would send it.
		applyAll(t, ctx, kc, dyn, files)
	})
	checkServiceAccountAccess(t, ctx, kc)
	checkScanAccess(t, ctx, kc)
	t.Run("the trust ConfigMap webhook, as the apiserver applies it", func(t *testing.T) {
		checkTrustConfigWebhook(t, ctx, kc, objs)
	})
}

// createAll creates the rendered non-webhook objects through the dynamic
// client, each exactly as rendered.
func createAll(t *testing.T, ctx context.Context, kc *kubernetes.Clientset, dyn dynamic.Interface, files map[string]string, dryRun ...string) {
	t.Helper()
	eachObject(t, kc, dyn, files, func(ri dynamic.ResourceInterface, u *unstructured.Unstructured) {
		if _, err := ri.Create(ctx, u, metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict, DryRun: dryRun}); err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	})
}

// applyAll server-side applies the rendered non-webhook objects in dry-run:
// full validation, created or updated, nothing stored.
func applyAll(t *testing.T, ctx context.Context, kc *kubernetes.Clientset, dyn dynamic.Interface, files map[string]string) {
	t.Helper()
	eachObject(t, kc, dyn, files, func(ri dynamic.ResourceInterface, u *unstructured.Unstructured) {
		body, err := u.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		opts := metav1.PatchOptions{FieldManager: "helm", Force: ptrTo(true), DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict}
		if _, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, body, opts); err != nil {
			t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	})
}

// eachObject calls f with each rendered non-webhook object, in helm's
// install order, and the dynamic client for its kind.
func eachObject(t *testing.T, kc *kubernetes.Clientset, dyn dynamic.Interface, files map[string]string, f func(dynamic.ResourceInterface, *unstructured.Unstructured)) {
	t.Helper()
	groups, err := restmapper.GetAPIGroupResources(kc.Discovery())
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	var us []*unstructured.Unstructured
	for _, m := range files {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(m), &u.Object); err != nil {
			t.Fatal(err)
		}
		us = append(us, u)
	}
	slices.SortFunc(us, func(a, b *unstructured.Unstructured) int {
		return cmp.Compare(slices.Index(installOrder, a.GetKind()), slices.Index(installOrder, b.GetKind()))
	})
	for _, u := range us {
		if !slices.Contains(installOrder, u.GetKind()) {
			t.Fatalf("rendered %s %s, which this test does not know how to install", u.GetKind(), u.GetName())
		}
		if slices.Contains([]string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}, u.GetKind()) {
			continue
		}
		gvk := u.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatal(err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if u.GetNamespace() != "" {
			ri = dyn.Resource(mapping.Resource).Namespace(u.GetNamespace())
		}
		f(ri, u)
	}
}

// registerWebhooks: dry-run as rendered, then stored with neverMatches.
func registerWebhooks(t *testing.T, ctx context.Context, kc *kubernetes.Clientset, m *admissionregv1.MutatingWebhookConfiguration, v *admissionregv1.ValidatingWebhookConfiguration) {
	t.Helper()
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict}
	mc, vc := kc.AdmissionregistrationV1().MutatingWebhookConfigurations(), kc.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := mc.Create(ctx, m, dry); err != nil {
		t.Fatalf("apiserver rejects the MutatingWebhookConfiguration: %v", err)
	}
	if _, err := vc.Create(ctx, v, dry); err != nil {
		t.Fatalf("apiserver rejects the ValidatingWebhookConfiguration: %v", err)
	}
	m, v = m.DeepCopy(), v.DeepCopy()
	for i := range m.Webhooks {
		m.Webhooks[i].NamespaceSelector, m.Webhooks[i].ObjectSelector = neverMatches, neverMatches
	}
	for i := range v.Webhooks {
		v.Webhooks[i].NamespaceSelector, v.Webhooks[i].ObjectSelector = neverMatches, neverMatches
	}
	gotM, err := mc.Create(ctx, m, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mc.Delete(context.Background(), m.Name, metav1.DeleteOptions{}) })
	gotV, err := vc.Create(ctx, v, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vc.Delete(context.Background(), v.Name, metav1.DeleteOptions{}) })
	if !bytes.Equal(gotM.Webhooks[0].ClientConfig.CABundle, m.Webhooks[0].ClientConfig.CABundle) || !bytes.Equal(gotV.Webhooks[0].ClientConfig.CABundle, v.Webhooks[0].ClientConfig.CABundle) {
		t.Error("stored caBundle differs from the rendered one")
	}
}

// checkServiceAccountAccess asks the apiserver's RBAC authorizer what the
// webhook's service account may do in a tenant namespace.
func checkServiceAccountAccess(t *testing.T, ctx context.Context, kc *kubernetes.Clientset) {
	user := "system:serviceaccount:" + releaseNamespace + ":" + fullname
	for _, tc := range []struct {
		name                       string
		verb, group, resource, sub string
		allowed                    bool
	}{
		{"may read a named pull secret", "get", "", "secrets", "", true},
		{"may read a pod's service account", "get", "", "serviceaccounts", "", true},
		{"may read a namespace's labels", "get", "", "namespaces", "", true},
		{"may not list namespaces", "list", "", "namespaces", "", false},
		{"may record an event", "create", "", "events", "", true},
		{"may update an event it recorded", "patch", "", "events", "", true},
		{"may not list secrets", "list", "", "secrets", "", false},
		{"may not watch secrets", "watch", "", "secrets", "", false},
		{"may not change secrets", "update", "", "secrets", "", false},
		{"may not mint service account tokens", "create", "", "serviceaccounts", "token", false},
		{"may not read pods", "get", "", "pods", "", false},
		{"may not list pods: only the background verifier's account may", "list", "", "pods", "", false},
		{"may not watch pods", "watch", "", "pods", "", false},
		{"may not create pods", "create", "", "pods", "", false},
		{"may not write policy reports", "patch", "wgpolicyk8s.io", "policyreports", "", false},
	} {
		t.Run("service account "+tc.name, func(t *testing.T) {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:               user,
				Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + releaseNamespace, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "tenant-a", Verb: tc.verb, Group: tc.group, Resource: tc.resource, Subresource: tc.sub},
			}}
			got, err := kc.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.Allowed != tc.allowed {
				t.Errorf("%s %s: allowed=%v, want %v (%s)", tc.verb, tc.resource, got.Status.Allowed, tc.allowed, got.Status.Reason)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
