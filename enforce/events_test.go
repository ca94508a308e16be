package enforce

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// bothPasses sends req through both webhooks as the apiserver does: mutating,
// then, unless the mutating pass denied, validating the object with the
// mutating pass's patch applied.
func bothPasses(t testing.TB, ctx context.Context, h *Handler, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	t.Helper()
	resp := h.Mutate(ctx, req)
	if !resp.Allowed {
		return resp
	}
	return h.Validate(ctx, patched(t, req, resp.Patch))
}

// patched is req with its object changed by a JSON patch of replace
// operations (all the mutating pass emits), as the apiserver applies it.
func patched(t testing.TB, req *admissionv1.AdmissionRequest, patch []byte) *admissionv1.AdmissionRequest {
	t.Helper()
	if patch == nil {
		return req
	}
	var ops []patchOp
	var obj any
	if err := json.Unmarshal(patch, &ops); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if op.Op != "replace" || !setPointer(obj, strings.Split(op.Path, "/")[1:], op.Value) {
			t.Fatalf("cannot apply %+v", op)
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	out := *req
	out.Object = runtime.RawExtension{Raw: raw}
	return &out
}

// setPointer replaces the existing value at an RFC 6901 path (without
// escapes: signet's paths have none).
func setPointer(doc any, path []string, value string) bool {
	for i, key := range path {
		last := i == len(path)-1
		switch node := doc.(type) {
		case map[string]any:
			if _, ok := node[key]; !ok {
				return false
			}
			if last {
				node[key] = value
				return true
			}
			doc = node[key]
		case []any:
			n, err := strconv.Atoi(key)
			if err != nil || n < 0 || n >= len(node) {
				return false
			}
			if last {
				node[n] = value
				return true
			}
			doc = node[n]
		default:
			return false
		}
	}
	return false
}

func TestEventsRecordDenialsAndAuditViolations(t *testing.T) {
	f := newFixture(t)
	client := fakeWithGenerateName()
	ev := &Events{Client: client}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev.Start(ctx, 16)
	f.h.OnAdmission = ev.Record

	withUID := func(p *corev1.Pod) *corev1.Pod { p.UID = "pod-uid-1"; return p }
	bothPasses(t, ctx, f.h, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.unsigned, "quay.io/x/y:1"})), admissionv1.Create, ""))
	bothPasses(t, ctx, f.h, request(t, "Pod", "dev", withUID(pod(podSpec(nil, []string{f.unsigned}))), admissionv1.Create, ""))
	bothPasses(t, ctx, f.h, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed})), admissionv1.Create, ""))
	dry := request(t, "Pod", "prod", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, "")
	dry.DryRun = new(true)
	bothPasses(t, ctx, f.h, dry)
	// One sender drains the queue in order: once this last event exists,
	// every earlier admission's event (or its absence) is settled.
	bothPasses(t, ctx, f.h, request(t, "Pod", "sentinel", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, ""))
	waitEvents(t, ctx, client, "sentinel")

	cases := []struct {
		ns, reason, firstLine string
		uid                   types.UID
	}{
		{"prod", ReasonDenied, "container ca (" + f.unsigned + "): ", ""},
		// The validating pass decides, and sees the image the mutating one pinned.
		{"dev", ReasonAuditViolation, "container ca (" + f.unsigned + "@sha256:", "pod-uid-1"},
	}
	for _, c := range cases {
		list := waitEvents(t, ctx, client, c.ns)
		if len(list) != 1 {
			t.Fatalf("%s: %d events, want 1 (one admission, one event; none for dry-run): %+v", c.ns, len(list), list)
		}
		e := list[0]
		first, _, _ := strings.Cut(e.Message, "\n")
		if e.Reason != c.reason || e.InvolvedObject.Kind != "Pod" || e.InvolvedObject.Name != "web" || e.InvolvedObject.UID != c.uid {
			t.Fatalf("%s: bad event %+v", c.ns, e)
		}
		if !strings.HasPrefix(first, c.firstLine) || !strings.Contains(first, "has no signatures") {
			t.Fatalf("%s: the first line must name the image and why: %q", c.ns, e.Message)
		}
	}
	if msg := waitEvents(t, ctx, client, "prod")[0].Message; !strings.Contains(strings.Split(msg, "\n")[0], "(and 1 more)") || !strings.Contains(msg, "quay.io/x/y:1") {
		t.Fatalf("a second failing image must be counted on the first line and listed below: %q", msg)
	}
}

// fakeWithGenerateName is a fake clientset that, like the apiserver, names
// objects created with generateName (the fake would refuse a second event
// with the same empty name, hiding a duplicate).
func fakeWithGenerateName() *fake.Clientset {
	client := fake.NewSimpleClientset()
	var n atomic.Int64
	client.PrependReactor("create", "events", func(action k8stesting.Action) (bool, runtime.Object, error) {
		e := action.(k8stesting.CreateAction).GetObject().(*corev1.Event)
		if e.Name == "" {
			e.Name = fmt.Sprintf("%s%d", e.GenerateName, n.Add(1))
		}
		return false, nil, nil
	})
	return client
}

func waitEvents(t *testing.T, ctx context.Context, client *fake.Clientset, ns string) []corev1.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) > 0 || time.Now().After(deadline) {
			return list.Items
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEventsNeverBlockAdmission(t *testing.T) {
	ev := &Events{Client: fake.NewSimpleClientset()}
	ev.queue = make(chan *corev1.Event, 1) // no sender running: the queue fills
	req := &admissionv1.AdmissionRequest{Namespace: "prod", Name: "x", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}}
	a := &Admission{Request: req, Response: deny(&admissionv1.AdmissionResponse{}, "denied"), Result: ResultDeny}
	done := make(chan struct{})
	go func() {
		for range 3 {
			ev.Record(a)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Record blocked on a full queue")
	}
	if ev.Dropped.Load() != 2 {
		t.Fatalf("dropped %d, want 2", ev.Dropped.Load())
	}
}
