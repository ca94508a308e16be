package deploy

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestNodePluginIsOffByDefault: no DaemonSet unless node.enabled.
func TestNodePluginIsOffByDefault(t *testing.T) {
	for _, o := range render(t, nil) {
		if ds, ok := o.(*appsv1.DaemonSet); ok {
			t.Fatalf("DaemonSet %s rendered with default values", ds.Name)
		}
	}
}

// TestNodePlugin: the DaemonSet runs on every node, mounts the webhook's
// trust ConfigMap, the NRI socket's directory and only the public half of
// the verdict key, never checks the release namespace, and has no API token
// and no capability.
func TestNodePlugin(t *testing.T) {
	ds := one[*appsv1.DaemonSet](t, render(t, map[string]any{"node": map[string]any{"enabled": true, "verdictSecret": "verdict"}}))
	spec := ds.Spec.Template.Spec
	c := spec.Containers[0]
	if l := ds.Spec.Template.Labels; l["app.kubernetes.io/name"] != "signet-node" {
		t.Errorf("pod labels %v: the webhook's Service, PDB and Deployment select app.kubernetes.io/name=signet-enforce", l)
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"--policy=/etc/signet/trust.yaml", "--nri-socket=/var/run/nri/nri.sock", "--exempt-namespace=" + releaseNamespace,
		"--verdict-public-key=/etc/signet-verdict/verdict.pub", "--undecided=deny", "--undecided-allow=kube-system"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %s", args, want)
		}
	}
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	if cm := vols["trust"].ConfigMap; cm == nil || cm.Name != fullname {
		t.Errorf("trust volume %+v, want the webhook's ConfigMap %s", vols["trust"], fullname)
	}
	if hp := vols["nri"].HostPath; hp == nil || hp.Path != "/var/run/nri" {
		t.Errorf("nri volume %+v", vols["nri"])
	}
	if s := vols["verdict"].Secret; s == nil || len(s.Items) != 1 || s.Items[0].Key != "verdict.pub" {
		t.Errorf("verdict volume %+v: want only verdict.pub of the Secret", vols["verdict"])
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the plugin's pod gets an API token")
	}
	if !slices.ContainsFunc(spec.Tolerations, func(t corev1.Toleration) bool { return t.Operator == corev1.TolerationOpExists && t.Key == "" }) {
		t.Errorf("tolerations %+v: want every taint tolerated", spec.Tolerations)
	}
	sc := c.SecurityContext
	if sc == nil || !isTrue(sc.ReadOnlyRootFilesystem) || isTrue(sc.Privileged) || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext %+v", sc)
	}
}

// TestVerdictKeyGoesOnlyToTheWebhook: with node.verdictSecret the webhook
// (the one pass that admits) gets verdict.key to sign verdicts with; the
// scanner and the nodes never do (a node that could sign would vouch for
// itself).
func TestVerdictKeyGoesOnlyToTheWebhook(t *testing.T) {
	objs := render(t, map[string]any{"node": map[string]any{"enabled": true, "verdictSecret": "verdict"},
		"enforce": map[string]any{"cloudRegistries": map[string]any{"acr": []any{"acme.azurecr.io"}}}})
	key := func(env []corev1.EnvVar) *corev1.SecretKeySelector {
		for _, e := range env {
			if e.Name == "SIGNET_VERDICT_KEY" && e.ValueFrom != nil {
				return e.ValueFrom.SecretKeyRef
			}
		}
		return nil
	}
	if ref := key(webhookDeployment(t, objs).Spec.Template.Spec.Containers[0].Env); ref == nil || ref.Name != "verdict" || ref.Key != "verdict.key" {
		t.Errorf("webhook's SIGNET_VERDICT_KEY = %+v, want verdict.key of Secret verdict", ref)
	}
	if ref := key(scannerDeployment(t, objs).Spec.Template.Spec.Containers[0].Env); ref != nil {
		t.Errorf("the scanner gets the verdict key %+v", ref)
	}
	ds := one[*appsv1.DaemonSet](t, objs)
	if ref := key(ds.Spec.Template.Spec.Containers[0].Env); ref != nil {
		t.Errorf("the node gets the verdict key %+v", ref)
	}
	if v, _ := arg(ds.Spec.Template.Spec.Containers[0].Args, "acr-registries"); v != "acme.azurecr.io" {
		t.Errorf("node --acr-registries=%q: the node verifies with the same cloud identity hosts as the webhook", v)
	}
	if ref := key(webhookDeployment(t, render(t, nil)).Spec.Template.Spec.Containers[0].Env); ref != nil {
		t.Errorf("without node.verdictSecret the webhook gets %+v", ref)
	}
}
