package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// enforcePods maps each running enforce pod's name to its UID and restart count.
func enforcePods(t *testing.T, kc kubernetes.Interface) map[string]string {
	t.Helper()
	pods := podsOf(t, kc, releaseNS, "app.kubernetes.io/name=signet-enforce")
	out := map[string]string{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		restarts := int32(0)
		for _, c := range p.Status.ContainerStatuses {
			restarts += c.RestartCount
		}
		out[p.Name] = fmt.Sprintf("%s/%d", p.UID, restarts)
	}
	return out
}

// waitPolicy waits until every enforce pod serves one policy, and not one
// that any served before the change (served: policyHashes taken before it;
// taken after, a pod whose kubelet was quick would already serve the new
// one). Each pod's kubelet updates its ConfigMap volume on its own schedule.
// /readyz on the ops port names the policy in force; the host reaches pods
// on their pod IPs.
func waitPolicy(t *testing.T, kc kubernetes.Interface, before, served map[string]string) {
	t.Helper()
	old := map[string]bool{}
	for name, h := range served {
		if h == "" {
			t.Fatalf("enforce pod %s named no policy before the change", name)
		}
		old[h] = true
	}
	waitFor(t, 90*time.Second, "every enforce pod to serve the new trust file", func() error {
		hashes := policyHashes(t, kc)
		first := ""
		for name, h := range hashes {
			if h == "" || old[h] {
				return fmt.Errorf("%s serves %q, which is not a new policy", name, h)
			}
			if first == "" {
				first = h
			} else if h != first {
				return fmt.Errorf("the pods serve different policies: %v", hashes)
			}
		}
		if len(hashes) != len(before) {
			return fmt.Errorf("%d pods answered, want %d", len(hashes), len(before))
		}
		return nil
	})
}

// policyHashes asks each running enforce pod which policy it serves.
func policyHashes(t *testing.T, kc kubernetes.Interface) map[string]string {
	t.Helper()
	out := map[string]string{}
	c := &http.Client{Timeout: 2 * time.Second}
	for _, p := range podsOf(t, kc, releaseNS, "app.kubernetes.io/name=signet-enforce") {
		if p.DeletionTimestamp != nil || p.Status.PodIP == "" {
			continue
		}
		out[p.Name] = ""
		resp, err := c.Get("http://" + p.Status.PodIP + ":9090/readyz")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if _, h, ok := strings.Cut(strings.TrimSpace(string(b)), "ok policy "); ok {
			out[p.Name] = h
		}
	}
	return out
}

func sameRunning(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func podsOf(t *testing.T, kc kubernetes.Interface, ns, selector string) []corev1.Pod {
	t.Helper()
	list, err := kc.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// allReady: the enforce Deployment has every replica it wants, ready and
// updated, and nothing else.
func allReady(t *testing.T, kc kubernetes.Interface) bool {
	t.Helper()
	d, err := kc.AppsV1().Deployments(releaseNS).Get(t.Context(), enforceName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := *d.Spec.Replicas
	return d.Status.ReadyReplicas == want && d.Status.Replicas == want && d.Status.UpdatedReplicas == want
}

func scale(t *testing.T, kc kubernetes.Interface, replicas int32) {
	t.Helper()
	s := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: enforceName, Namespace: releaseNS}, Spec: autoscalingv1.ScaleSpec{Replicas: replicas}}
	if _, err := kc.AppsV1().Deployments(releaseNS).UpdateScale(t.Context(), enforceName, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func deletePods(t *testing.T, kc kubernetes.Interface, ns, selector string) {
	t.Helper()
	if err := kc.CoreV1().Pods(ns).DeleteCollection(t.Context(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: selector}); err != nil {
		t.Fatal(err)
	}
}

func replicaSetOf(t *testing.T, kc kubernetes.Interface, ns, app string) *appsv1.ReplicaSet {
	t.Helper()
	list, err := kc.AppsV1().ReplicaSets(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("ReplicaSets of %s: %v (%d)", app, err, len(list.Items))
	}
	return &list.Items[0]
}

// waitEvent waits for an event on the named object, as `kubectl describe`
// lists them, whose reason and message match, and returns its message.
func waitEvent(t *testing.T, kc kubernetes.Interface, ns, kind, name, reason, contains string) string {
	t.Helper()
	var msg string
	waitFor(t, 90*time.Second, fmt.Sprintf("a %s event on %s %s", reason, kind, name), func() error {
		sel := fmt.Sprintf("involvedObject.kind=%s,involvedObject.name=%s,reason=%s", kind, name, reason)
		list, err := kc.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return err
		}
		for _, e := range list.Items {
			if strings.Contains(e.Message, contains) {
				msg = e.Message
				return nil
			}
		}
		return fmt.Errorf("%d %s events, none containing %q", len(list.Items), reason, contains)
	})
	return msg
}

// waitRunning waits until the pod labelled app=name (or named name) runs, ready.
func waitRunning(t *testing.T, kc kubernetes.Interface, ns, app string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	waitFor(t, 2*time.Minute, "pod "+ns+"/"+app+" running", func() error {
		pods := podsOf(t, kc, ns, "app="+app)
		for i := range pods {
			p := &pods[i]
			if p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].Ready {
				pod = p
				return nil
			}
		}
		return fmt.Errorf("%d pods, none running and ready: %s", len(pods), podStates(pods))
	})
	return pod
}

func podStates(pods []corev1.Pod) string {
	var out []string
	for _, p := range pods {
		s := string(p.Status.Phase)
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil {
				s += " " + w.Reason + ": " + w.Message
			}
		}
		out = append(out, p.Name+" "+s)
	}
	return strings.Join(out, "; ")
}

// hookMessage returns the termination message of the trust check hook's pod.
func hookMessage(t *testing.T, kc kubernetes.Interface, ns string) string {
	t.Helper()
	var msg string
	waitFor(t, time.Minute, "the trust check pod's termination message", func() error {
		for _, p := range podsOf(t, kc, ns, "app.kubernetes.io/name=signet-enforce-check") {
			for _, c := range p.Status.ContainerStatuses {
				if term := c.State.Terminated; term != nil && term.ExitCode != 0 {
					msg = term.Message
					return nil
				}
			}
		}
		return fmt.Errorf("no failed check pod in %s", ns)
	})
	return msg
}

// assertNoWebhooks: no webhook configuration of that name exists.
func assertNoWebhooks(t *testing.T, kc kubernetes.Interface, name string) {
	t.Helper()
	ar := kc.AdmissionregistrationV1()
	if _, err := ar.MutatingWebhookConfigurations().Get(t.Context(), name, metav1.GetOptions{}); err == nil {
		t.Errorf("MutatingWebhookConfiguration %s was registered", name)
	}
	if _, err := ar.ValidatingWebhookConfigurations().Get(t.Context(), name, metav1.GetOptions{}); err == nil {
		t.Errorf("ValidatingWebhookConfiguration %s was registered", name)
	}
}

// createNodeNamespace creates a namespace and waits for the controller-manager
// to give it its default service account, as in any cluster.
func createNodeNamespace(t *testing.T, kc kubernetes.Interface, name string) {
	t.Helper()
	if _, err := kc.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the default service account in "+name, func() error {
		_, err := kc.CoreV1().ServiceAccounts(name).Get(t.Context(), "default", metav1.GetOptions{})
		return err
	})
}

// breakGlass is the runbook's step 2 (docs/operations.md): the webhook
// configurations' first webhook (pin.signet.dev, verify.signet.dev) set to
// failurePolicy Ignore, as
//
//	kubectl patch mutatingwebhookconfiguration NAME --type=json \
//	  -p '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]'
//
// (and the same for the validatingwebhookconfiguration) does.
func breakGlass(t *testing.T, kc kubernetes.Interface, name string) {
	t.Helper()
	patch := []byte(`[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]`)
	ar := kc.AdmissionregistrationV1()
	if _, err := ar.MutatingWebhookConfigurations().Patch(t.Context(), name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ar.ValidatingWebhookConfigurations().Patch(t.Context(), name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if fp := imageWebhookFailurePolicies(t, kc, name); fp != "Ignore Ignore" {
		t.Fatalf("the runbook's patch left the image webhooks at %s: /webhooks/0 is not pin.signet.dev and verify.signet.dev", fp)
	}
}

// imageWebhookFailurePolicies is the failurePolicy of pin.signet.dev and
// verify.signet.dev, found by name, "<mutating> <validating>".
func imageWebhookFailurePolicies(t *testing.T, kc kubernetes.Interface, name string) string {
	t.Helper()
	ar := kc.AdmissionregistrationV1()
	m, err := ar.MutatingWebhookConfigurations().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := ar.ValidatingWebhookConfigurations().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, w := range m.Webhooks {
		if w.Name == "pin.signet.dev" && w.FailurePolicy != nil {
			out = append(out, string(*w.FailurePolicy))
		}
	}
	for _, w := range v.Webhooks {
		if w.Name == "verify.signet.dev" && w.FailurePolicy != nil {
			out = append(out, string(*w.FailurePolicy))
		}
	}
	return strings.Join(out, " ")
}
