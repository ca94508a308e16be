package policyreport

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// Watch follows signet's reports in the cluster until ctx ends and calls
// stale with the namespace ("" for the cluster report) of each one that no
// longer holds what the writer last wrote: edited, or deleted, by someone
// else (a report carrying signet's label that signet did not write is
// stale too, and the next sync deletes it). The writer's view becomes what
// the cluster holds, so the next sync of that namespace rewrites it.
// Signet's own writes are not stale. It returns once the watch has synced,
// or with an error after syncTimeout (the watch keeps trying until ctx
// ends).
func (w *Writer) Watch(ctx context.Context, stale func(ns string)) error {
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(w.Client, 0, metav1.NamespaceAll, func(o *metav1.ListOptions) {
		o.LabelSelector = ManagedByLabel + "=" + ManagedBy
	})
	var synced []cache.InformerSynced
	for _, gvr := range []schema.GroupVersionResource{PolicyReports, ClusterPolicyReports} {
		inf := f.ForResource(gvr).Informer()
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { w.observe(obj, false, stale) },
			UpdateFunc: func(_, obj any) { w.observe(obj, false, stale) },
			DeleteFunc: func(obj any) { w.observe(obj, true, stale) },
		}); err != nil {
			return fmt.Errorf("watching signet's policy reports: %w", err)
		}
		synced = append(synced, inf.HasSynced)
	}
	f.Start(ctx.Done())
	context.AfterFunc(ctx, f.Shutdown)
	wait, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(wait.Done(), synced...) {
		return fmt.Errorf("watching signet's policy reports: not listed within %s (%w)", syncTimeout, context.Cause(wait))
	}
	return nil
}

// syncTimeout bounds Watch's wait for its first listing, so a scanner
// never hangs on an apiserver that refuses it (no CRDs, no RBAC).
const syncTimeout = 30 * time.Second

// observe compares one report event with what the writer last wrote.
func (w *Writer) observe(obj any, deleted bool, stale func(ns string)) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = d.Obj, true
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	key := u.GetNamespace() + "/" + u.GetName()
	w.mu.Lock()
	want, owned := w.written[key]
	live := liveHash(u)
	changed := false
	switch {
	case deleted && owned:
		delete(w.written, key)
		changed = true
	case !deleted && (!owned || want != live):
		if w.written == nil {
			w.written = map[string]string{}
		}
		w.written[key] = live
		changed = true
	}
	w.mu.Unlock()
	if changed {
		stale(u.GetNamespace())
	}
}
