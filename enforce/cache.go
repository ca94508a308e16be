package enforce

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/singleflight"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// CacheConfig bounds and times the cache.
type CacheConfig struct {
	// Size bounds each of the two caches (entries). Default 10000.
	Size int
	// PositiveTTL keeps allowed decisions (default 10m); NegativeTTL keeps
	// denials, which include registry failures, for less (default 30s).
	PositiveTTL, NegativeTTL time.Duration
	// TagTTL keeps tag-to-digest resolutions (default 30s): short, since
	// tags move.
	TagTTL time.Duration
	// VerifyTimeout bounds one shared verification (default 25s). It runs
	// detached from any one request so a caller that gives up does not
	// cancel the work others wait for.
	VerifyTimeout time.Duration
	Now           func() time.Time
}

// CacheStats counts hits and misses for metrics.
type CacheStats struct {
	Hits, Misses, TagHits, TagMisses, Verifications atomic.Int64
}

// Cache decides images through a Verifier, caching decisions by digest +
// policy hash + trusted root version (never by tag; the root version is
// settled before the lookup, so a key never changes under a verification), sharing one
// verification among concurrent requests for the same key, and caching
// tag resolutions separately and briefly.
type Cache struct {
	v     *verify.Verifier
	cfg   CacheConfig
	dec   *lru[*verify.Decision]
	tags  *lru[name.Digest]
	sf    singleflight.Group
	Stats CacheStats
}

// NewCache wraps v.
func NewCache(v *verify.Verifier, cfg CacheConfig) *Cache {
	if cfg.Size == 0 {
		cfg.Size = 10000
	}
	if cfg.PositiveTTL == 0 {
		cfg.PositiveTTL = 10 * time.Minute
	}
	if cfg.NegativeTTL == 0 {
		cfg.NegativeTTL = 30 * time.Second
	}
	if cfg.TagTTL == 0 {
		cfg.TagTTL = 30 * time.Second
	}
	if cfg.VerifyTimeout == 0 {
		cfg.VerifyTimeout = 25 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{v: v, cfg: cfg, dec: newLRU[*verify.Decision](cfg.Size, cfg.Now), tags: newLRU[name.Digest](cfg.Size, cfg.Now)}
}

// Verify implements Decider.
func (c *Cache) Verify(ctx context.Context, image string, p *policy.Policy) *verify.Decision {
	ref, err := name.ParseReference(image)
	if err != nil {
		return c.v.Verify(ctx, image, p) // explains the bad reference
	}
	m, err := p.MatchRepository(ref.Context().Name())
	if err != nil || m.Rule.Deny != "" {
		return c.v.Verify(ctx, image, p) // decided by the policy alone, no network
	}
	digest, err := c.resolve(ctx, ref)
	if err != nil {
		d := failure(image, p, m, fmt.Sprintf("could not resolve %s to a digest: %v", image, err))
		d.Transient = true
		return d
	}
	rootVersion, err := c.v.RootVersion(ctx, p)
	if err != nil {
		d := failure(image, p, m, err.Error())
		d.Transient = true
		return d
	}
	key := digest.String() + "|" + p.Hash + "|" + rootVersion
	d, ok := c.dec.get(key)
	if ok {
		c.Stats.Hits.Add(1)
	} else {
		c.Stats.Misses.Add(1)
		d = c.verifyShared(ctx, key, digest, p, m)
	}
	// The cached decision is about the digest; present it for this image.
	out := *d
	out.Image = image
	out.Pinned = verify.Pin(image, digest)
	return &out
}

func (c *Cache) verifyShared(ctx context.Context, key string, digest name.Digest, p *policy.Policy, m policy.Match) *verify.Decision {
	ch := c.sf.DoChan(key, func() (any, error) {
		c.Stats.Verifications.Add(1)
		vctx, cancel := c.detached(ctx)
		defer cancel()
		d := c.v.Verify(vctx, digest.String(), p)
		ttl := c.cfg.PositiveTTL
		switch {
		case d.Transient:
			// A registry or trust-root failure says nothing about the image,
			// and may depend on the caller's credentials: never cached.
			ttl = 0
		case !d.Allowed || len(d.Reasons) > 0:
			ttl = c.cfg.NegativeTTL
		}
		c.dec.put(key, d, ttl)
		return d, nil
	})
	select {
	case r := <-ch:
		return r.Val.(*verify.Decision)
	case <-ctx.Done():
		d := failure(digest.String(), p, m, fmt.Sprintf("verification of %s did not finish within the admission deadline (%v); a registry, TUF or the timestamp authority may be slow or unreachable", digest, ctx.Err()))
		d.Digest, d.Transient = digest.DigestStr(), true
		return d
	}
}

// failure is a decision the cache makes itself when it cannot get one from
// the verifier in time: a denial (fail closed), admitted only in audit mode.
func failure(image string, p *policy.Policy, m policy.Match, reason string) *verify.Decision {
	mode := p.Enforcement.Mode
	if m.Rule.Mode != "" {
		mode = m.Rule.Mode
	}
	return &verify.Decision{Image: image, PolicyHash: p.Hash, Mode: string(mode), Allowed: mode == policy.ModeAudit,
		Rule:    &verify.RuleRef{Index: m.Rule.Index, Name: m.Rule.Name, Kind: m.Rule.Kind(), Pattern: m.Pattern},
		Reasons: []string{reason}}
}

// detached is the context of a shared verification: not cancelled with the
// caller that started it, bounded by VerifyTimeout, carrying the caller's
// registry credentials.
func (c *Cache) detached(caller context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.VerifyTimeout)
	return verify.WithRequestKeychain(ctx, verify.RequestKeychain(caller)), cancel
}

func (c *Cache) resolve(ctx context.Context, ref name.Reference) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	key := ref.Name()
	if d, ok := c.tags.get(key); ok {
		c.Stats.TagHits.Add(1)
		return d, nil
	}
	c.Stats.TagMisses.Add(1)
	ch := c.sf.DoChan("tag|"+key, func() (any, error) {
		rctx, cancel := c.detached(ctx)
		defer cancel()
		d, err := c.v.Resolve(rctx, ref)
		if err == nil {
			c.tags.put(key, d, c.cfg.TagTTL)
		}
		return d, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return name.Digest{}, r.Err
		}
		return r.Val.(name.Digest), nil
	case <-ctx.Done():
		return name.Digest{}, fmt.Errorf("resolving the tag did not finish within the admission deadline: %w", ctx.Err())
	}
}
