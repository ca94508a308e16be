package enforce

import (
	"sync"

	"github.com/signet-dev/signet/regclient"
)

// flight is one piece of shared work, a verification or a tag resolution,
// with the Tracker of its registry traffic: a caller that stops waiting can
// still say what the registry was doing.
type flight[V any] struct {
	done chan struct{}
	val  V
	err  error
	tr   *regclient.Tracker
}

// flights coalesces concurrent requests for one key into one flight, like
// singleflight, and keeps the flight's Tracker reachable to every waiter.
type flights[V any] struct {
	mu sync.Mutex
	m  map[string]*flight[V]
}

// join returns the flight for key, starting run in its own goroutine when
// none is in the air (a flight in the air is promoted to prio); started
// reports whether this call started it. run must store its result wherever
// later callers look before it returns: the flight is forgotten as soon as
// run ends.
func (g *flights[V]) join(key string, prio regclient.Priority, run func(tr *regclient.Tracker) (V, error)) (f *flight[V], started bool) {
	g.mu.Lock()
	if f := g.m[key]; f != nil {
		g.mu.Unlock()
		f.tr.Promote(prio)
		return f, false
	}
	if g.m == nil {
		g.m = map[string]*flight[V]{}
	}
	f = &flight[V]{done: make(chan struct{}), tr: regclient.NewTracker(prio)}
	g.m[key] = f
	g.mu.Unlock()
	go func() {
		defer close(f.done)
		defer func() {
			g.mu.Lock()
			delete(g.m, key)
			g.mu.Unlock()
		}()
		f.val, f.err = run(f.tr)
	}()
	return f, true
}

// inFlight is how many flights are in the air.
func (g *flights[V]) inFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}
