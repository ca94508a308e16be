package deploy

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

const (
	chartDir         = "charts/signet-enforce"
	releaseName      = "signet"
	releaseNamespace = "signet-system"
	fullname         = "signet-signet-enforce"
	// scannerName names the background verifier's Deployment and service account.
	scannerName = fullname + "-scanner"
)

// strict rejects unknown and duplicate fields, so a mis-indented key in a
// template fails here instead of being silently dropped by the apiserver.
var strict = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// renderErr renders the chart as `helm install` would, with values merged
// over values.yaml. It returns each manifest of the release keyed
// "template.yaml#n"; hooks (helm.sh/hook), which helm runs apart, are left out.
func renderErr(values map[string]any) (map[string]string, error) {
	all, err := renderFiles(values)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, m := range all {
		if !isHook(m) {
			out[k] = m
		}
	}
	return out, nil
}

// hooks renders the chart's hook manifests only, decoded.
func hooks(t *testing.T, values map[string]any) []runtime.Object {
	t.Helper()
	all, err := renderFiles(values)
	if err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	for k, m := range all {
		if isHook(m) {
			objs = append(objs, decode(t, k, m))
		}
	}
	return objs
}

func isHook(manifest string) bool {
	var m struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	_ = yaml.Unmarshal([]byte(manifest), &m)
	_, ok := m.Metadata.Annotations["helm.sh/hook"]
	return ok
}

func renderFiles(values map[string]any) (map[string]string, error) {
	return renderFilesIn(releaseNamespace, values)
}

// renderFilesIn renders as `helm install -n namespace` would.
func renderFilesIn(namespace string, values map[string]any) (map[string]string, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	opts := chartutil.ReleaseOptions{Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true}
	vals, err := chartutil.ToRenderValues(ch, values, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, content := range files {
		if !strings.HasSuffix(name, ".yaml") {
			continue // NOTES.txt and partials
		}
		for key, m := range releaseutil.SplitManifests(content) {
			if strings.TrimSpace(m) != "" {
				out[filepath.Base(name)+"#"+key] = m
			}
		}
	}
	return out, nil
}

// render renders and decodes: built-in kinds into their typed structs,
// anything else (cert-manager) into Unstructured.
func render(t *testing.T, values map[string]any) []runtime.Object {
	t.Helper()
	files, err := renderErr(values)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var objs []runtime.Object
	for _, n := range names {
		objs = append(objs, decode(t, n, files[n]))
	}
	return objs
}

func decode(t *testing.T, name, manifest string) runtime.Object {
	t.Helper()
	obj, _, err := strict.Decode([]byte(manifest), nil, nil)
	if err == nil {
		return obj
	}
	if !runtime.IsNotRegisteredError(err) {
		t.Fatalf("%s: %v\n%s", name, err, manifest)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &u.Object); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return u
}

// webhookDeployment is the Deployment the webhook Service sends admissions to.
func webhookDeployment(t *testing.T, objs []runtime.Object) *appsv1.Deployment {
	t.Helper()
	return named[*appsv1.Deployment](t, objs, fullname)
}

// scannerDeployment is the background verifier's Deployment.
func scannerDeployment(t *testing.T, objs []runtime.Object) *appsv1.Deployment {
	t.Helper()
	return named[*appsv1.Deployment](t, objs, scannerName)
}

// all returns the rendered objects of type T.
func all[T runtime.Object](objs []runtime.Object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// one returns the single rendered object of type T.
func one[T runtime.Object](t *testing.T, objs []runtime.Object) T {
	t.Helper()
	got := all[T](objs)
	if len(got) != 1 {
		var zero T
		t.Fatalf("want exactly one %T, rendered %d", zero, len(got))
	}
	return got[0]
}

// ofKind returns the rendered Unstructured objects of a kind.
func ofKind(objs []runtime.Object, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range all[*unstructured.Unstructured](objs) {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// defaultTrustPolicy is values.yaml's trustPolicy.
func defaultTrustPolicy(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		TrustPolicy string `json:"trustPolicy"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.TrustPolicy
}

var certManagerValues = map[string]any{"tls": map[string]any{"certManager": map[string]any{"enabled": true}}}

// merge returns the values of each map in turn merged into the previous
// ones, nested maps key by key (later maps win); the inputs are not changed.
func merge(maps ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range maps {
		for k, v := range m {
			sub, isMap := v.(map[string]any)
			prev, wasMap := out[k].(map[string]any)
			switch {
			case isMap && wasMap:
				out[k] = merge(prev, sub)
			case isMap:
				out[k] = merge(sub)
			default:
				out[k] = v
			}
		}
	}
	return out
}

// notes renders the chart's NOTES.txt, as helm prints it after an install.
func notes(t *testing.T, values map[string]any) string {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	opts := chartutil.ReleaseOptions{Name: releaseName, Namespace: releaseNamespace, Revision: 1, IsInstall: true}
	vals, err := chartutil.ToRenderValues(ch, values, opts, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		t.Fatal(err)
	}
	return files[ch.Name()+"/templates/NOTES.txt"]
}
