package deploy

import (
	"context"
	"slices"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// TestBackgroundScanIsOnByDefault: the verifier runs unless disabled, its
// Lease is in the release namespace, and disabling it removes its access.
func TestBackgroundScanIsOnByDefault(t *testing.T) {
	args := one[*appsv1.Deployment](t, render(t, nil)).Spec.Template.Spec.Containers[0].Args
	for name, want := range map[string]string{"background-scan": "true", "scan-interval": "1h", "lease-namespace": releaseNamespace} {
		if got, _ := arg(args, name); got != want {
			t.Errorf("--%s=%q, want %q", name, got, want)
		}
	}
	off := render(t, map[string]any{"backgroundScan": map[string]any{"enabled": false}})
	if got, _ := arg(one[*appsv1.Deployment](t, off).Spec.Template.Spec.Containers[0].Args, "background-scan"); got != "false" {
		t.Errorf("disabled: --background-scan=%q, want false", got)
	}
	if n := len(all[*rbacv1.Role](off)) + len(all[*rbacv1.ClusterRole](off)); n != 1 {
		t.Errorf("disabled: %d roles rendered, want only the webhook's ClusterRole", n)
	}
}

// TestScanRBACIsLeastPrivilege: list and watch pods (no get, no writes),
// signet's reports, and one named Lease in the release namespace only.
func TestScanRBACIsLeastPrivilege(t *testing.T) {
	objs := render(t, nil)
	cr := named[*rbacv1.ClusterRole](t, objs, fullname+"-scan")
	want := map[string][]string{"pods": {"list", "watch"},
		"policyreports": {"get", "list", "create", "patch", "update", "delete"}, "clusterpolicyreports": {"get", "list", "create", "patch", "update", "delete"}}
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
	user := "system:serviceaccount:" + releaseNamespace + ":" + fullname
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
