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
	// ContentAnnotation is the hash of a report's summary and results: a
	// report whose content has not changed is not written again.
	ContentAnnotation = "signet.dev/content-hash"
)

// FieldManager is signet's server-side apply field manager.
const FieldManager = "signet"

// Writer keeps signet's reports in the cluster equal to the results it is
// given: it writes a report only when its content changed (server-side
// apply, strict field validation, so the apiserver checks every report
// against the installed CRD), and deletes reports that no longer have
// results. It is used by one goroutine at a time (the leader's scanner).
type Writer struct {
	Client dynamic.Interface
	Limits Limits

	mu sync.Mutex
	// written is the content hash of each report signet owns, by
	// "namespace/name" ("/name" for cluster reports).
	written map[string]string
	// Writes and Deletes count API requests that changed a report.
	Writes, Deletes atomic.Int64
}

// Load reads which reports signet already owns (after a restart, or when
// another replica wrote them), so unchanged ones are not rewritten and
// stale ones are deleted.
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
		for _, u := range list.Items {
			w.written[u.GetNamespace()+"/"+u.GetName()] = u.GetAnnotations()[ContentAnnotation]
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
		rep.Annotations = map[string]string{ContentAnnotation: sum}
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

// Decode reads a report the apiserver returned.
func Decode(u *unstructured.Unstructured) (*Report, error) {
	b, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var r Report
	return &r, json.Unmarshal(b, &r)
}
