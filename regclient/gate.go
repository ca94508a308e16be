package regclient

import (
	"container/heap"
	"fmt"
	"net/http"
	"sync"
)

// DefaultHostConcurrency is the default of enforce's and signet-node's
// --registry-concurrency: the slots per registry host. Measured with BenchmarkRegistryConcurrency: 500
// concurrent admissions of 50 new images (signed and attested) against a
// registry answering every request in 200 ms, 8 s deadline, idle 2-core
// machine. 8 slots decided 290 of the 500 (p99 8.0 s: the rest hit the
// deadline); 16 all, p99 6.8 s; 32 all, p50 2.2 s, p99 3.6 s; 64 all, p99
// 2.1 s. 32 is the smallest that decides the whole burst with its p99 under
// half the deadline. The burst time falls linearly with the slots only
// because the simulated registry never slows down; a real one does, and
// throttles clients that keep many more requests open than that. Registries
// speak HTTP/2, so 32 requests are 32 streams, not 32 connections.
const DefaultHostConcurrency = 32

// Limiter caps concurrent requests per registry host, so a burst of
// admissions (a rollout, a node drain) cannot overrun one registry or trip
// its rate limits. It is a Gate (WithHostConcurrency): a slot is held only
// while the transport sends one request and reads its whole response, so it is
// released on every path (answer, error, retried failure, cancelled
// context) and no holder ever waits for a second slot: a verification that
// needs several requests at once can be slowed by the limit, never
// deadlocked by it.
//
// Waiting requests are served by Priority (tag re-resolutions,
// then the oldest verification, background scans last), not in arrival
// order: under a slow
// registry the oldest admissions finish instead of all of them advancing
// together and timing out. At most MaxQueue requests wait per host; more
// fail at once rather than pile up behind a registry that does not answer.
type Limiter struct {
	perHost, maxQueue int

	mu    sync.Mutex
	seq   uint64
	hosts map[string]*hostSlots
}

// NewLimiter allows perHost concurrent requests per host, and 64 times as
// many waiting.
func NewLimiter(perHost int) *Limiter {
	if perHost <= 0 {
		perHost = DefaultHostConcurrency
	}
	return &Limiter{perHost: perHost, maxQueue: 64 * perHost, hosts: map[string]*hostSlots{}}
}

type hostSlots struct {
	inUse int
	queue waitQueue
}

type waiter struct {
	prio    Priority
	seq     uint64
	ready   chan struct{}
	granted bool
	index   int
}

// Enter implements Gate.
func (l *Limiter) Enter(r *http.Request, prio Priority) (func(), error) {
	host := r.URL.Host
	l.mu.Lock()
	h := l.hosts[host]
	if h == nil {
		h = &hostSlots{}
		l.hosts[host] = h
	}
	if h.inUse < l.perHost && h.queue.Len() == 0 {
		h.inUse++
		l.mu.Unlock()
		return l.releaser(host), nil
	}
	if h.queue.Len() >= l.maxQueue {
		n := h.queue.Len()
		l.mu.Unlock()
		return nil, fmt.Errorf("registry %s: %d requests already waiting for one of its %d connection slots", host, n, l.perHost)
	}
	l.seq++
	w := &waiter{prio: prio, seq: l.seq, ready: make(chan struct{})}
	heap.Push(&h.queue, w)
	l.mu.Unlock()

	select {
	case <-w.ready:
		return l.releaser(host), nil
	case <-r.Context().Done():
	}
	l.mu.Lock()
	granted := w.granted
	if !granted {
		heap.Remove(&h.queue, w.index)
	}
	l.mu.Unlock()
	if granted {
		l.release(host) // handed a slot as the context ended: pass it on
	}
	return nil, fmt.Errorf("waiting for a connection slot to %s: %w", host, r.Context().Err())
}

func (l *Limiter) releaser(host string) func() {
	var once sync.Once
	return func() { once.Do(func() { l.release(host) }) }
}

// release frees a slot of host, handing it to the first waiter if any. A
// host with no slot taken is forgotten: images at thousands of distinct
// hosts leave nothing behind.
func (l *Limiter) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.hosts[host]
	if h.queue.Len() > 0 {
		w := heap.Pop(&h.queue).(*waiter)
		w.granted = true
		close(w.ready)
		return
	}
	if h.inUse--; h.inUse == 0 {
		delete(l.hosts, host)
	}
}

// Hosts is how many hosts the limiter keeps state for (none once every
// request ended: images at thousands of hosts leave nothing behind).
func (l *Limiter) Hosts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.hosts)
}

// InUse reports how many of host's slots are taken.
func (l *Limiter) InUse(host string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.hosts[host]; h != nil {
		return h.inUse
	}
	return 0
}

// Waiting reports how many requests to host wait for a slot.
func (l *Limiter) Waiting(host string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.hosts[host]; h != nil {
		return h.queue.Len()
	}
	return 0
}

// waitQueue is a heap of waiters by priority, then arrival.
type waitQueue []*waiter

func (q waitQueue) Len() int { return len(q) }
func (q waitQueue) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.prio.Before(b.prio) != b.prio.Before(a.prio) {
		return a.prio.Before(b.prio)
	}
	return a.seq < b.seq
}
func (q waitQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *waitQueue) Push(x any) {
	w := x.(*waiter)
	w.index = len(*q)
	*q = append(*q, w)
}
func (q *waitQueue) Pop() any {
	old := *q
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return w
}
