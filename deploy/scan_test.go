package deploy

import (
	"context"
	"slices"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
)

// named returns the rendered object of type T with that name.
func named[T interface {
	runtime.Object
	GetName() string
}](t *testing.T, objs []runtime.Object, name string) T {
	t.Helper()
	for _, o := range all[T](objs) {
		if o.GetName() == name {
			return o
		}
	}
	var zero T
	t.Fatalf("no %T named %s rendered", zero, name)
	return zero
}

// TestBackgroundScanIsOnByDefault: the verifier runs unless disabled, in its
// own Deployment (the webhook's pods never scan), its Lease is in the release
// namespace, and disabling it removes its Deployment, account and access.
func TestBackgroundScanIsOnByDefault(t *testing.T) {
	objs := render(t, nil)
	args := scannerDeployment(t, objs).Spec.Template.Spec.Containers[0].Args
	for name, want := range map[string]string{"background-scan": "true", "scan-interval": "1h", "lease-namespace": releaseNamespace} {
		if got, _ := arg(args, name); got != want {
			t.Errorf("scanner: --%s=%q, want %q", name, got, want)
		}
	}
	if got, _ := arg(webhookDeployment(t, objs).Spec.Template.Spec.Containers[0].Args, "background-scan"); got != "false" {
		t.Errorf("webhook: --background-scan=%q, want false: its service account may not list pods", got)
	}
	off := render(t, map[string]any{"backgroundScan": map[string]any{"enabled": false}})
	if got, _ := arg(webhookDeployment(t, off).Spec.Template.Spec.Containers[0].Args, "background-scan"); got != "false" {
		t.Errorf("disabled: --background-scan=%q, want false", got)
	}
	if n := len(all[*appsv1.Deployment](off)); n != 1 {
		t.Errorf("disabled: %d Deployments rendered, want only the webhook's", n)
	}
	if n := len(all[*corev1.ServiceAccount](off)); n != 1 {
		t.Errorf("disabled: %d service accounts rendered, want only the webhook's", n)
	}
	if n := len(all[*rbacv1.Role](off)) + len(all[*rbacv1.ClusterRole](off)); n != 1 {
		t.Errorf("disabled: %d roles rendered, want only the webhook's ClusterRole", n)
	}
}

// TestScannerIsNotAWebhook: no Service, PDB or webhook anti-affinity selects
// the scanner's pods, and its selector selects none of the webhook's: the two
// Deployments never adopt each other's pods and no admission reaches it.
func TestScannerIsNotAWebhook(t *testing.T) {
	objs := render(t, nil)
	hook, scan := webhookDeployment(t, objs), scannerDeployment(t, objs)
	scanPods, hookPods := labels.Set(scan.Spec.Template.Labels), labels.Set(hook.Spec.Template.Labels)
	if sel, _ := metav1.LabelSelectorAsSelector(hook.Spec.Selector); sel.Matches(scanPods) {
		t.Error("the webhook Deployment's selector matches the scanner's pods")
	}
	if sel, _ := metav1.LabelSelectorAsSelector(scan.Spec.Selector); sel.Matches(hookPods) {
		t.Error("the scanner Deployment's selector matches the webhook's pods")
	}
	svc := named[*corev1.Service](t, objs, fullname)
	if labels.SelectorFromSet(svc.Spec.Selector).Matches(scanPods) {
		t.Error("the webhook Service sends admissions to the scanner's pods")
	}
	if pdb := one[*policyv1.PodDisruptionBudget](t, objs); mustSelector(t, pdb.Spec.Selector).Matches(scanPods) {
		t.Error("the webhook's PodDisruptionBudget counts the scanner's pods")
	}
	if scan.Spec.Template.Spec.ServiceAccountName != scannerName || hook.Spec.Template.Spec.ServiceAccountName != fullname {
		t.Errorf("service accounts: webhook %q, scanner %q; want %s and %s", hook.Spec.Template.Spec.ServiceAccountName,
			scan.Spec.Template.Spec.ServiceAccountName, fullname, scannerName)
	}
}

func mustSelector(t *testing.T, sel *metav1.LabelSelector) labels.Selector {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestScanRBACIsLeastPrivilege: list and watch pods (no get, no writes),
// signet's reports (watched too, so an edited report is rewritten at once),
// namespace labels and pull secrets by get, and one named
// Lease in the release namespace only; bound to the scanner's own account.
func TestScanRBACIsLeastPrivilege(t *testing.T) {
	objs := render(t, nil)
	cr := named[*rbacv1.ClusterRole](t, objs, fullname+"-scan")
	want := map[string][]string{"pods": {"list", "watch"},
		"policyreports": {"get", "list", "watch", "create", "patch", "update", "delete"}, "clusterpolicyreports": {"get", "list", "watch", "create", "patch", "update", "delete"},
		"namespaces": {"get"}, "secrets": {"get"}, "serviceaccounts": {"get"}}
	got := map[string][]string{}
	for _, r := range cr.Rules {
		for _, res := range r.Resources {
			got[res] = append(got[res], r.Verbs...)
		}
	}
	for res, verbs := range want {
		if !slices.Equal(got[res], verbs) {
			t.Errorf("%s: verbs %v, want %v", res, got[res], verbs)
		}
	}
	if len(got) != len(want) {
		t.Errorf("resources %v, want %v", got, want)
	}
	role := named[*rbacv1.Role](t, objs, fullname+"-scan-lease")
	if role.Namespace != releaseNamespace {
		t.Errorf("lease role in %q, want the release namespace", role.Namespace)
	}
	for _, r := range role.Rules {
		if !slices.Equal(r.Resources, []string{"leases"}) || !slices.Equal(r.Verbs, []string{"create"}) && !slices.Equal(r.ResourceNames, []string{"signet-enforce-scanner"}) {
			t.Errorf("lease rule %+v: only create, or get/update of signet-enforce-scanner", r)
		}
	}
	for _, b := range []struct{ kind, name, subject string }{
		{"ClusterRoleBinding", named[*rbacv1.ClusterRoleBinding](t, objs, fullname+"-scan").Subjects[0].Name, scannerName},
		{"RoleBinding", named[*rbacv1.RoleBinding](t, objs, fullname+"-scan-lease").Subjects[0].Name, scannerName},
	} {
		if b.name != b.subject {
			t.Errorf("%s binds %q, want the scanner's own service account %q", b.kind, b.name, b.subject)
		}
	}
	if sa := named[*corev1.ServiceAccount](t, objs, scannerName); sa.Namespace != releaseNamespace {
		t.Errorf("scanner service account in %q", sa.Namespace)
	}
}

// TestReportCRDsAreInCRDsDirectory: helm installs crds/ before the
// templates, only when absent, and never upgrades or deletes them, which is
// what a cluster that already runs Kyverno needs.
func TestReportCRDsAreInCRDsDirectory(t *testing.T) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range ch.CRDObjects() {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if want := []string{"crds/wgpolicyk8s.io_clusterpolicyreports.yaml", "crds/wgpolicyk8s.io_policyreports.yaml"}; !slices.Equal(names, want) {
		t.Errorf("chart CRDs %v, want %v", names, want)
	}
}

// checkScanAccess asks the apiserver's RBAC authorizer what the background
// verifier may do.
func checkScanAccess(t *testing.T, ctx context.Context, kc *kubernetes.Clientset) {
	user := "system:serviceaccount:" + releaseNamespace + ":" + scannerName
	for _, tc := range []struct {
		name                     string
		ns, verb, group, res, rn string
		allowed                  bool
	}{
		{"may list pods", "tenant-a", "list", "", "pods", "", true},
		{"may watch pods", "tenant-a", "watch", "", "pods", "", true},
		{"may not delete pods", "tenant-a", "delete", "", "pods", "", false},
		{"may write a policy report", "tenant-a", "patch", "wgpolicyk8s.io", "policyreports", "", true},
		{"may update its lease", releaseNamespace, "update", "coordination.k8s.io", "leases", "signet-enforce-scanner", true},
		{"may not update another lease there", releaseNamespace, "update", "coordination.k8s.io", "leases", "other", false},
		{"may not update kube-system's leases", "kube-system", "update", "coordination.k8s.io", "leases", "kube-controller-manager", false},
		{"may read a named pull secret", "tenant-a", "get", "", "secrets", "regcred", true},
		{"may not list secrets", "tenant-a", "list", "", "secrets", "", false},
		{"may not record events", "tenant-a", "create", "", "events", "", false},
	} {
		t.Run("background verifier "+tc.name, func(t *testing.T) {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + releaseNamespace, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: tc.ns, Verb: tc.verb, Group: tc.group, Resource: tc.res, Name: tc.rn},
			}}
			got, err := kc.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.Allowed != tc.allowed {
				t.Errorf("%s %s %s: allowed=%v, want %v", tc.verb, tc.res, tc.rn, got.Status.Allowed, tc.allowed)
			}
		})
	}
}
