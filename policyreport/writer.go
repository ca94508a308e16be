package policyreport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Labels and annotations signet puts on its reports.
const (
	// ManagedByLabel marks signet's reports (Kyverno marks its own with the
	// same label), so signet only ever lists, changes or deletes these.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "signet"
)

// FieldManager is signet's server-side apply field manager.
const FieldManager = "signet"

// Writer keeps signet's reports in the cluster equal to the results it is
// given: it writes a report only when what the cluster holds differs
// (server-side apply, strict field validation, so the apiserver checks
// every report against the installed CRD), and deletes reports that no
// longer have results. What the cluster holds is read from the reports'
// live content (Load, Watch), never from anything a report says about
// itself: anyone who may edit a report could make it claim to be current.
// Syncs come from one goroutine at a time (the leader's scanner); Watch's
// callbacks may run beside them.
type Writer struct {
	Client dynamic.Interface
	Limits Limits

	mu sync.Mutex
	// written is the content hash of each report signet owns as the
	// cluster holds it, by "namespace/name" ("/name" for cluster reports).
	written map[string]string
	// Writes and Deletes count API requests that changed a report.
	Writes, Deletes atomic.Int64
}

// Load reads which reports signet already owns and what they hold (after a
// restart, when another replica wrote them, or at each full pass), so
// unchanged ones are not rewritten, edited ones are, and stale ones are
// deleted.
func (w *Writer) Load(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written = map[string]string{}
	sel := metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + ManagedBy}
	for _, res := range []struct {
		ri dynamic.NamespaceableResourceInterface
	}{{w.Client.Resource(PolicyReports)}, {w.Client.Resource(ClusterPolicyReports)}} {
		list, err := res.ri.List(ctx, sel)
		if err != nil {
			return fmt.Errorf("listing signet's policy reports (are the wgpolicyk8s.io CRDs installed?): %w", err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			w.written[u.GetNamespace()+"/"+u.GetName()] = liveHash(u)
		}
	}
	return nil
}

// Namespaces returns the namespaces where signet owns reports.
func (w *Writer) Namespaces() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for k := range w.written {
		if ns, _, _ := strings.Cut(k, "/"); ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}

// SyncNamespace makes namespace ns's reports hold exactly results.
func (w *Writer) SyncNamespace(ctx context.Context, ns string, results []Result) error {
	return w.sync(ctx, ns, KindPolicyReport, results)
}

// SyncCluster makes the cluster report hold exactly results.
func (w *Writer) SyncCluster(ctx context.Context, results []Result) error {
	return w.sync(ctx, "", KindClusterPolicyReport, results)
}

func (w *Writer) sync(ctx context.Context, ns, kind string, results []Result) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.written == nil {
		w.written = map[string]string{}
	}
	chunks := chunk(results, w.Limits)
	keep := map[string]bool{}
	var errs []error
	for i, rs := range chunks {
		name := chunkName(i)
		key := ns + "/" + name
		keep[key] = true
		rep := Report{TypeMeta: metav1.TypeMeta{APIVersion: GroupVersion.String(), Kind: kind},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{ManagedByLabel: ManagedBy}},
			Summary:    summarize(rs), Results: rs}
		sum := contentHash(rep)
		if w.written[key] == sum {
			continue
		}
		if err := w.apply(ctx, rep); err != nil {
			errs = append(errs, err)
			delete(w.written, key) // unknown now: written again next time
			continue
		}
		w.written[key] = sum
	}
	for key := range w.written {
		kns, name, _ := strings.Cut(key, "/")
		if kns != ns || keep[key] {
			continue
		}
		if err := w.delete(ctx, kns, name); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(w.written, key)
	}
	return errors.Join(errs...)
}

func (w *Writer) apply(ctx context.Context, rep Report) error {
	data, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force, FieldValidation: metav1.FieldValidationStrict}
	_, err = w.resource(rep.Namespace).Patch(ctx, rep.Name, types.ApplyPatchType, data, opts)
	w.Writes.Add(1)
	if err != nil {
		return fmt.Errorf("writing %s %s: %w", rep.Kind, where(rep.Namespace, rep.Name), err)
	}
	return nil
}

func (w *Writer) delete(ctx context.Context, ns, name string) error {
	err := w.resource(ns).Delete(ctx, name, metav1.DeleteOptions{})
	w.Deletes.Add(1)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting policy report %s: %w", where(ns, name), err)
	}
	return nil
}

func (w *Writer) resource(ns string) dynamic.ResourceInterface {
	if ns == "" {
		return w.Client.Resource(ClusterPolicyReports)
	}
	return w.Client.Resource(PolicyReports).Namespace(ns)
}

func where(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func contentHash(rep Report) string {
	b, _ := json.Marshal(struct {
		Summary Summary  `json:"summary"`
		Results []Result `json:"results"`
	}{rep.Summary, rep.Results})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// liveHash is contentHash of what a report the apiserver returned holds
// ("" when it does not decode: it differs from anything signet writes).
func liveHash(u *unstructured.Unstructured) string {
	rep, err := Decode(u)
	if err != nil {
		return ""
	}
	return contentHash(*rep)
}

// Decode reads a report the apiserver returned.
func Decode(u *unstructured.Unstructured) (*Report, error) {
	b, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var r Report
	return &r, json.Unmarshal(b, &r)
}
