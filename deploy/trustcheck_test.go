package deploy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/enforce"
)

const trustConfigWebhook = "trust-config.signet.dev"

func testPublicKey(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func keyedTrustPolicy(path string) string {
	return "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nidentities:\n  - name: release\n    key: {path: " + path +
		"}\nimages:\n  - {match: ['**'], signedBy: [release]}\n"
}

// TestKeysTravelWithTrustFile: a key named by path in trust.yaml is in the
// trust ConfigMap and mounted beside it, so the ConfigMap enforce's pod sees
// loads (checked with enforce's own ConfigMap validator).
func TestKeysTravelWithTrustFile(t *testing.T) {
	values := map[string]any{"trustPolicy": keyedTrustPolicy("cosign.pub"), "keys": map[string]any{"cosign.pub": testPublicKey(t)}}
	objs := render(t, values)
	spec := webhookDeployment(t, objs).Spec.Template.Spec
	policyFile, _ := arg(spec.Containers[0].Args, "policy")
	keyFile := strings.TrimSuffix(policyFile, "trust.yaml") + "cosign.pub"
	v, key := mountedFile(t, spec, keyFile)
	cm := one[*corev1.ConfigMap](t, objs)
	if v.ConfigMap == nil || v.ConfigMap.Name != cm.Name || cm.Data[key] == "" {
		t.Fatalf("%s comes from %+v key %q; ConfigMap %s has keys %v", keyFile, v.ConfigMap, key, cm.Name, keys(cm.Data))
	}
	if err := enforce.NewTrustConfig(policyFile).Check(cm); err != nil {
		t.Errorf("the rendered ConfigMap does not load as mounted: %v", err)
	}
}

// TestKeyOutsideKeysMapFailsRender: helm itself refuses a trust file naming a
// file the pod would not have, and says where it must go.
func TestKeyOutsideKeysMapFailsRender(t *testing.T) {
	for _, c := range []struct {
		name, path string
		keys       map[string]any
		want       string
	}{
		{"a key missing from the keys map", "cosign.pub", nil, "cosign.pub is not in the keys map"},
		{"a key outside /etc/signet", "/home/me/cosign.pub", map[string]any{"cosign.pub": "x"}, "is outside /etc/signet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := renderErr(map[string]any{"trustPolicy": keyedTrustPolicy(c.path), "keys": c.keys})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "identities[0].key.path") {
				t.Fatalf("render error %v, want one naming identities[0].key.path and %q", err, c.want)
			}
		})
	}
}

// trustConfigHook returns the trust ConfigMap webhook of a render.
func trustConfigHook(t *testing.T, objs []runtime.Object) (*admissionregv1.ValidatingWebhook, *admissionregv1.ValidatingWebhookConfiguration) {
	t.Helper()
	v := one[*admissionregv1.ValidatingWebhookConfiguration](t, objs)
	for i := range v.Webhooks {
		if v.Webhooks[i].Name == trustConfigWebhook {
			return &v.Webhooks[i], v
		}
	}
	t.Fatalf("no %s webhook", trustConfigWebhook)
	return nil, nil
}

// TestTrustConfigWebhook: the trust ConfigMap, chart-made or existing, and no
// other ConfigMap, goes to enforce's ConfigMap validator before it is stored;
// it is selected by name (matchConditions), never by a label a `kubectl
// replace --force` would drop; it is served by the same Service and CA as the
// image webhooks with the endpoint and key enforce serves; and it fails open,
// so a trust file stays fixable while no replica runs. (The apiserver's own
// evaluation: TestChartOnAPIServer, checkTrustConfigWebhook.)
func TestTrustConfigWebhook(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		cm     string
	}{
		{"the chart's ConfigMap", nil, fullname},
		{"existingConfigMap", map[string]any{"existingConfigMap": "platform-trust", "existingConfigMapKey": "prod.yaml"}, "platform-trust"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.values)
			w, v := trustConfigHook(t, objs)
			if s := w.ClientConfig.Service; s == nil || s.Path == nil || *s.Path != enforce.TrustConfigPath || s.Name != fullname || s.Namespace != releaseNamespace {
				t.Errorf("clientConfig %+v, want %s/%s path %s", w.ClientConfig.Service, releaseNamespace, fullname, enforce.TrustConfigPath)
			}
			if string(w.ClientConfig.CABundle) != string(v.Webhooks[0].ClientConfig.CABundle) {
				t.Error("caBundle differs from the image webhooks'")
			}
			if w.FailurePolicy == nil || *w.FailurePolicy != admissionregv1.Ignore {
				t.Errorf("failurePolicy %v, want Ignore", w.FailurePolicy)
			}
			if len(w.Rules) != 1 || !slices.Equal(w.Rules[0].Resources, []string{"configmaps"}) || !slices.Equal(w.Rules[0].Operations, []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update}) {
				t.Errorf("rules %+v, want CREATE and UPDATE of configmaps", w.Rules)
			}
			if w.ObjectSelector != nil && len(w.ObjectSelector.MatchLabels)+len(w.ObjectSelector.MatchExpressions) > 0 {
				t.Errorf("objectSelector %v: a label selects nothing once `kubectl replace --force` drops it", w.ObjectSelector)
			}
			want := fmt.Sprintf("object.metadata.name == %q", tc.cm)
			if len(w.MatchConditions) != 1 || w.MatchConditions[0].Expression != want {
				t.Errorf("matchConditions %+v, want the one expression %s", w.MatchConditions, want)
			}
			nsSel, _ := metav1.LabelSelectorAsSelector(w.NamespaceSelector)
			if !nsSel.Matches(labels.Set{corev1.LabelMetadataName: releaseNamespace}) || nsSel.Matches(labels.Set{corev1.LabelMetadataName: "default"}) {
				t.Errorf("namespaceSelector %v, want the release namespace only", w.NamespaceSelector)
			}
			// The validator checks the key the pods load: --policy's base name.
			policyFile, _ := arg(webhookDeployment(t, objs).Spec.Template.Spec.Containers[0].Args, "policy")
			if tc.values != nil && path.Base(policyFile) != "prod.yaml" {
				t.Errorf("--policy=%s, want the existingConfigMapKey prod.yaml", policyFile)
			}
		})
	}
}

// TestTrustVolumeIsTheWholeConfigMap: the webhook, the scanner and the check
// hook mount the trust ConfigMap whole, so every key file enforce's validator
// accepts (it serves any key of the ConfigMap) is a file in the pod, and a key
// removed from the ConfigMap leaves no projected item that keeps new pods in
// ContainerCreating.
func TestTrustVolumeIsTheWholeConfigMap(t *testing.T) {
	for name, values := range map[string]map[string]any{
		"chart ConfigMap":   {"trustPolicy": keyedTrustPolicy("cosign.pub"), "keys": map[string]any{"cosign.pub": testPublicKey(t)}},
		"existingConfigMap": {"existingConfigMap": "platform-trust", "existingConfigMapKey": "prod.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			objs := render(t, values)
			specs := map[string]corev1.PodSpec{"webhook": webhookDeployment(t, objs).Spec.Template.Spec,
				"scanner": scannerDeployment(t, objs).Spec.Template.Spec, "check": one[*batchv1.Job](t, hooks(t, values)).Spec.Template.Spec}
			for who, spec := range specs {
				v, _ := mountedFile(t, spec, "/etc/signet/trust.yaml")
				if v.ConfigMap == nil || len(v.ConfigMap.Items) != 0 {
					t.Errorf("%s: trust volume %+v, want the whole ConfigMap (no items)", who, v.VolumeSource)
				}
			}
		})
	}
}

// TestTrustCheckHook: before install and upgrade a Job runs `enforce check` on
// exactly the files the pods will mount, with the same image, so a broken trust
// file fails the release before any webhook exists.
func TestTrustCheckHook(t *testing.T) {
	values := map[string]any{"trustPolicy": keyedTrustPolicy("cosign.pub"), "keys": map[string]any{"cosign.pub": testPublicKey(t)}}
	release := render(t, values)
	hs := hooks(t, values)
	job := one[*batchv1.Job](t, hs)
	if got := job.Annotations["helm.sh/hook"]; got != "pre-install,pre-upgrade" {
		t.Errorf("hook %q, want pre-install,pre-upgrade", got)
	}
	dep := webhookDeployment(t, release).Spec.Template.Spec
	spec := job.Spec.Template.Spec
	c := spec.Containers[0]
	policyFile, _ := arg(dep.Containers[0].Args, "policy")
	if c.Image != dep.Containers[0].Image || !slices.Equal(c.Args, []string{"check", "--policy=" + policyFile}) {
		t.Errorf("hook runs %s %v, want %s [check --policy=%s]", c.Image, c.Args, dep.Containers[0].Image, policyFile)
	}
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 || c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		t.Error("the hook must fail on the first error and keep the error as the pod's termination message")
	}
	hookCM := one[*corev1.ConfigMap](t, hs)
	relCM := one[*corev1.ConfigMap](t, release)
	if !maps.Equal(hookCM.Data, relCM.Data) {
		t.Errorf("hook ConfigMap keys %v, release ConfigMap keys %v: the check must see what the pods mount", keys(hookCM.Data), keys(relCM.Data))
	}
	if hookCM.Annotations["helm.sh/hook-weight"] >= job.Annotations["helm.sh/hook-weight"] {
		t.Error("the hook ConfigMap must be created before the Job (lower weight)")
	}
	for _, f := range []string{policyFile, strings.TrimSuffix(policyFile, "trust.yaml") + "cosign.pub"} {
		v, key := mountedFile(t, spec, f)
		_, depKey := mountedFile(t, dep, f)
		if v.ConfigMap == nil || v.ConfigMap.Name != hookCM.Name || key != depKey {
			t.Errorf("hook mounts %s from %+v key %q, pods from key %q", f, v.ConfigMap, key, depKey)
		}
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the check needs no API access: automountServiceAccountToken must be false")
	}
	t.Run("existingConfigMap is checked in place", func(t *testing.T) {
		hs := hooks(t, map[string]any{"existingConfigMap": "platform-trust", "existingConfigMapKey": "prod.yaml"})
		if cms := all[*corev1.ConfigMap](hs); len(cms) != 0 {
			t.Errorf("rendered hook ConfigMap %s although existingConfigMap is set", cms[0].Name)
		}
		job := one[*batchv1.Job](t, hs).Spec.Template.Spec.Containers[0]
		existingPolicy, _ := arg(job.Args, "policy")
		v, key := mountedFile(t, one[*batchv1.Job](t, hs).Spec.Template.Spec, existingPolicy)
		if v.ConfigMap == nil || v.ConfigMap.Name != "platform-trust" || key != "prod.yaml" {
			t.Errorf("hook checks %+v key %q, want platform-trust[prod.yaml]", v.ConfigMap, key)
		}
	})
	if hs := hooks(t, map[string]any{"trustCheck": map[string]any{"enabled": false}}); len(hs) != 0 {
		t.Errorf("trustCheck.enabled=false still renders %d hooks", len(hs))
	}
}
