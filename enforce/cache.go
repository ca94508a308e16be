package enforce

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
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
	v    *verify.Verifier
	cfg  CacheConfig
	dec  *lru[*verify.Decision]
	tags *lru[name.Digest]
	// verifications and resolutions share work among concurrent requests
	// for the same key.
	verifications flights[*verify.Decision]
	resolutions   flights[name.Digest]
	Stats         CacheStats
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

// Verify implements Decider. The work it shares is prioritised at the
// registry by when it was first asked for (see Limiter), so under a slow
// registry the oldest admissions finish first.
func (c *Cache) Verify(ctx context.Context, image string, p *policy.Policy) *verify.Decision {
	prio := regclient.Priority{Since: time.Now(), Background: ctx.Value(backgroundKey{}) != nil}
	ref, err := name.ParseReference(image)
	if err != nil {
		return c.v.Verify(ctx, image, p) // explains the bad reference
	}
	m, err := p.MatchRepository(ref.Context().Name())
	if err != nil || m.Rule.Deny != "" {
		return c.v.Verify(ctx, image, p) // decided by the policy alone, no network
	}
	digest, err := c.resolve(ctx, ref, prio)
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
	// Name, not String: "repo:tag@sha256:…" (the pinned form the mutating pass
	// writes, which the validating pass then sees) and "repo@sha256:…" are one
	// digest and one decision.
	key := digest.Name() + "|" + p.Hash + "|" + rootVersion
	d, ok := c.dec.get(key)
	if ok {
		c.Stats.Hits.Add(1)
	} else {
		c.Stats.Misses.Add(1)
		d = c.verifyShared(ctx, key, digest, p, m, prio)
	}
	// The cached decision is about the digest; present it for this image.
	out := *d
	out.Image = image
	out.Pinned = verify.Pin(image, digest)
	return &out
}

func (c *Cache) verifyShared(ctx context.Context, key string, digest name.Digest, p *policy.Policy, m policy.Match, prio regclient.Priority) *verify.Decision {
	f, _ := c.verifications.join(key, prio, func(tr *regclient.Tracker) (*verify.Decision, error) {
		c.Stats.Verifications.Add(1)
		vctx, cancel := c.detached(ctx, tr)
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
	case <-f.done:
		return f.val
	case <-ctx.Done():
		d := failure(digest.String(), p, m, fmt.Sprintf("verification of %s did not finish within the admission deadline (%v)%s",
			digest, ctx.Err(), because(f.tr, "; a registry, TUF or the timestamp authority may be slow or unreachable")))
		d.Digest, d.Transient = digest.DigestStr(), true
		return d
	}
}

type backgroundKey struct{}

// Background is c for work no admission waits for (the background
// verifier): the same decisions, flights and registry limits, but its
// registry requests wait behind every admission's, so a scan of the whole
// cluster never delays a pod. An admission that joins a background flight
// promotes it.
func (c *Cache) Background() Decider { return background{c} }

type background struct{ c *Cache }

func (b background) Verify(ctx context.Context, image string, p *policy.Policy) *verify.Decision {
	return b.c.Verify(context.WithValue(ctx, backgroundKey{}, true), image, p)
}

// because renders what a flight's registry traffic went through, for a
// reason that would otherwise only say that time ran out.
func because(tr *regclient.Tracker, otherwise string) string {
	if cause := tr.Cause(); cause != "" {
		return ": " + cause
	}
	return otherwise
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

// detached is the context of shared work: not cancelled with the caller
// that started it, bounded by VerifyTimeout, carrying the caller's registry
// credentials and the work's Tracker.
func (c *Cache) detached(caller context.Context, tr *regclient.Tracker) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.VerifyTimeout)
	ctx = regclient.WithTracker(ctx, tr)
	return verify.WithRequestKeychain(ctx, verify.RequestKeychain(caller)), cancel
}

// resolve returns the digest ref names: a digest as is, a tag from the tag
// cache while fresh (no registry request at all), else through one shared
// resolution. Re-resolving a tag seen before is urgent at the registry: it
// is one cheap request that usually unblocks a cached decision.
func (c *Cache) resolve(ctx context.Context, ref name.Reference, prio regclient.Priority) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	key := ref.Name()
	d, fresh, known := c.tags.lookup(key)
	if fresh {
		c.Stats.TagHits.Add(1)
		return d, nil
	}
	c.Stats.TagMisses.Add(1)
	prio.Urgent = known
	f, _ := c.resolutions.join(key, prio, func(tr *regclient.Tracker) (name.Digest, error) {
		rctx, cancel := c.detached(ctx, tr)
		defer cancel()
		d, err := c.v.Resolve(rctx, ref)
		if err != nil {
			if cause := tr.Cause(); cause != "" && !strings.Contains(err.Error(), cause) {
				err = fmt.Errorf("%w (last registry error: %s)", err, cause)
			}
			return d, err
		}
		c.tags.put(key, d, c.cfg.TagTTL)
		return d, nil
	})
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		return name.Digest{}, fmt.Errorf("resolving the tag did not finish within the admission deadline (%v)%s", ctx.Err(), because(f.tr, ""))
	}
}
