package deploy

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/signet-dev/signet/enforce"
)

// gitopsTLS is the GitOps TLS mode: a Secret made once with `enforce
// certificate` and its CA as a value.
func gitopsTLS(t *testing.T) map[string]any {
	t.Helper()
	sc, err := enforce.NewServingCertificate(fullname, releaseNamespace, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"tls": map[string]any{"existingSecret": "signet-tls", "caBundle": string(sc.CA)}}
}

// helmTemplate is `helm template signet CHART -n signet-system
// --include-crds --kube-version 1.37.2` with values: the manifests and hooks, as Argo CD and
// Flux's post-renderers get them.
func helmTemplate(t *testing.T, values map[string]any) string {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	in := action.NewInstall(&action.Configuration{})
	in.DryRun, in.ClientOnly, in.Replace, in.IncludeCRDs = true, true, true, true
	in.ReleaseName, in.Namespace = releaseName, releaseNamespace
	// As Argo CD passes the cluster's version (--kube-version): helm's
	// default is older than the chart's kubeVersion.
	kv, err := chartutil.ParseKubeVersion("v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	in.KubeVersion = kv
	rel, err := in.Run(ch, values)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	out.WriteString(rel.Manifest)
	for _, h := range rel.Hooks {
		out.WriteString("---\n# Source: " + h.Path + "\n" + h.Manifest + "\n")
	}
	return out.String()
}

// TestGitOpsRendersAreIdentical: with the serving certificate in a Secret
// the user keeps (tls.existingSecret) or with cert-manager, two `helm
// template` runs of the same values give the same bytes, so a GitOps tool
// sees no change between syncs. The default (a CA generated at render
// time) does not: the reason those modes exist.
func TestGitOpsRendersAreIdentical(t *testing.T) {
	for name, values := range map[string]map[string]any{
		"tls.existingSecret": gitopsTLS(t),
		"cert-manager":       certManagerValues,
	} {
		t.Run(name, func(t *testing.T) {
			a, b := helmTemplate(t, values), helmTemplate(t, values)
			if a != b {
				t.Errorf("two renders differ:\n%s", firstDifference(a, b))
			}
		})
	}
	if first, second := helmTemplate(t, nil), helmTemplate(t, nil); first == second {
		t.Error("the generated mode rendered the same CA twice: genCA is gone, so is the reason for the GitOps modes; update the docs")
	}
}

// TestExistingTLSSecret: the pods mount the user's Secret, both webhooks
// trust the user's CA, the chart renders no Secret of its own, and a
// missing or malformed CA or a second TLS source is refused.
func TestExistingTLSSecret(t *testing.T) {
	values := gitopsTLS(t)
	objs := render(t, values)
	if s := all[*corev1.Secret](objs); len(s) != 0 {
		t.Errorf("rendered Secret %s although tls.existingSecret is set", s[0].Name)
	}
	for _, d := range []string{fullname, scannerName} {
		spec := named[*appsv1.Deployment](t, objs, d).Spec.Template.Spec
		v, key := mountedFile(t, spec, "/tls/tls.crt")
		if v.Secret == nil || v.Secret.SecretName != "signet-tls" || key != "tls.crt" {
			t.Errorf("%s: /tls/tls.crt comes from %+v key %q", d, v, key)
		}
	}
	ca := []byte(values["tls"].(map[string]any)["caBundle"].(string))
	for _, w := range webhooks(t, objs) {
		if !bytes.Equal(w.client.CABundle, ca) {
			t.Errorf("%s: caBundle is not tls.caBundle", w.name)
		}
	}
	for _, w := range one[*admissionregv1.ValidatingWebhookConfiguration](t, objs).Webhooks {
		if !bytes.Equal(w.ClientConfig.CABundle, ca) {
			t.Errorf("%s: caBundle is not tls.caBundle", w.Name)
		}
	}
	for name, tls := range map[string]map[string]any{
		"no CA":                 {"existingSecret": "signet-tls"},
		"CA not PEM":            {"existingSecret": "signet-tls", "caBundle": "MIIB"},
		"with cert-manager too": {"existingSecret": "signet-tls", "caBundle": string(ca), "certManager": map[string]any{"enabled": true}},
		"CA without the Secret": {"caBundle": string(ca)},
	} {
		if _, err := renderErr(map[string]any{"tls": tls}); err == nil || !strings.Contains(err.Error(), "tls") {
			t.Errorf("%s: %v, want a refusal naming tls", name, err)
		}
	}
}

// firstDifference shows where two renders part.
func firstDifference(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, la[i], lb[i])
		}
	}
	return "one render is longer"
}

// TestKubeVersionIsTheDocumentedMinimum: helm refuses the chart below
// Kubernetes 1.30 (the trust ConfigMap webhook's matchConditions and the
// preStop sleep action need it), and renders it from 1.30 on.
func TestKubeVersionIsTheDocumentedMinimum(t *testing.T) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	for v, ok := range map[string]bool{"v1.29.9": false, "v1.30.0": true, "v1.37.2": true} {
		in := action.NewInstall(&action.Configuration{})
		in.DryRun, in.ClientOnly, in.ReleaseName, in.Namespace = true, true, releaseName, releaseNamespace
		kv, err := chartutil.ParseKubeVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		in.KubeVersion = kv
		_, err = in.Run(ch, nil)
		if (err == nil) != ok || !ok && !strings.Contains(err.Error(), "kubeVersion") {
			t.Errorf("Kubernetes %s: %v, want accepted=%v", v, err, ok)
		}
	}
}
