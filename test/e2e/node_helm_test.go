package e2e

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// helmClient runs helm (the library the helm CLI is, v3) against a
// kubeconfig, with a chart from an OCI registry, as `helm install
// oci://REGISTRY/charts/signet-enforce --version V` fetches it.
type helmClient struct {
	t          *testing.T
	kubeconfig string
	chart      *chart.Chart
}

// chartPath is the chart in the checkout (tests of values the release's
// chart does not carry yet, e.g. the node plugin's).
const chartPath = "../../deploy/charts/signet-enforce"

// newHelm uses the chart of the checkout.
func newHelm(t *testing.T, kubeconfig string) *helmClient {
	t.Helper()
	ch, err := loader.Load(chartPath)
	if err != nil {
		t.Fatal(err)
	}
	return &helmClient{t: t, kubeconfig: kubeconfig, chart: ch}
}

// newHelmOCI pulls the chart at ociRef (oci://host/repo, plain HTTP: the
// stack's loopback registry, --plain-http) and version with helm's own
// chart locator and registry client, into a cache of the test's.
func newHelmOCI(t *testing.T, kubeconfig, ociRef, version string) *helmClient {
	t.Helper()
	rc, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	in := action.NewInstall(&action.Configuration{})
	in.SetRegistryClient(rc)
	in.Version, in.PlainHTTP = version, true
	settings := cli.New()
	settings.RepositoryCache, settings.RepositoryConfig = t.TempDir(), t.TempDir()+"/repositories.yaml"
	path, err := in.LocateChart(ociRef, settings)
	if err != nil {
		t.Fatalf("helm pull %s --version %s: %v", ociRef, version, err)
	}
	ch, err := loader.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return &helmClient{t: t, kubeconfig: kubeconfig, chart: ch}
}

func (h *helmClient) config(namespace string) *action.Configuration {
	h.t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &h.kubeconfig, &namespace
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, namespace, "secret", func(format string, v ...any) { h.t.Logf("helm: "+format, v...) }); err != nil {
		h.t.Fatal(err)
	}
	return cfg
}

// install is `helm install NAME CHART -n NS --create-namespace --wait --timeout T -f values`.
func (h *helmClient) install(ctx context.Context, name, namespace string, values map[string]any, timeout time.Duration) (*release.Release, error) {
	in := action.NewInstall(h.config(namespace))
	in.ReleaseName, in.Namespace, in.CreateNamespace = name, namespace, true
	in.Wait, in.Timeout = true, timeout
	return in.RunWithContext(ctx, h.chart, values)
}

// upgrade is `helm upgrade NAME CHART -n NS --reuse-values --wait --timeout T` with values set.
func (h *helmClient) upgrade(ctx context.Context, name, namespace string, values map[string]any, timeout time.Duration) (*release.Release, error) {
	up := action.NewUpgrade(h.config(namespace))
	up.Namespace, up.ReuseValues, up.Wait, up.Timeout = namespace, true, true, timeout
	return up.RunWithContext(ctx, name, h.chart, values)
}

// template is `helm template NAME CHART -n NS --include-crds --kube-version
// KV` with values, as Argo CD renders a chart (it passes the cluster's
// version) and Flux's post-renderers see it: every manifest, hooks
// included, in helm's order.
func (h *helmClient) template(name, namespace, kubeVersion string, values map[string]any) string {
	h.t.Helper()
	in := action.NewInstall(&action.Configuration{})
	in.DryRun, in.ClientOnly, in.Replace, in.IncludeCRDs = true, true, true, true
	in.ReleaseName, in.Namespace = name, namespace
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		h.t.Fatal(err)
	}
	in.KubeVersion = kv
	rel, err := in.Run(h.chart, values)
	if err != nil {
		h.t.Fatalf("helm template: %v", err)
	}
	out := rel.Manifest
	for _, hk := range rel.Hooks {
		out += "---\n# Source: " + hk.Path + "\n" + hk.Manifest + "\n"
	}
	return out
}

func describeRelease(r *release.Release) string {
	if r == nil {
		return "no release"
	}
	return fmt.Sprintf("%s rev %d %s", r.Name, r.Version, r.Info.Status)
}
