package enforce

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestEventsRecordDenialsAndAuditViolations(t *testing.T) {
	f := newFixture(t)
	client := fake.NewSimpleClientset()
	ev := &Events{Client: client}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ev.Start(ctx, 16)
	f.h.OnResponse = ev.Record

	f.h.Handle(ctx, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, ""), true)
	f.h.Handle(ctx, request(t, "Pod", "dev", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, ""), true)
	f.h.Handle(ctx, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed})), admissionv1.Create, ""), true)
	f.h.Handle(ctx, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, ""), false) // validate pass: not recorded twice

	want := map[string]string{"prod": ReasonDenied, "dev": ReasonAuditViolation}
	for ns, reason := range want {
		deadline := time.Now().Add(5 * time.Second)
		for {
			list, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) > 0 {
				if len(list.Items) != 1 {
					t.Fatalf("%s: %d events, want 1", ns, len(list.Items))
				}
				e := list.Items[0]
				if e.Reason != reason || e.InvolvedObject.Kind != "Pod" || e.InvolvedObject.Name != "web" || !strings.Contains(e.Message, "acme/app:unsigned") {
					t.Fatalf("%s: bad event %+v", ns, e)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no %s event recorded", ns, reason)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestEventsNeverBlockAdmission(t *testing.T) {
	ev := &Events{Client: fake.NewSimpleClientset()}
	ev.queue = make(chan *corev1.Event, 1) // no sender running: the queue fills
	req := &admissionv1.AdmissionRequest{Namespace: "prod", Name: "x", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}}
	resp := deny(&admissionv1.AdmissionResponse{}, "denied")
	done := make(chan struct{})
	go func() {
		for range 3 {
			ev.Record(req, resp)
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
