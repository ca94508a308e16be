package enforce

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/verify"
)

// Tags is enforce's tag cache: a verify.Resolver in front of the
// engine's. It keeps tag resolutions briefly (TagTTL: tags move), per
// credentials (what a private tag names is only learnt with access to it),
// and shares one resolution among concurrent requests for the same tag
// and credentials. A digest reference is never resolved.
type Tags struct {
	engine verify.Resolver
	cfg    CacheConfig
	mem    *lru[name.Digest]
	work   flights[name.Digest]
	stats  *CacheStats
}

// Resolve implements verify.Resolver: a digest as is, a tag from the
// cache while fresh (no registry request at all), else through one shared
// resolution. Re-resolving a tag seen before is urgent at the registry: it
// is one cheap request that usually unblocks a kept decision.
func (c *Tags) Resolve(ctx context.Context, s verify.Subject) (name.Digest, error) {
	if d, ok := s.Ref.(name.Digest); ok {
		return d, nil
	}
	creds, keep := credentialsID(s.Keychain)
	key := s.Ref.Name() + "\x00" + creds
	d, fresh, known := c.mem.lookup(key)
	if fresh {
		c.stats.TagHits.Add(1)
		return d, nil
	}
	c.stats.TagMisses.Add(1)
	return c.resolve(ctx, s, key, known, keep)
}

// resolve asks the engine for s's digest, in one resolution shared with
// every concurrent request for key, and keeps the answer when keep. It is
// Resolve's miss path, apart so that only a miss pays for the closure.
func (c *Tags) resolve(ctx context.Context, s verify.Subject, key string, known, keep bool) (name.Digest, error) {
	s.Wait()
	s.Waiting = nil // the shared work runs in its own goroutine
	prio := s.Priority()
	prio.Urgent = known
	f, err := c.work.join(ctx, key, prio, func(tr *regclient.Tracker) (name.Digest, error) {
		rctx, cancel := context.WithTimeout(context.Background(), c.cfg.VerifyTimeout)
		defer cancel()
		shared := s
		shared.Tracker = tr
		d, err := c.engine.Resolve(rctx, shared)
		if err != nil {
			return d, regclient.WithFailure(err, tr.Failure())
		}
		if keep {
			c.mem.put(key, d, c.cfg.TagTTL)
		}
		return d, nil
	})
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolving the tag did not start: %w", err)
	}
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		err := fmt.Errorf("resolving the tag did not finish within the admission deadline (%v)", ctx.Err())
		return name.Digest{}, regclient.WithFailure(err, f.tr.Failure())
	}
}

// CacheConfig bounds and times enforce's memory: the decision store and
// the tag cache.
type CacheConfig struct {
	// Size bounds each of the two (entries). Default DefaultCacheSize.
	Size int `flag:"cache-size" env:"SIGNET_CACHE_SIZE" usage:"maximum cached decisions"`
	// PositiveTTL is how long an allowed decision answers admissions
	// (default 10m); NegativeTTL a denial (default 30s).
	PositiveTTL time.Duration `flag:"cache-ttl" env:"SIGNET_CACHE_TTL" usage:"how long an allowed decision is cached (per digest and policy hash)"`
	NegativeTTL time.Duration `flag:"negative-cache-ttl" env:"SIGNET_NEGATIVE_CACHE_TTL" usage:"how long a denial is cached"`
	// MaxAge is how long an allowed decision answers the background
	// verifier (default DefaultMaxAge): the registry is asked again about
	// a passing digest that runs at most this often.
	MaxAge time.Duration `flag:"scan-max-age" env:"SIGNET_SCAN_MAX_AGE" usage:"how long a passing digest's decision is reused by background passes before the registry is asked again"`
	// TagTTL keeps tag-to-digest resolutions (default 30s): short, since
	// tags move.
	TagTTL time.Duration
	// VerifyTimeout bounds one shared verification (default
	// VerifyTimeout(DefaultDeadline)). It runs detached from any one request
	// so a caller that gives up does not cancel the work others wait for.
	VerifyTimeout time.Duration
	// MaxInFlight bounds verifications and tag resolutions in flight
	// together, over every registry (default DefaultMaxInFlight). A request
	// that would start one more waits for one to end, until its deadline,
	// and is then denied naming the bound (transient, never kept).
	MaxInFlight int `flag:"max-in-flight" env:"SIGNET_MAX_IN_FLIGHT" usage:"maximum verifications and tag resolutions in flight at once, over all registries; beyond it an image waits for one to end, then is denied as overloaded (never cached)"`
	Now         func() time.Time
}

// Cache defaults, which enforce serve's flags show.
const (
	DefaultCacheSize   = 10000
	DefaultPositiveTTL = 10 * time.Minute
	DefaultNegativeTTL = 30 * time.Second
	DefaultTagTTL      = 30 * time.Second
	DefaultMaxAge      = 24 * time.Hour
)

func (c CacheConfig) withDefaults() CacheConfig {
	c.Size = orDefault(c.Size, DefaultCacheSize)
	c.PositiveTTL = orDefault(c.PositiveTTL, DefaultPositiveTTL)
	c.NegativeTTL = orDefault(c.NegativeTTL, DefaultNegativeTTL)
	c.MaxAge = orDefault(c.MaxAge, DefaultMaxAge)
	c.TagTTL = orDefault(c.TagTTL, DefaultTagTTL)
	c.VerifyTimeout = orDefault(c.VerifyTimeout, VerifyTimeout(DefaultDeadline))
	c.MaxInFlight = orDefault(c.MaxInFlight, DefaultMaxInFlight)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// VerifyTimeout is the bound on one shared verification for a webhook
// whose requests have deadline: three requests' worth, so a verification a
// slow registry holds up can still finish for the retries that follow.
func VerifyTimeout(deadline time.Duration) time.Duration { return 3 * deadline }
