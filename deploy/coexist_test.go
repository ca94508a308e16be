package deploy

import (
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"

	"github.com/signet-dev/signet/policyreport"
	"github.com/signet-dev/signet/test/stack"
)

// TestReportCRDsOutliveTheChart: beside Kyverno or policy-controller the
// PolicyReport CRDs are shared. helm install creates them from crds/ only
// where missing, and helm uninstall never deletes them, so uninstalling
// signet leaves another producer's reports (and its own) in place; a second
// install finds them and leaves them alone.
func TestReportCRDsOutliveTheChart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver and etcd")
	}
	s := stack.New(t, stack.Options{Kube: true})
	ctx := t.Context()
	dyn, err := dynamic.NewForConfig(s.Kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := func() *action.Configuration {
		flags := genericclioptions.NewConfigFlags(false)
		ns := releaseNamespace
		flags.KubeConfig, flags.Namespace = &s.Kube.Kubeconfig, &ns
		c := new(action.Configuration)
		if err := c.Init(flags, ns, "secret", t.Logf); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// No node here: nothing would run the trust check hook.
	values := map[string]any{"trustCheck": map[string]any{"enabled": false}}
	install := func() {
		in := action.NewInstall(cfg())
		in.ReleaseName, in.Namespace, in.CreateNamespace, in.Timeout = releaseName, releaseNamespace, true, 2*time.Minute
		if _, err := in.RunWithContext(ctx, ch, values); err != nil {
			t.Fatalf("helm install: %v", err)
		}
	}
	uninstall := func() {
		if _, err := action.NewUninstall(cfg()).Run(releaseName); err != nil {
			t.Fatalf("helm uninstall: %v", err)
		}
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	reports := dyn.Resource(policyreport.PolicyReports).Namespace("default")
	install()
	var crdUIDs []string
	for _, n := range []string{"policyreports.wgpolicyk8s.io", "clusterpolicyreports.wgpolicyk8s.io"} {
		c, err := crds.Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("helm install created no CRD %s: %v", n, err)
		}
		crdUIDs = append(crdUIDs, string(c.GetUID()))
	}
	// Another producer's report, as Kyverno writes them.
	theirs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
		"metadata": map[string]any{"name": "kyverno-report", "namespace": "default", "labels": map[string]any{"app.kubernetes.io/managed-by": "kyverno"}},
		"results":  []any{map[string]any{"source": "kyverno", "policy": "verify-images", "result": "pass"}},
	}}
	waitFor(t, 30*time.Second, "the PolicyReport CRD to serve", func() error {
		_, err := reports.Create(ctx, theirs, metav1.CreateOptions{})
		return err
	})
	uninstall()
	for i, n := range []string{"policyreports.wgpolicyk8s.io", "clusterpolicyreports.wgpolicyk8s.io"} {
		c, err := crds.Get(ctx, n, metav1.GetOptions{})
		if err != nil || string(c.GetUID()) != crdUIDs[i] || c.GetDeletionTimestamp() != nil {
			t.Fatalf("helm uninstall removed or replaced CRD %s: %v", n, err)
		}
	}
	if _, err := reports.Get(ctx, "kyverno-report", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Fatal("helm uninstall of signet deleted another producer's PolicyReport")
	}
	install() // again, over the CRDs that exist: they are left as they are
	if c, err := crds.Get(ctx, "policyreports.wgpolicyk8s.io", metav1.GetOptions{}); err != nil || string(c.GetUID()) != crdUIDs[0] {
		t.Errorf("a second install replaced the CRD: %v", err)
	}
}
