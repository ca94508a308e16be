package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// chartPath is the chart the node test installs, as a user would from a checkout.
const chartPath = "../../deploy/charts/signet-enforce"

// helmClient runs helm (the library the helm CLI is, v3) against a kubeconfig.
type helmClient struct {
	t          *testing.T
	kubeconfig string
	chart      *chart.Chart
}

func newHelm(t *testing.T, kubeconfig string) *helmClient {
	t.Helper()
	ch, err := loader.Load(chartPath)
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

func describeRelease(r *release.Release) string {
	if r == nil {
		return "no release"
	}
	return fmt.Sprintf("%s rev %d %s", r.Name, r.Version, r.Info.Status)
}
