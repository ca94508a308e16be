package deploy

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

const testCA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

// TestClientCAIsMountedAndPassed: webhook.clientAuth puts the apiserver's
// client CA in the pods and passes it as --client-ca-file, from the chart's
// own ConfigMap or from only the ca.crt key of an existing Secret (a CA's
// Secret may hold its private key). Only the render is checked here: the
// flag's behaviour is enforce's (its server tests).
func TestClientCAIsMountedAndPassed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		auth   map[string]any
		source func(v corev1.Volume) bool
	}{
		{"inline caBundle", map[string]any{"caBundle": testCA},
			func(v corev1.Volume) bool { return v.ConfigMap != nil && v.ConfigMap.Name == fullname+"-client-ca" }},
		{"existing Secret, only ca.crt", map[string]any{"existingSecret": "apiserver-client-ca"},
			func(v corev1.Volume) bool {
				return v.Secret != nil && v.Secret.SecretName == "apiserver-client-ca" && len(v.Secret.Items) == 1 && v.Secret.Items[0].Key == "ca.crt"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, map[string]any{"webhook": map[string]any{"clientAuth": tc.auth}})
			for _, d := range []*appsv1.Deployment{webhookDeployment(t, objs), scannerDeployment(t, objs)} {
				spec := d.Spec.Template.Spec
				file, ok := arg(spec.Containers[0].Args, "client-ca-file")
				if !ok {
					t.Fatalf("%s: no --client-ca-file", d.Name)
				}
				v, key := mountedFile(t, spec, file)
				if !tc.source(v) || key != "ca.crt" {
					t.Errorf("%s: %s comes from %+v key %q", d.Name, file, v, key)
				}
			}
			if tc.auth["caBundle"] != nil {
				if cm := named[*corev1.ConfigMap](t, objs, fullname+"-client-ca"); cm.Data["ca.crt"] != testCA {
					t.Errorf("client CA ConfigMap holds %q", cm.Data["ca.crt"])
				}
			}
		})
	}
	if _, ok := arg(webhookDeployment(t, render(t, nil)).Spec.Template.Spec.Containers[0].Args, "client-ca-file"); ok {
		t.Error("--client-ca-file without webhook.clientAuth")
	}
	for name, auth := range map[string]map[string]any{
		"both sources": {"caBundle": testCA, "existingSecret": "x"},
		"not PEM":      {"caBundle": "MIIBfake"},
	} {
		if _, err := renderErr(map[string]any{"webhook": map[string]any{"clientAuth": auth}}); err == nil || !strings.Contains(err.Error(), "webhook.clientAuth") {
			t.Errorf("%s: render error %v, want one naming webhook.clientAuth", name, err)
		}
	}
}
