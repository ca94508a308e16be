package trustroot

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Refresher keeps the public-good trusted root current for a process that
// runs for days: Sigstore rotates keys (a new Rekor v2 shard, a new TSA),
// and a root loaded once would deny every signature made with the new
// ones until a restart.
//
// The root in force only ever changes to one TUF verified: when a refresh
// fails, the last good root stays. Only when there has never been one
// (TUF unreachable at start) does the embedded snapshot come into force: a
// fallback, counted, and replaced by TUF's root at the first refresh that
// succeeds.
type Refresher struct {
	opts  Options
	fetch func(context.Context) ([]byte, error)

	current atomic.Pointer[Root]
	first   singleflight.Group
	mu      sync.Mutex // one refresh at a time

	// LastSuccess is the unix time (ns) of the last refresh that got TUF's
	// root, 0 if none yet.
	lastSuccess atomic.Int64
	// Refreshes, Failures and Fallbacks count refresh attempts, failed
	// attempts, and times the embedded snapshot came into force because
	// TUF failed.
	Refreshes, Failures, Fallbacks atomic.Int64
}

// NewRefresher returns a Refresher; nothing is fetched until the first
// Root or Refresh.
func NewRefresher(o Options) *Refresher {
	return &Refresher{opts: o, fetch: func(ctx context.Context) ([]byte, error) { return fetchTUF(ctx, o) }}
}

// WithFetch replaces how trusted_root.json is fetched (tests).
func (r *Refresher) WithFetch(f func(context.Context) ([]byte, error)) *Refresher {
	r.fetch = f
	return r
}

// Root returns the root in force, refreshing first if there is none yet.
// A caller whose ctx ends while that first refresh runs gets an error; the
// refresh goes on for the next caller.
func (r *Refresher) Root(ctx context.Context) (*Root, error) {
	if cur := r.current.Load(); cur != nil {
		return cur, nil
	}
	ch := r.first.DoChan("", func() (any, error) {
		res := r.Refresh(context.WithoutCancel(ctx))
		return res.Root, res.Err
	})
	select {
	case <-ch:
		if cur := r.current.Load(); cur != nil {
			return cur, nil
		}
		return nil, fmt.Errorf("no public-good trusted root: neither TUF nor the embedded snapshot loaded")
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the public-good trusted root from TUF: %w", ctx.Err())
	}
}

// Current is the root in force, nil before the first refresh.
func (r *Refresher) Current() *Root { return r.current.Load() }

// LastSuccess is when a refresh last got TUF's root (zero: never).
func (r *Refresher) LastSuccess() time.Time {
	if n := r.lastSuccess.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Refreshed is what one refresh did.
type Refreshed struct {
	// Root is the root in force afterwards; Previous the one before (nil
	// at the first refresh).
	Root, Previous *Root
	// Err is why TUF failed (the root in force did not change, or the
	// embedded snapshot came into force: FellBack).
	Err      error
	FellBack bool
}

// Changed reports whether the root in force changed version.
func (r Refreshed) Changed() bool {
	return r.Root != nil && (r.Previous == nil || r.Previous.Version != r.Root.Version)
}

// Refresh fetches the root through TUF now.
func (r *Refresher) Refresh(ctx context.Context) Refreshed {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := r.current.Load()
	out := Refreshed{Previous: prev, Root: prev}
	if r.opts.Offline {
		if prev == nil {
			out.Root, out.Err = r.embedded("")
		}
		return out
	}
	r.Refreshes.Add(1)
	data, err := r.fetch(ctx)
	var next *Root
	if err == nil {
		next, err = parse(data, SourceTUF, "TUF", r.opts.now())
	}
	if err != nil {
		r.Failures.Add(1)
		out.Err = err
		if prev == nil {
			r.Fallbacks.Add(1)
			out.FellBack = true
			if out.Root, err = r.embedded(err.Error()); err != nil {
				out.Err = err
			}
		}
		return out
	}
	r.lastSuccess.Store(next.Loaded.UnixNano())
	if prev != nil && prev.Version == next.Version {
		next = prev // same root: keep the parsed material
	} else {
		r.current.Store(next)
	}
	out.Root = next
	return out
}

func (r *Refresher) embedded(why string) (*Root, error) {
	e, err := parse(embeddedPublicGood, SourceEmbedded, "the embedded snapshot", r.opts.now())
	if err != nil {
		return nil, err
	}
	e.Fallback = why
	r.current.Store(e)
	return e, nil
}
