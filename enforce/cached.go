package enforce

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// Cached is Verify for an image whose decision the cache keeps: the same
// decision, from the caches alone, starting no work and no goroutine. It
// reports false when Verify would have to resolve a tag or verify, so the
// caller does that (concurrently with the pod's other images). The
// decision is kept under the same Target.Key as Decide keeps it (digest,
// governing rule hash, trusted root version).
func (c *Cache) Cached(ctx context.Context, image string, p *policy.Policy) (*verify.Decision, bool) {
	start := time.Now()
	s, ok := c.subjects.get(image, p)
	if !ok {
		return nil, false
	}
	digest, tagged, ok := c.freshDigest(ctx, s.Ref)
	if !ok {
		return nil, false
	}
	rootVersion, err := c.engine.RootVersion(ctx, p)
	if err != nil {
		return nil, false // Verify says why
	}
	t := verify.Target{Subject: s, Digest: digest}
	kept, ok := c.dec.get(t.Key(rootVersion))
	if !ok {
		return nil, false
	}
	if tagged {
		c.Stats.TagHits.Add(1)
	}
	c.Stats.Hits.Add(1)
	d := t.Present(kept)
	d.Elapsed = verify.Duration(time.Since(start))
	return d, true
}

// freshDigest is the digest ref names without a registry request: its own,
// or a tag's while the tag cache holds it fresh for ctx's credentials.
func (c *Cache) freshDigest(ctx context.Context, ref name.Reference) (d name.Digest, tagged, ok bool) {
	if d, ok := ref.(name.Digest); ok {
		return d, false, true
	}
	key, _ := tagKey(ctx, ref)
	d, fresh, _ := c.tags.lookup(key)
	return d, true, fresh
}

// subjectMemoSize bounds the references whose parsed, matched Subject the
// cache remembers (per policy).
const subjectMemoSize = 4096

// subjectMemo remembers verify.Prepare's Subject for each image reference
// under the current policy: an admission of an image seen before neither
// parses its reference nor matches a rule. It holds only Subjects Prepare
// did not decide (a reference that does not parse, that no rule matches or
// that a deny rule refuses is decided by Verify, every time). A new policy
// (a reload) starts a new memo; so does the bound.
type subjectMemo struct {
	cur atomic.Pointer[subjectsOf]
}

type subjectsOf struct {
	p *policy.Policy
	m sync.Map // image -> verify.Subject
	n atomic.Int64
}

func (sm *subjectMemo) get(image string, p *policy.Policy) (verify.Subject, bool) {
	cur := sm.cur.Load()
	if cur != nil && cur.p == p {
		if s, ok := cur.m.Load(image); ok {
			return s.(verify.Subject), true
		}
	}
	s, d := verify.Prepare(image, p)
	if d != nil {
		return s, false
	}
	if cur == nil || cur.p != p || cur.n.Add(1) > subjectMemoSize {
		next := &subjectsOf{p: p}
		next.n.Store(1)
		sm.cur.CompareAndSwap(cur, next) // a racing swap for the same reason is as good
		cur = sm.cur.Load()
	}
	if cur.p == p {
		cur.m.Store(image, s)
	}
	return s, true
}
