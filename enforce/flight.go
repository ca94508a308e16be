package enforce

import (
	"context"
	"fmt"
	"sync"

	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/verify"
)

// DefaultMaxInFlight is the default of --max-in-flight: verifications and
// tag resolutions in flight at once, over every registry. Each holds a
// goroutine, its evidence and, against a registry host of its own, a
// connection; 256 keeps those connections within the file descriptors left
// beside DefaultMaxConnections in a container's usual 1,024, and is five
// times the distinct images of the burst BenchmarkRegistryConcurrency
// measures (50, all decided with 32 slots per host).
const DefaultMaxInFlight = 256

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
// A new flight takes one of slots, if set, for as long as it runs.
type flights[V any] struct {
	slots *flightSlots

	mu sync.Mutex
	m  map[string]*flight[V]
}

// join returns the flight for key, starting run in its own goroutine when
// none is in the air (a flight in the air is promoted to prio). Joining a
// flight in the air is always possible; starting one waits for a slot,
// until ctx ends (an *OverloadError). run must store its result wherever
// later callers look before it returns: the flight is forgotten as soon as
// run ends.
func (g *flights[V]) join(ctx context.Context, key string, prio regclient.Priority, run func(tr *regclient.Tracker) (V, error)) (*flight[V], error) {
	if f := g.inAir(key, prio); f != nil {
		return f, nil
	}
	if err := g.slots.take(ctx); err != nil {
		return nil, err
	}
	g.mu.Lock()
	if f := g.m[key]; f != nil { // started while this call waited for its slot
		g.mu.Unlock()
		g.slots.give()
		f.tr.Promote(prio)
		return f, nil
	}
	if g.m == nil {
		g.m = map[string]*flight[V]{}
	}
	f := &flight[V]{done: make(chan struct{}), tr: regclient.NewTracker(prio)}
	g.m[key] = f
	g.mu.Unlock()
	go func() {
		defer close(f.done)
		defer func() {
			g.mu.Lock()
			delete(g.m, key)
			g.mu.Unlock()
			g.slots.give()
		}()
		f.val, f.err = run(f.tr)
	}()
	return f, nil
}

// inAir returns the flight for key promoted to prio, or nil.
func (g *flights[V]) inAir(key string, prio regclient.Priority) *flight[V] {
	g.mu.Lock()
	f := g.m[key]
	g.mu.Unlock()
	if f != nil {
		f.tr.Promote(prio)
	}
	return f
}

// inFlight is how many flights are in the air.
func (g *flights[V]) inFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}

// flightSlots bounds the flights of a cache, verifications and tag
// resolutions together: reviews naming thousands of images at as many slow
// registry hosts would otherwise grow goroutines, connections and memory
// without limit (the Limiter bounds each host, not their number). A nil
// *flightSlots bounds nothing.
type flightSlots struct {
	sem chan struct{}
}

func newFlightSlots(n int) *flightSlots { return &flightSlots{sem: make(chan struct{}, n)} }

// take waits for a slot until ctx ends.
func (s *flightSlots) take(ctx context.Context) error {
	if s == nil {
		return nil
	}
	select {
	case s.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &OverloadError{Max: cap(s.sem), Err: ctx.Err()}
	}
}

func (s *flightSlots) give() {
	if s != nil {
		<-s.sem
	}
}

// OverloadError says an image could not be decided because the webhook's
// work in flight was at its bound (--max-in-flight) until the request's
// deadline. It says nothing about the image: the denial is transient and
// never kept.
type OverloadError struct {
	Max int
	Err error
}

func (e *OverloadError) Error() string {
	return fmt.Sprintf("signet already has %d verifications and tag resolutions in flight, its bound (--max-in-flight), and none ended in time (%v); nothing is wrong with the image: retry, and if it persists look for slow registries or raise --max-in-flight",
		e.Max, e.Err)
}

func (e *OverloadError) Unwrap() error { return e.Err }

// ReasonCode implements verify.CodedError.
func (e *OverloadError) ReasonCode() verify.ReasonCode { return verify.CodeOverloaded }
