package verify

import (
	"context"
	"sync"
	"time"

	"github.com/notaryproject/notation-core-go/revocation/crl"
)

// maxCachedCRLs bounds the CRLs kept: one per distribution point of the
// CAs a trust file anchors, a handful in practice.
const maxCachedCRLs = 64

// crlCache keeps each downloaded CRL (by its URL) until its NextUpdate,
// the validity the CA gives it: within it a CRL is not downloaded again;
// after it the cache reports a miss and notation-core-go fetches a fresh
// one. It is notation-core-go's crl.Cache, in memory, for the process.
type crlCache struct {
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[string]*crl.Bundle
}

func newCRLCache(max int) *crlCache {
	return &crlCache{max: max, now: time.Now, m: map[string]*crl.Bundle{}}
}

// Get returns the CRL of url while it is valid.
func (c *crlCache) Get(_ context.Context, url string) (*crl.Bundle, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[url]
	if !ok {
		return nil, crl.ErrCacheMiss
	}
	if !c.valid(b) {
		delete(c.m, url)
		return nil, crl.ErrCacheMiss
	}
	return b, nil
}

// Set keeps b for url, evicting expired CRLs first and, when still full,
// any one.
func (c *crlCache) Set(_ context.Context, url string, b *crl.Bundle) error {
	if b == nil || b.BaseCRL == nil || !c.valid(b) {
		return nil // nothing to keep: no NextUpdate, or already stale
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[url]; !ok && len(c.m) >= c.max {
		for k, old := range c.m {
			if !c.valid(old) {
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
	c.m[url] = b
	return nil
}

func (c *crlCache) valid(b *crl.Bundle) bool {
	next := b.BaseCRL.NextUpdate
	return !next.IsZero() && c.now().Before(next)
}
