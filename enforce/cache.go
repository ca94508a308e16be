package enforce

import (
	"context"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/verify"
)

// Engine is the verification engine as enforce's memory stands in front
// of it: *verify.Verifier, its three costly steps.
type Engine interface {
	verify.Resolver
	verify.TrustSource
	verify.TargetDecider
}

// Cache is enforce's memory around the engine: the decision store and the
// tag cache, decorators on the engine's TargetDecider and Resolver, and
// the verify.Flow through them. It is the webhook's verify.Decider, and
// the background verifier's (with Background requests).
type Cache struct {
	Store *Store
	Tags  *Tags
	flow  verify.Flow
	Stats CacheStats
}

// CacheStats counts the store's and the tag cache's hits and misses, for
// metrics. Background hits and misses are the background verifier's.
type CacheStats struct {
	Hits, Misses, TagHits, TagMisses, Verifications atomic.Int64
	BackgroundHits, BackgroundMisses                atomic.Int64
}

// NewCache stands the store and the tag cache in front of e.
func NewCache(e Engine, cfg CacheConfig) *Cache {
	cfg = cfg.withDefaults()
	c := &Cache{}
	slots := newFlightSlots(cfg.MaxInFlight)
	c.Store = &Store{engine: e, cfg: cfg, mem: newLRU[kept](cfg.Size, cfg.Now), stats: &c.Stats}
	c.Tags = &Tags{engine: e, cfg: cfg, mem: newLRU[name.Digest](cfg.Size, cfg.Now), stats: &c.Stats}
	c.Store.work.slots, c.Tags.work.slots = slots, slots
	c.flow = verify.Flow{Resolver: c.Tags, Trust: e, Decider: c.Store, Prepared: &verify.Prepared{}}
	return c
}

// Decide implements verify.Decider: the engine's flow with the tag cache
// in front of its resolution and the store in front of its decisions. The
// work it shares is prioritised at the registry by when it was first asked
// for (see Limiter), so under a slow registry the oldest admissions finish
// first.
func (c *Cache) Decide(ctx context.Context, req verify.Request) *verify.Decision {
	return c.flow.Decide(ctx, req)
}
