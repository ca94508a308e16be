package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/signet-dev/signet/test/faultregistry"
)

// podReview is an AdmissionRequest for a pod in namespace prod; old, if
// set, makes it an UPDATE (sub is the subresource).
func podReview(t *testing.T, obj, old *corev1.Pod, sub string) *admissionv1.AdmissionRequest {
	t.Helper()
	req := &admissionv1.AdmissionRequest{UID: types.UID("uid-" + randSuffix()), Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, SubResource: sub, Namespace: "prod", Name: obj.Name, Operation: admissionv1.Create}
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	req.Object = runtime.RawExtension{Raw: raw}
	if old != nil {
		if req.OldObject.Raw, err = json.Marshal(old); err != nil {
			t.Fatal(err)
		}
		req.Operation = admissionv1.Update
	}
	return req
}

// bothPasses sends req to /mutate and /validate as the apiserver does and
// returns the answer that decides: the mutating one when it denies.
func (h *hookClient) bothPasses(t *testing.T, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	t.Helper()
	var last *admissionv1.AdmissionResponse
	for _, path := range []string{"/mutate", "/validate"} {
		resp, err := h.send(path, req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if last = resp; !resp.Allowed {
			return resp
		}
		if resp.Patch != nil {
			t.Fatalf("%s patched an update that must change nothing: %s", path, resp.Patch)
		}
	}
	return last
}

func message(resp *admissionv1.AdmissionResponse) string {
	if resp == nil || resp.Result == nil {
		return ""
	}
	return resp.Result.Message
}

// TestWebhookAdmissionSemantics: the enforce binary over HTTPS, in front of
// a real registry that the test can take down. An UPDATE decides only the
// images it changes: metadata-only updates pass with the registry down or
// the trust file tightened, without a registry request, while a changed
// image is verified and denied when unsigned. The validating pass denies an
// object whose digest a later mutating webhook stripped. A review with more
// images than the cap is denied before any verification starts.
func TestWebhookAdmissionSemantics(t *testing.T) {
	w := newFaultWorld(t)
	_, stored := w.signed(t, "faults/update/stored") // admitted before this replica started: never in its cache
	next, _ := w.signed(t, "faults/update/next")
	push(t, w.s.Registry.Host+"/faults/update/unsigned:1")
	unsigned := w.proxy.Host + "/faults/update/unsigned:1"
	cert, key, caPEM := servingCert(t, w.dir)
	proc := launchEnforce(t, w.policy, cert, key, launch{env: []string{"SSL_CERT_FILE=" + w.proxy.CAFile}})
	hook := webhookClient(caPEM, proc.port)

	running := testPod("job-1", nil, []string{stored})
	running.Finalizers = []string{"batch.kubernetes.io/job-tracking"}
	terminating := running.DeepCopy()
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	finalized := terminating.DeepCopy()
	finalized.Finalizers = nil
	labelled := running.DeepCopy()
	labelled.Labels = map[string]string{"team": "a"}
	edited := func(image string) *corev1.Pod {
		p := running.DeepCopy()
		p.Spec.Containers[0].Image = image
		return p
	}

	t.Run("with the registry down, metadata-only updates pass without a registry request", func(t *testing.T) {
		w.proxy.Set(faultregistry.Fault{Kind: faultregistry.Status, Status: 503})
		defer w.proxy.Set(faultregistry.Fault{})
		before := w.proxy.Requests()
		for name, req := range map[string]*admissionv1.AdmissionRequest{
			"finalizer removal": podReview(t, finalized, terminating, ""),
			"kubectl label":     podReview(t, labelled, running, ""),
		} {
			resp := hook.bothPasses(t, req)
			if !resp.Allowed {
				t.Errorf("%s denied: %s", name, message(resp))
			}
			if got := resp.AuditAnnotations["decisions"]; got != "container c0=unchanged" {
				t.Errorf("%s: decisions annotation %q, want the image unchanged", name, got)
			}
		}
		if n := w.proxy.Requests() - before; n != 0 {
			t.Errorf("metadata-only updates sent %d registry requests", n)
		}
		resp := hook.bothPasses(t, podReview(t, edited(next), running, ""))
		if resp.Allowed || !strings.Contains(message(resp), "answered 503") {
			t.Fatalf("an update that changes an image was not decided with the registry down: allowed=%v %s", resp.Allowed, message(resp))
		}
	})

	t.Run("an update that changes an image is verified and denied when unsigned", func(t *testing.T) {
		if resp := hook.bothPasses(t, podReview(t, edited(unsigned), running, "")); resp.Allowed || !strings.Contains(message(resp), "container c0 ("+unsigned+")") {
			t.Fatalf("an unsigned image set by an update: allowed=%v %s", resp.Allowed, message(resp))
		}
		debug := running.DeepCopy()
		debug.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: unsigned}}}
		if resp := hook.bothPasses(t, podReview(t, debug, running, "ephemeralcontainers")); resp.Allowed || !strings.Contains(message(resp), "ephemeralContainer debug") {
			t.Fatalf("an unsigned ephemeral container: allowed=%v %s", resp.Allowed, message(resp))
		}
	})

	t.Run("mutate, strip the digest, validate: denied", func(t *testing.T) {
		create := podReview(t, testPod("app", nil, []string{next}), nil, "")
		mutated, err := hook.send("/mutate", create)
		if err != nil || !mutated.Allowed {
			t.Fatalf("mutating pass: %v %+v", err, mutated)
		}
		var ops []struct{ Op, Path, Value string }
		if err := json.Unmarshal(mutated.Patch, &ops); err != nil || len(ops) != 1 || ops[0].Path != "/spec/containers/0/image" || !strings.HasPrefix(ops[0].Value, next+"@sha256:") {
			t.Fatalf("mutating patch %s (%v)", mutated.Patch, err)
		}
		if resp, err := hook.send("/validate", podReview(t, testPod("app", nil, []string{ops[0].Value}), nil, "")); err != nil || !resp.Allowed {
			t.Fatalf("the pinned object was not admitted: %v %s", err, message(resp))
		}
		resp, err := hook.send("/validate", create) // what a later webhook that strips digests leaves
		if err != nil || resp == nil || resp.Allowed || !strings.Contains(message(resp), "a mutating webhook that ran after signet's removed the pin") ||
			!strings.Contains(message(resp), ops[0].Value) {
			t.Fatalf("a tag in the final object was not denied for its missing pin: %v %+v", err, resp)
		}
	})

	t.Run("a pod of 101 images is denied naming the cap, before any verification", func(t *testing.T) {
		many := make([]string, 101)
		for i := range many {
			many[i] = next
		}
		before := w.proxy.Requests()
		resp, err := hook.send("/mutate", podReview(t, testPod("many", nil, many), nil, ""))
		if err != nil || resp == nil || resp.Allowed || !strings.Contains(message(resp), "it has 101 images to decide, more than the 100 one admission may carry") {
			t.Fatalf("101 images: %v %+v", err, resp)
		}
		if n := w.proxy.Requests() - before; n != 0 {
			t.Fatalf("the refused review sent %d registry requests", n)
		}
	})

	t.Run("after the trust file tightens, metadata-only updates still pass", func(t *testing.T) {
		data, err := os.ReadFile(w.policy)
		if err != nil {
			t.Fatal(err)
		}
		var tightened []string
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "{name: faults,") {
				line = strings.Replace(line, "signedBy: [release-key]", "deny: frozen for the release", 1)
			}
			tightened = append(tightened, line)
		}
		write(t, w.policy, []byte(strings.Join(tightened, "\n")))
		defer write(t, w.policy, data)
		waitFor(t, 20*time.Second, "the tightened trust file to deny", func() error {
			if ok, msg, _ := hook.admit(t, stored); ok || !strings.Contains(msg, "frozen for the release") {
				return fmt.Errorf("still admitted (%v): %s", ok, msg)
			}
			return nil
		})
		for name, req := range map[string]*admissionv1.AdmissionRequest{
			"finalizer removal": podReview(t, finalized, terminating, ""),
			"kubectl label":     podReview(t, labelled, running, ""),
		} {
			if resp := hook.bothPasses(t, req); !resp.Allowed {
				t.Errorf("%s denied under the tightened trust file: %s", name, message(resp))
			}
		}
		if resp := hook.bothPasses(t, podReview(t, edited(next), running, "")); resp.Allowed || !strings.Contains(message(resp), "frozen for the release") {
			t.Fatalf("a changed image under the tightened trust file: allowed=%v %s", resp.Allowed, message(resp))
		}
	})
}
