package enforce

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultMaxConnections bounds the webhook's open connections: far more
// than apiservers need (they multiplex requests over a few HTTP/2
// connections), and half the 1,024 file descriptors a container often gets,
// leaving the rest for registry connections.
const DefaultMaxConnections = 512

// connLimit is a listener that keeps at most max connections open. Before
// accepting one more, it closes the connection that has been idle the
// longest (a keep-alive connection between requests, or one accepted that
// never sent a request): a fresh request is worth more than a client that
// went quiet, and idle clients can then never exhaust the process's file
// descriptors. When every connection is busy, Accept waits for one to
// close; each busy one ends within the server's write timeout.
type connLimit struct {
	net.Listener
	max int

	mu     sync.Mutex
	freed  *sync.Cond
	conns  map[net.Conn]*connInfo
	closed bool
}

type connInfo struct {
	state http.ConnState
	since time.Time
}

func limitConns(l net.Listener, max int) *connLimit {
	if max <= 0 {
		max = DefaultMaxConnections
	}
	c := &connLimit{Listener: l, max: max, conns: map[net.Conn]*connInfo{}}
	c.freed = sync.NewCond(&c.mu)
	return c
}

func (l *connLimit) Accept() (net.Conn, error) {
	l.mu.Lock()
	for len(l.conns) >= l.max && !l.closed {
		if victim := l.longestIdle(); victim != nil {
			delete(l.conns, victim)
			victim.Close() //nolint:errcheck // closing to make room; the server sees it end
			continue
		}
		l.freed.Wait()
	}
	l.mu.Unlock()
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.conns[c] = &connInfo{state: http.StateNew, since: time.Now()}
	l.mu.Unlock()
	return c, nil
}

// Close stops Accept, also one waiting for room.
func (l *connLimit) Close() error {
	l.mu.Lock()
	l.closed = true
	l.freed.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}

// track is the server's ConnState hook.
func (l *connLimit) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
		l.freed.Broadcast()
	default:
		if info := l.conns[c]; info != nil {
			info.state, info.since = s, time.Now()
		}
	}
}

func (l *connLimit) longestIdle() net.Conn {
	var victim net.Conn
	var since time.Time
	for c, info := range l.conns {
		if info.state != http.StateIdle && info.state != http.StateNew {
			continue
		}
		if victim == nil || info.since.Before(since) {
			victim, since = c, info.since
		}
	}
	return victim
}
