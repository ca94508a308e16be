package deploy

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// ingressByPort maps each container port a NetworkPolicy admits to the peers
// that may reach it (nil: any source), after checking that the policy selects
// the Deployment's pods and that its named ports are that container's.
func ingressByPort(t *testing.T, np *networkingv1.NetworkPolicy, d *appsv1.Deployment) map[int32][]networkingv1.NetworkPolicyPeer {
	t.Helper()
	if !mustSelector(t, &np.Spec.PodSelector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Fatalf("NetworkPolicy %s does not select the pods of %s", np.Name, d.Name)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
		t.Errorf("%s: policyTypes %v, want Ingress only (egress: registries anywhere)", np.Name, np.Spec.PolicyTypes)
	}
	out := map[int32][]networkingv1.NetworkPolicyPeer{}
	for _, rule := range np.Spec.Ingress {
		if len(rule.Ports) == 0 {
			t.Errorf("%s: a rule without ports opens every port: %+v", np.Name, rule)
		}
		for _, p := range rule.Ports {
			port := containerPort(d.Spec.Template.Spec.Containers[0], p.Port.String())
			if port == 0 || p.Protocol == nil || *p.Protocol != corev1.ProtocolTCP {
				t.Fatalf("%s: port %v is no TCP container port of %s", np.Name, p.Port, d.Name)
			}
			out[port] = rule.From
		}
	}
	return out
}

// TestNetworkPolicyFencesTheWebhook: on by default, the webhook's pods accept
// the webhook port from networkPolicy.webhook.from (any source while it is
// empty) and the ops port only from the monitoring selector; the scanner's
// pods accept no webhook port at all; disabling renders none.
func TestNetworkPolicyFencesTheWebhook(t *testing.T) {
	apiserver := map[string]any{"ipBlock": map[string]any{"cidr": "10.0.0.0/24"}}
	objs := render(t, map[string]any{"networkPolicy": map[string]any{"webhook": map[string]any{"from": []any{apiserver}}}})
	hook := ingressByPort(t, named[*networkingv1.NetworkPolicy](t, objs, fullname), webhookDeployment(t, objs))
	if from := hook[8443]; len(from) != 1 || from[0].IPBlock == nil || from[0].IPBlock.CIDR != "10.0.0.0/24" {
		t.Errorf("webhook port admits %+v, want only networkPolicy.webhook.from", from)
	}
	checkMonitoringOnly(t, "webhook", hook)
	scan := ingressByPort(t, named[*networkingv1.NetworkPolicy](t, objs, scannerName), scannerDeployment(t, objs))
	if _, ok := scan[8443]; ok {
		t.Error("the scanner's pods admit connections to their webhook port: nothing sends them admissions")
	}
	checkMonitoringOnly(t, "scanner", scan)

	def := render(t, nil)
	if from, ok := ingressByPort(t, named[*networkingv1.NetworkPolicy](t, def, fullname), webhookDeployment(t, def))[8443]; !ok || from != nil {
		t.Errorf("default: webhook port admits %+v, want any source (a wrong guess at the apiserver stops every pod creation)", from)
	}
	noOps := render(t, map[string]any{"networkPolicy": map[string]any{"ops": map[string]any{"from": []any{}}}})
	if _, ok := ingressByPort(t, named[*networkingv1.NetworkPolicy](t, noOps, fullname), webhookDeployment(t, noOps))[9090]; ok {
		t.Error("ops.from empty: the ops port is still open to some source; want only the node (probes)")
	}
	if nps := all[*networkingv1.NetworkPolicy](render(t, map[string]any{"networkPolicy": map[string]any{"enabled": false}})); len(nps) != 0 {
		t.Errorf("networkPolicy.enabled=false still renders %d NetworkPolicies", len(nps))
	}
}

func checkMonitoringOnly(t *testing.T, who string, ports map[int32][]networkingv1.NetworkPolicyPeer) {
	t.Helper()
	from, ok := ports[9090]
	if !ok || len(from) != 1 || from[0].NamespaceSelector == nil ||
		from[0].NamespaceSelector.MatchLabels[corev1.LabelMetadataName] != "monitoring" {
		t.Errorf("%s: ops port admits %+v (present %v), want only the monitoring namespace", who, from, ok)
	}
	for port := range ports {
		if port != 8443 && port != 9090 {
			t.Errorf("%s: port %d is open", who, port)
		}
	}
}
