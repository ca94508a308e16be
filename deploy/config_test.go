package deploy

import (
	"path"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/signet-dev/signet/policy"
)

// mountedFile returns the volume that serves file inside container c, and
// the key (ConfigMap/Secret item) it comes from.
func mountedFile(t *testing.T, spec corev1.PodSpec, file string) (corev1.Volume, string) {
	t.Helper()
	c := spec.Containers[0]
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok || strings.Contains(rel, "/") {
			continue
		}
		if m.SubPath != "" {
			t.Errorf("%s is mounted with subPath: updates would never reach it", file)
		}
		for _, v := range spec.Volumes {
			if v.Name == m.Name {
				return v, itemKey(v, rel)
			}
		}
	}
	t.Fatalf("no volume mount serves %s", file)
	return corev1.Volume{}, ""
}

// itemKey maps a file name in a ConfigMap or Secret volume back to its key.
func itemKey(v corev1.Volume, file string) string {
	var items []corev1.KeyToPath
	switch {
	case v.ConfigMap != nil:
		items = v.ConfigMap.Items
	case v.Secret != nil:
		items = v.Secret.Items
	}
	for _, it := range items {
		if it.Path == file {
			return it.Key
		}
	}
	return file
}

// TestTrustFileFromConfigMap: the ConfigMap carries trustPolicy verbatim,
// the pod mounts it, and --policy points at the mounted file.
func TestTrustFileFromConfigMap(t *testing.T) {
	objs := render(t, nil)
	spec := webhookDeployment(t, objs).Spec.Template.Spec
	file, ok := arg(spec.Containers[0].Args, "policy")
	if !ok {
		t.Fatalf("no --policy in %v", spec.Containers[0].Args)
	}
	v, key := mountedFile(t, spec, file)
	cm := one[*corev1.ConfigMap](t, objs)
	if v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
		t.Fatalf("%s comes from volume %+v, not ConfigMap %s", file, v, cm.Name)
	}
	if got := cm.Data[key]; got != defaultTrustPolicy(t) {
		t.Errorf("ConfigMap %s[%s] = %q, want values.yaml's trustPolicy", cm.Name, key, got)
	}
}

// TestExistingConfigMap: no ConfigMap is rendered and the user's key is
// mounted as the file --policy names.
func TestExistingConfigMap(t *testing.T) {
	objs := render(t, map[string]any{"existingConfigMap": "platform-trust", "existingConfigMapKey": "prod.yaml"})
	if cms := all[*corev1.ConfigMap](objs); len(cms) != 0 {
		t.Errorf("rendered ConfigMap %s although existingConfigMap is set", cms[0].Name)
	}
	spec := webhookDeployment(t, objs).Spec.Template.Spec
	file, _ := arg(spec.Containers[0].Args, "policy")
	v, key := mountedFile(t, spec, file)
	if v.ConfigMap == nil || v.ConfigMap.Name != "platform-trust" || key != "prod.yaml" {
		t.Errorf("%s comes from %+v key %q, want platform-trust[prod.yaml]", file, v.ConfigMap, key)
	}
}

// TestTLSSecretMounted: --tls-cert and --tls-key are files of the Secret the
// chart generates (default) or cert-manager writes.
func TestTLSSecretMounted(t *testing.T) {
	for name, values := range map[string]map[string]any{"generated CA": nil, "cert-manager": certManagerValues} {
		t.Run(name, func(t *testing.T) {
			objs := render(t, values)
			spec := webhookDeployment(t, objs).Spec.Template.Spec
			var secret string
			for _, flag := range []string{"tls-cert", "tls-key"} {
				file, ok := arg(spec.Containers[0].Args, flag)
				if !ok {
					t.Fatalf("no --%s", flag)
				}
				v, key := mountedFile(t, spec, file)
				if v.Secret == nil || (key != "tls.crt" && key != "tls.key") || path.Ext(file) != path.Ext(key) {
					t.Fatalf("--%s=%s comes from %+v key %q", flag, file, v, key)
				}
				secret = v.Secret.SecretName
			}
			if values == nil {
				if s := one[*corev1.Secret](t, objs); s.Name != secret || len(s.Data["tls.crt"]) == 0 || len(s.Data["tls.key"]) == 0 {
					t.Errorf("mounted Secret %s, rendered %s with keys %v", secret, s.Name, keys(s.Data))
				}
				return
			}
			certs := ofKind(objs, "Certificate")
			for _, c := range certs {
				if n, _, _ := unstructured.NestedString(c.Object, "spec", "secretName"); n == secret {
					return
				}
			}
			t.Errorf("no cert-manager Certificate writes the mounted Secret %s", secret)
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDefaultTrustPolicyParses: the trust file a default install gets is
// one enforce accepts, in audit mode (a fresh install denies nothing), and
// its exempt namespaces are excluded from the webhooks too.
func TestDefaultTrustPolicyParses(t *testing.T) {
	p, err := policy.Parse([]byte(defaultTrustPolicy(t)), policy.WithSource("values.yaml trustPolicy"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Enforcement.Mode != policy.ModeAudit {
		t.Errorf("default mode %q, want audit", p.Enforcement.Mode)
	}
	excluded := excludedNamespaces(t, render(t, nil))
	for _, ns := range p.Enforcement.ExemptNamespaces {
		if !excluded[ns] {
			t.Errorf("namespace %s is exempt in the trust file but not excluded from the webhooks", ns)
		}
	}
}
