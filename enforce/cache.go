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

// Cache defaults, which enforce serve's flags show.
const (
	DefaultCacheSize   = 10000
	DefaultPositiveTTL = 10 * time.Minute
	DefaultNegativeTTL = 30 * time.Second
	DefaultTagTTL      = 30 * time.Second
)

// CacheConfig bounds and times the cache.
type CacheConfig struct {
	// Size bounds each of the two caches (entries). Default DefaultCacheSize.
	Size int
	// PositiveTTL keeps allowed decisions (default 10m); NegativeTTL keeps
	// denials, which include registry failures, for less (default 30s).
	PositiveTTL, NegativeTTL time.Duration
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
	MaxInFlight int
	Now         func() time.Time
}

// VerifyTimeout is the bound on one shared verification for a webhook
// whose requests have deadline: three requests' worth, so a verification a
// slow registry holds up can still finish for the retries that follow.
func VerifyTimeout(deadline time.Duration) time.Duration { return 3 * deadline }

// CacheStats counts hits and misses for metrics.
type CacheStats struct {
	Hits, Misses, TagHits, TagMisses, Verifications atomic.Int64
}

// Engine is the verification engine as the cache uses it; *verify.Verifier
// implements it. The cache stands in front of the engine's two costly
// steps, each one method (resolving a reference, deciding a resolved
// target), keys what it keeps by the trusted root version, and decides
// nothing itself: every decision it returns, even when the engine does not
// answer in time, is built by verify.
type Engine interface {
	verify.Resolver
	verify.TargetDecider
	RootVersion(ctx context.Context, p *policy.Policy) (string, error)
}

// Cache decides images through the engine's flow (verify.Flow), keeping
// decisions by verify.Target.Key (the digest, the governing rule's meaning
// and the trusted root version; never a tag, never the whole policy: an
// edit elsewhere in the trust file keeps them), sharing one verification
// among concurrent requests for the same key and credentials, and keeping
// tag resolutions separately and briefly, per credentials.
//
// Work in flight carries the credentials of the request that started it,
// so it is shared only among requests with the same credentials
// (credentialsID): a tenant's anonymous lookup never fails another's
// authenticated admission with its 401, and a tenant without access never
// rides on another's authenticated registry reads. A tag resolution is
// kept per credentials for the same reason: what a private tag names is
// only learnt with access to it. A decision is kept for everyone: it says
// what is attached to a digest under a rule, which does not depend on who
// asked (a failure that might, a 401 among them, is transient and never
// kept), and pulling the digest stays the kubelet's, with the pod's own
// credentials.
type Cache struct {
	engine Engine
	cfg    CacheConfig
	dec    *lru[*verify.Decision]
	tags   *lru[name.Digest]
	// verifications and resolutions share work among concurrent requests
	// for the same key.
	verifications flights[*verify.Decision]
	resolutions   flights[name.Digest]
	subjects      subjectMemo
	Stats         CacheStats
}

// NewCache stands a cache in front of e.
func NewCache(e Engine, cfg CacheConfig) *Cache {
	cfg.Size = orDefault(cfg.Size, DefaultCacheSize)
	cfg.PositiveTTL = orDefault(cfg.PositiveTTL, DefaultPositiveTTL)
	cfg.NegativeTTL = orDefault(cfg.NegativeTTL, DefaultNegativeTTL)
	cfg.TagTTL = orDefault(cfg.TagTTL, DefaultTagTTL)
	cfg.VerifyTimeout = orDefault(cfg.VerifyTimeout, VerifyTimeout(DefaultDeadline))
	cfg.MaxInFlight = orDefault(cfg.MaxInFlight, DefaultMaxInFlight)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cache{engine: e, cfg: cfg, dec: newLRU[*verify.Decision](cfg.Size, cfg.Now), tags: newLRU[name.Digest](cfg.Size, cfg.Now)}
	c.verifications.slots = newFlightSlots(cfg.MaxInFlight)
	c.resolutions.slots = c.verifications.slots
	return c
}

// Verify implements Decider: a kept decision (Cached), else the engine's
// flow with the cache in front of its resolution and its decisions. The
// work it shares is prioritised at the registry by when it was first asked
// for (see Limiter), so under a slow registry the oldest admissions finish
// first.
func (c *Cache) Verify(ctx context.Context, image string, p *policy.Policy) *verify.Decision {
	if d, ok := c.Cached(ctx, image, p); ok {
		return d
	}
	return verify.Flow{Resolver: c, Decider: c}.Verify(ctx, image, p)
}

// Decide implements verify.TargetDecider over the engine's: a kept
// decision for t's key, presented for t, or one shared verification.
func (c *Cache) Decide(ctx context.Context, t verify.Target) *verify.Decision {
	rootVersion, err := c.engine.RootVersion(ctx, t.Policy)
	if err != nil {
		return t.Unavailable(verify.NewReason(verify.CodeTrustedRootUnavailable, "%v", err))
	}
	key := t.Key(rootVersion)
	if d, ok := c.dec.get(key); ok {
		c.Stats.Hits.Add(1)
		return t.Present(d)
	}
	c.Stats.Misses.Add(1)
	creds, _ := credentialsID(ctx)
	f, err := c.verifications.join(ctx, key+"\x00"+creds, priority(ctx), func(tr *regclient.Tracker) (*verify.Decision, error) {
		c.Stats.Verifications.Add(1)
		vctx, cancel := c.detached(ctx, tr)
		defer cancel()
		d := c.engine.Decide(vctx, t)
		ttl := c.cfg.PositiveTTL
		switch {
		case d.Transient:
			// A registry or trust-root failure says nothing about the image,
			// and may depend on the caller's credentials: never kept.
			ttl = 0
		case !d.Allowed || len(d.Reasons) > 0:
			ttl = c.cfg.NegativeTTL
		}
		if d.ValidUntil != nil { // an attestation it rests on becomes too old
			ttl = min(ttl, d.ValidUntil.Sub(c.cfg.Now()))
		}
		c.dec.put(key, d, ttl)
		return d, nil
	})
	if err != nil {
		return t.Unavailable(verify.NewReason(verify.CodeOverloaded, "verification of %s did not start: %v", t.Digest, err))
	}
	select {
	case <-f.done:
		return t.Present(f.val)
	case <-ctx.Done():
		return t.Unavailable(verify.NewReason(verify.CodeDeadlineExceeded, "verification of %s did not finish within the admission deadline (%v)%s",
			t.Digest, ctx.Err(), because(f.tr, "; a registry, TUF or the timestamp authority may be slow or unreachable")))
	}
}

// priority is the registry priority of the request of ctx: when it began
// (its Tracker's), and whether it is background work.
func priority(ctx context.Context) regclient.Priority {
	p := regclient.Priority{Since: time.Now(), Background: ctx.Value(backgroundKey{}) != nil}
	if tr := regclient.FromContext(ctx); tr != nil {
		p.Since = tr.Priority().Since
	}
	return p
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

// detached is the context of shared work: not cancelled with the caller
// that started it, bounded by VerifyTimeout, carrying the caller's registry
// credentials and the work's Tracker.
func (c *Cache) detached(caller context.Context, tr *regclient.Tracker) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.VerifyTimeout)
	ctx = regclient.WithTracker(ctx, tr)
	return verify.WithRequestKeychain(ctx, verify.RequestKeychain(caller)), cancel
}

// tagKey is what a tag resolution is kept and shared under: the tag and
// the credentials it is read with (keep: whether those can be named).
func tagKey(ctx context.Context, ref name.Reference) (key string, keep bool) {
	creds, keep := credentialsID(ctx)
	return ref.Name() + "\x00" + creds, keep
}

// Resolve implements verify.Resolver over the engine's: a digest as is, a
// tag from the tag cache while fresh (no registry request at all), else
// through one shared resolution. Re-resolving a tag seen before is urgent
// at the registry: it is one cheap request that usually unblocks a cached
// decision.
func (c *Cache) Resolve(ctx context.Context, ref name.Reference) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	key, keep := tagKey(ctx, ref)
	d, fresh, known := c.tags.lookup(key)
	if fresh {
		c.Stats.TagHits.Add(1)
		return d, nil
	}
	c.Stats.TagMisses.Add(1)
	prio := priority(ctx)
	prio.Urgent = known
	f, err := c.resolutions.join(ctx, key, prio, func(tr *regclient.Tracker) (name.Digest, error) {
		rctx, cancel := c.detached(ctx, tr)
		defer cancel()
		d, err := c.engine.Resolve(rctx, ref)
		if err != nil {
			if cause := tr.Cause(); cause != "" && !strings.Contains(err.Error(), cause) {
				err = fmt.Errorf("%w (last registry error: %s)", err, cause)
			}
			return d, err
		}
		if keep {
			c.tags.put(key, d, c.cfg.TagTTL)
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
		return name.Digest{}, fmt.Errorf("resolving the tag did not finish within the admission deadline (%v)%s", ctx.Err(), because(f.tr, ""))
	}
}
