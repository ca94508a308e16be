package regclient

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Priority orders requests waiting at a Gate: background work last, urgent
// work first, then the oldest. Every request of one verification carries
// its priority, so under a slow registry the oldest verifications finish,
// instead of all of them advancing together and none finishing before its
// deadline.
type Priority struct {
	// Background marks work no admission waits for (a background scan):
	// served after everything else.
	Background bool
	// Urgent marks cheap work that unblocks a cached decision (re-resolving
	// a tag whose digest is already decided).
	Urgent bool
	// Since is when the work was first asked for.
	Since time.Time
}

// Before reports whether p is served before q.
func (p Priority) Before(q Priority) bool {
	switch {
	case p.Background != q.Background:
		return q.Background
	case p.Urgent != q.Urgent:
		return p.Urgent
	}
	return p.Since.Before(q.Since)
}

// Tracker accounts for the registry traffic of one verification (or one
// tag resolution): its budget, its priority at the Gate, and what went
// wrong. It is safe for concurrent use; a nil *Tracker accounts for nothing.
type Tracker struct {
	mu       sync.Mutex
	priority Priority
	requests int
	bytes    int64
	seq      int
	failures map[string]*failure
	inflight map[*attempt]struct{}
}

// failure is one kind of thing a registry did, and how often.
type failure struct {
	Failure
	seq int
	// cut marks a description of a request the caller's deadline cut
	// short: less telling than a failure the registry itself produced.
	// Among those, the request stuck longest (started first) tells most.
	cut     bool
	started time.Time
}

// NewTracker returns a Tracker for work asked for with priority p.
func NewTracker(p Priority) *Tracker {
	if p.Since.IsZero() {
		p.Since = time.Now()
	}
	return &Tracker{priority: p}
}

// Priority is the priority of the work's requests at a Gate; work
// without a Tracker is served as asked for now.
func (t *Tracker) Priority() Priority {
	if t == nil {
		return Priority{Since: time.Now()}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.priority
}

// Promote raises the work's priority to p when p is served first: a
// request that joins background work someone now waits for. Requests
// already waiting keep their place.
func (t *Tracker) Promote(p Priority) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.Before(t.priority) {
		t.priority = p
	}
}

// The Tracker of a request travels in its context from Track (or a
// Reader) to the transport, inside regclient only: go-containerregistry
// builds the requests, and a request carries nothing else.
type trackerKey struct{}

func withTracker(ctx context.Context, t *Tracker) context.Context {
	return context.WithValue(ctx, trackerKey{}, t)
}

func trackerOf(ctx context.Context) *Tracker {
	t, _ := ctx.Value(trackerKey{}).(*Tracker)
	return t
}

// Track returns rt (a transport to reg) with every request it sends
// accounted to t, whatever context the request carries: the way a
// Tracker reaches the transport under go-containerregistry, which builds
// the requests. The result is a transport.Wrapper, used as is.
func Track(reg name.Registry, rt http.RoundTripper, t *Tracker) http.RoundTripper {
	// An anonymous basic transport adds nothing: FromToken only makes the
	// result a transport.Wrapper.
	w, err := ggcr.FromToken(reg, authn.Anonymous, tracked{rt, t}, &ggcr.Challenge{}, &ggcr.Token{})
	if err != nil {
		panic(fmt.Sprintf("regclient: wrapping a transport: %v", err)) // only a bearer challenge can fail
	}
	return w
}

type tracked struct {
	inner http.RoundTripper
	t     *Tracker
}

func (tr tracked) RoundTrip(r *http.Request) (*http.Response, error) {
	if trackerOf(r.Context()) != tr.t {
		r = r.WithContext(withTracker(r.Context(), tr.t))
	}
	return tr.inner.RoundTrip(r)
}

// Requests is how many requests were sent (or refused by the budget).
func (t *Tracker) Requests() int {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.requests
}

// Bytes is how many response bytes were read.
func (t *Tracker) Bytes() int64 {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.bytes
}

// Failure is what the registries did, for a denial: the most recent
// failure they answered or caused, with how often; else the description of
// a request a deadline cut short; else what the oldest unfinished request
// is waiting for. nil when nothing went wrong. The result is a copy.
func (t *Tracker) Failure() *Failure {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var best *failure
	for _, f := range t.failures {
		if better(f, best) {
			best = f
		}
	}
	if best != nil && !best.cut {
		f := best.Failure
		return &f
	}
	var oldest *attempt
	for a := range t.inflight {
		if oldest == nil || a.earlierThan(oldest) {
			oldest = a
		}
	}
	if oldest != nil {
		return &Failure{Host: oldest.host, Cause: oldest.describe(time.Now(), false), Count: 1}
	}
	if best != nil {
		f := best.Failure
		f.Count = 1 // a cut request is described, not counted
		return &f
	}
	return nil
}

// better prefers what the registry did over what a deadline cut short,
// then the most recent failure, or the request a deadline cut that had
// been waiting longest.
func better(f, than *failure) bool {
	switch {
	case than == nil:
		return true
	case f.cut != than.cut:
		return !f.cut
	case f.cut:
		return f.started.Before(than.started)
	}
	return f.seq > than.seq
}

// begin accounts for one attempt before it is sent: it fails when the
// request budget is spent.
func (t *Tracker) begin(a *attempt, lim Limits) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.requests >= lim.MaxRequests {
		err := &BudgetError{Requests: lim.MaxRequests}
		t.record(Failure{Host: a.host, Cause: err.Error(), Err: err}, false, a.start)
		return err
	}
	t.requests++
	if t.inflight == nil {
		t.inflight = map[*attempt]struct{}{}
	}
	t.inflight[a] = struct{}{}
	return nil
}

func (t *Tracker) end(a *attempt) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inflight, a)
}

// remaining is how many more response bytes the budget allows.
func (t *Tracker) remaining(lim Limits) int64 {
	if t == nil {
		return lim.MaxBytes
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return lim.MaxBytes - t.bytes
}

func (t *Tracker) addBytes(n int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bytes += n
}

// fail records what went wrong with a request started at started; cut
// marks one the caller's deadline ended rather than the registry.
func (t *Tracker) fail(what Failure, cut bool, started time.Time) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.record(what, cut, started)
}

// record counts what by its sentence: the same thing happening again
// (each attempt of a retried request) is one failure, counted.
func (t *Tracker) record(what Failure, cut bool, started time.Time) {
	if t.failures == nil {
		t.failures = map[string]*failure{}
	}
	t.seq++
	f := t.failures[what.Cause]
	if f == nil {
		f = &failure{Failure: what, cut: cut, started: started}
		t.failures[what.Cause] = f
	}
	f.Count++
	f.Err = what.Err // the latest attempt's error is the one returned
	f.seq = t.seq
}
