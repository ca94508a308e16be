package enforce

import (
	"container/list"
	"sync"
	"time"
)

// lru is a bounded map with per-entry expiry. Small on purpose: the cache
// needs get, put and eviction, nothing else.
type lru[V any] struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
	now   func() time.Time
}

type lruEntry[V any] struct {
	key     string
	val     V
	expires time.Time
}

func newLRU[V any](max int, now func() time.Time) *lru[V] {
	return &lru[V]{max: max, ll: list.New(), items: map[string]*list.Element{}, now: now}
}

func (c *lru[V]) get(key string) (V, bool) {
	v, fresh, _ := c.lookup(key)
	return v, fresh
}

// lookup returns key's value while it is fresh, and reports whether an
// expired entry exists (kept until evicted or replaced, so a caller can
// tell "seen before" from "never seen").
func (c *lru[V]) lookup(key string) (val V, fresh, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.items[key]
	if !ok {
		return zero, false, false
	}
	e := el.Value.(*lruEntry[V])
	if !c.now().Before(e.expires) {
		return zero, false, true
	}
	c.ll.MoveToFront(el)
	return e.val, true, true
}

func (c *lru[V]) put(key string, val V, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	exp := c.now().Add(ttl)
	if el, ok := c.items[key]; ok {
		e := el.Value.(*lruEntry[V])
		e.val, e.expires = val, exp
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&lruEntry[V]{key: key, val: val, expires: exp})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*lruEntry[V]).key)
	}
}

func (c *lru[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
