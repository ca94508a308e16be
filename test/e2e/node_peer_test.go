package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// peerLabel selects the pods the peer webhooks mutate, so the other
// subtests' objects never reach them.
const peerLabel = "signet.test/peer"

// startPeerWebhook registers a mutating webhook configuration name beside
// signet's, as Kyverno, policy-controller or a sidecar injector registers
// theirs: the apiserver calls configurations in the order of their names
// and, with reinvocationPolicy IfNeeded (Kyverno's and signet's), calls a
// webhook again when a later one changed the object. It serves on loopback
// (the apiserver runs on this machine) and mutates the pods labelled
// peerLabel with the JSON patch operations mutate returns.
func startPeerWebhook(t *testing.T, kc kubernetes.Interface, name string, mutate func(*corev1.Pod) []map[string]any) {
	t.Helper()
	ca := newCA(t, name)
	certPEM, keyPEM := ca.issue(t, &x509.Certificate{IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		var pod corev1.Pod
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil || json.Unmarshal(review.Request.Object.Raw, &pod) != nil {
			http.Error(w, "not a pod's AdmissionReview", http.StatusBadRequest)
			return
		}
		resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		if ops := mutate(&pod); len(ops) > 0 {
			resp.Patch, _ = json.Marshal(ops)
			resp.PatchType = ptr(admissionv1.PatchTypeJSONPatch)
		}
		review.Request, review.Response = nil, resp
		json.NewEncoder(w).Encode(&review)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "https://" + ln.Addr().String() + "/"
	cfg := &admissionregv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}, Webhooks: []admissionregv1.MutatingWebhook{{
		Name: name, ClientConfig: admissionregv1.WebhookClientConfig{URL: &url, CABundle: ca.PEM},
		Rules: []admissionregv1.RuleWithOperations{{Operations: []admissionregv1.OperationType{admissionregv1.Create},
			Rule: admissionregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
		ObjectSelector:          &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: peerLabel, Operator: metav1.LabelSelectorOpExists}}},
		FailurePolicy:           ptr(admissionregv1.Fail),
		SideEffects:             ptr(admissionregv1.SideEffectClassNone),
		ReinvocationPolicy:      ptr(admissionregv1.IfNeededReinvocationPolicy),
		AdmissionReviewVersions: []string{"v1"},
	}}}
	api := kc.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if _, err := api.Create(t.Context(), cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

// peerPod is a pod the peer webhooks mutate; sidecar is the image the
// injector adds (an annotation: a label's value cannot hold a reference).
func peerPod(name, image, sidecar string) *corev1.Pod {
	p := runPod(name, image)
	p.Labels[peerLabel] = "on"
	p.Annotations = map[string]string{sidecarAnnotation: sidecar}
	return p
}

const sidecarAnnotation = "signet.test/sidecar"

// testPeersBesideSignet registers, beside the chart's webhooks (named
// "signet"), one peer before them, as Kyverno's kyverno-… configurations
// are, pinning a tag itself (Kyverno's mutateDigest), and one after them, a
// sidecar injector. A digest the first pinned reaches signet, which
// verifies it and leaves it alone; the sidecar the second adds after
// signet's call is verified and pinned on signet's second call
// (reinvocationPolicy IfNeeded: without it the validating pass would
// refuse the pod for the unpinned sidecar); an unsigned sidecar is refused.
func testPeersBesideSignet(t *testing.T, kc kubernetes.Interface, app, appDigest, sidecar, sidecarDigest, rogue string) {
	startPeerWebhook(t, kc, "kyverno-peer.signet.test", func(p *corev1.Pod) []map[string]any {
		if p.Spec.Containers[0].Image == app {
			return []map[string]any{replaceImage(0, app+"@"+appDigest)}
		}
		return nil
	})
	startPeerWebhook(t, kc, "zz-injector.signet.test", func(p *corev1.Pod) []map[string]any {
		if len(p.Spec.Containers) > 1 {
			return nil
		}
		return []map[string]any{addContainer("sidecar", p.Annotations[sidecarAnnotation])}
	})
	pods := kc.CoreV1().Pods(appsNS)
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	got, err := pods.Create(t.Context(), peerPod("peers", app, sidecar), dryRun)
	if err != nil {
		t.Fatalf("a signed pod with a signed sidecar beside two peer webhooks: %v", err)
	}
	want := []string{app + "@" + appDigest, sidecar + "@" + sidecarDigest}
	if len(got.Spec.Containers) != 2 || got.Spec.Containers[0].Image != want[0] || got.Spec.Containers[1].Image != want[1] {
		t.Errorf("stored containers %+v, want the images %v", got.Spec.Containers, want)
	}
	_, err = pods.Create(t.Context(), peerPod("peers-rogue", app, rogue), dryRun)
	if err := deniedBySignet(err); err != nil {
		t.Errorf("an unsigned sidecar injected after signet's call: %v", err)
	}
}

// replaceImage is a peer's patch of one container's image.
func replaceImage(i int, image string) map[string]any {
	return map[string]any{"op": "replace", "path": "/spec/containers/" + strconv.Itoa(i) + "/image", "value": image}
}

// addContainer is a sidecar injector's patch.
func addContainer(name, image string) map[string]any {
	return map[string]any{"op": "add", "path": "/spec/containers/-", "value": corev1.Container{Name: name, Image: image}}
}
