package verify

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/notaryproject/notation-core-go/revocation/crl"
)

// Bounds of what the revocation checker keeps: CRLs (one per
// distribution point of the CAs a trust file anchors, a handful in
// practice) and chain statuses (one per signing and TSA chain in use).
const (
	maxCachedCRLs     = 64
	maxCachedStatuses = 1024
)

// RevocationStatusTTL is how long OCSPCRLChecker keeps a chain's definite
// status: a certificate revoked after a check is refused by new decisions
// at most this much later (decisions enforce caches are kept longer, 10
// minutes by default, and are not re-checked before they expire).
const RevocationStatusTTL = 5 * time.Minute

// expiring is a bounded map whose entries expire: full, it drops the
// expired entries first, then any.
type expiring[V any] struct {
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[string]expiringEntry[V]
}

type expiringEntry[V any] struct {
	v     V
	until time.Time
}

func newExpiring[V any](max int) *expiring[V] {
	return &expiring[V]{max: max, now: time.Now, m: map[string]expiringEntry[V]{}}
}

func (c *expiring[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !c.now().Before(e.until) {
		delete(c.m, key)
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *expiring[V]) put(key string, v V, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !now.Before(until) {
		return
	}
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = expiringEntry[V]{v: v, until: until}
}

// crlCache keeps each downloaded CRL (by its URL) until its NextUpdate,
// the validity the CA gives it: within it a CRL is not downloaded again;
// after it the cache reports a miss and notation-core-go fetches a fresh
// one. It is notation-core-go's crl.Cache, in memory, for the process.
type crlCache struct{ *expiring[*crl.Bundle] }

func newCRLCache(max int) crlCache { return crlCache{newExpiring[*crl.Bundle](max)} }

// Get returns the CRL of url while it is valid.
func (c crlCache) Get(_ context.Context, url string) (*crl.Bundle, error) {
	if b, ok := c.get(url); ok {
		return b, nil
	}
	return nil, crl.ErrCacheMiss
}

// Set keeps b for url until its NextUpdate (a CRL without one is not kept).
func (c crlCache) Set(_ context.Context, url string, b *crl.Bundle) error {
	if b != nil && b.BaseCRL != nil && !b.BaseCRL.NextUpdate.IsZero() {
		c.put(url, b, b.BaseCRL.NextUpdate)
	}
	return nil
}

// statusKey identifies what a chain status answers: the chain (by its
// certificates), its purpose and the signing time (which an invalidity
// date is compared with).
func statusKey(req RevocationRequest) string {
	h := sha256.New()
	for _, c := range req.Chain {
		h.Write(c.Raw)
	}
	return fmt.Sprintf("%x|%v|%d", h.Sum(nil), req.Timestamping, req.SigningTime.UnixNano())
}
