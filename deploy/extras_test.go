package deploy

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestExtraVolumesEnvAndMountsReachBothDeployments: enforce.extraVolumes,
// extraVolumeMounts and extraEnv land in the webhook's and the background
// verifier's pods (both verify, with the same registry access).
func TestExtraVolumesEnvAndMountsReachBothDeployments(t *testing.T) {
	objs := render(t, map[string]any{"enforce": map[string]any{
		"extraVolumes":      []any{map[string]any{"name": "helper", "secret": map[string]any{"secretName": "helper-config"}}},
		"extraVolumeMounts": []any{map[string]any{"name": "helper", "mountPath": "/etc/helper", "readOnly": true}},
		"extraEnv":          []any{map[string]any{"name": "HELPER_CONFIG", "value": "/etc/helper/config.json"}},
	}})
	for _, d := range []*appsv1.Deployment{webhookDeployment(t, objs), scannerDeployment(t, objs)} {
		spec := d.Spec.Template.Spec
		v, key := mountedFile(t, spec, "/etc/helper/config.json")
		if v.Secret == nil || v.Secret.SecretName != "helper-config" || key != "config.json" {
			t.Errorf("%s: /etc/helper/config.json comes from %+v key %q", d.Name, v, key)
		}
		if env(spec.Containers[0], "HELPER_CONFIG") != "/etc/helper/config.json" {
			t.Errorf("%s: HELPER_CONFIG not set: %+v", d.Name, spec.Containers[0].Env)
		}
	}
}

// env returns the value of the container's environment variable name.
func env(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
