package enforce

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// NamespaceLabelCache reads namespace labels for label-based audit and
// exempt rules, caching them briefly so admissions do not each call the API
// server. Only namespaced gets are needed (RBAC: get namespaces).
type NamespaceLabelCache struct {
	client kubernetes.Interface
	ttl    time.Duration
	cache  *lru[map[string]string]
}

// NewNamespaceLabelCache caches labels for ttl (default 30s).
func NewNamespaceLabelCache(client kubernetes.Interface, ttl time.Duration) *NamespaceLabelCache {
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	return &NamespaceLabelCache{client: client, ttl: ttl, cache: newLRU[map[string]string](4096, time.Now)}
}

// Labels implements Handler.NamespaceLabels.
func (c *NamespaceLabelCache) Labels(ctx context.Context, ns string) (map[string]string, error) {
	if l, ok := c.cache.get(ns); ok {
		return l, nil
	}
	obj, err := c.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	labels := obj.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	c.cache.put(ns, labels, c.ttl)
	return labels, nil
}
