package enforce

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Events records a Kubernetes Event for every denied admission and every
// admission with audit violations, so `kubectl get events` shows what the
// webhook refused without reading its logs. Events are created
// asynchronously through a bounded queue: recording never slows or blocks
// an admission; when the queue is full the event is dropped and counted.
type Events struct {
	Client  kubernetes.Interface
	Log     *slog.Logger
	queue   chan *corev1.Event
	Dropped atomic.Int64
}

// Event reasons.
const (
	ReasonDenied         = "SignetDenied"
	ReasonAuditViolation = "SignetAuditViolation"
)

// Start runs the sender until ctx ends.
func (e *Events) Start(ctx context.Context, queueSize int) {
	e.queue = make(chan *corev1.Event, queueSize)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-e.queue:
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				if _, err := e.Client.CoreV1().Events(ev.Namespace).Create(cctx, ev, metav1.CreateOptions{}); err != nil && e.Log != nil {
					e.Log.Warn("recording event", "namespace", ev.Namespace, "reason", ev.Reason, "err", err)
				}
				cancel()
			}
		}
	}()
}

// Record is a Handler.OnResponse hook.
func (e *Events) Record(req *admissionv1.AdmissionRequest, resp *admissionv1.AdmissionResponse) {
	var reason, msg string
	switch {
	case !resp.Allowed && resp.Result != nil:
		reason, msg = ReasonDenied, resp.Result.Message
	case len(resp.Warnings) > 0:
		reason, msg = ReasonAuditViolation, strings.Join(resp.Warnings, "\n")
	default:
		return
	}
	if len(msg) > 1024 {
		msg = msg[:1021] + "..."
	}
	now := metav1.NewTime(time.Now())
	name := req.Name
	if name == "" {
		name = "unnamed"
	}
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: fmt.Sprintf("%s.", name), Namespace: req.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: req.Kind.Kind, APIVersion: apiVersion(req.Kind), Name: req.Name, Namespace: req.Namespace,
			UID: "", // the object was not created (or not yet): only its name identifies it
		},
		Reason: reason, Message: msg, Type: corev1.EventTypeWarning, Count: 1,
		FirstTimestamp: now, LastTimestamp: now,
		Source: corev1.EventSource{Component: "signet-enforce"}, ReportingController: "signet.dev/enforce",
	}
	select {
	case e.queue <- ev:
	default:
		e.Dropped.Add(1)
	}
}

func apiVersion(gvk metav1.GroupVersionKind) string {
	if gvk.Group == "" {
		return gvk.Version
	}
	return gvk.Group + "/" + gvk.Version
}
