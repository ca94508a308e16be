package enforce

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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

// Record is a Handler.OnAdmission hook. Dry-run requests record nothing:
// the webhooks declare sideEffects: None, and a `kubectl apply
// --dry-run=server` must leave no trace in the cluster.
func (e *Events) Record(a *Admission) {
	req, resp := a.Request, a.Response
	if req.DryRun != nil && *req.DryRun {
		return
	}
	var reason, msg string
	switch {
	case !resp.Allowed && resp.Result != nil:
		reason, msg = ReasonDenied, eventMessage(a.Failures, resp.Result.Message, a.PolicyHash)
	case len(a.Violations) > 0:
		reason, msg = ReasonAuditViolation, eventMessage(a.Violations, "", a.PolicyHash)
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
		// The UID makes the event show in `kubectl describe`: an update's
		// object has one, and so has a create on the validating pass (the
		// apiserver assigns it before validating admission).
		InvolvedObject: corev1.ObjectReference{Kind: req.Kind.Kind, APIVersion: apiVersion(req.Kind), Name: req.Name, Namespace: req.Namespace,
			UID: objectUID(req.Object.Raw)},
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

// eventMessage puts the first failing image and its reason on the first
// line, which is all `kubectl get events` shows, then every line and the
// policy that decided.
func eventMessage(lines []string, fallback, policyHash string) string {
	var msg string
	switch len(lines) {
	case 0:
		return fallback
	case 1:
		msg = lines[0]
	default:
		msg = fmt.Sprintf("%s (and %d more)\n- %s", lines[0], len(lines)-1, strings.Join(lines, "\n- "))
	}
	return msg + "\npolicy " + shortHash(policyHash)
}

// objectUID reads metadata.uid of the admitted object, or "".
func objectUID(raw []byte) types.UID {
	var obj struct {
		Metadata struct {
			UID types.UID `json:"uid"`
		} `json:"metadata"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return ""
	}
	return obj.Metadata.UID
}

func apiVersion(gvk metav1.GroupVersionKind) string {
	if gvk.Group == "" {
		return gvk.Version
	}
	return gvk.Group + "/" + gvk.Version
}
