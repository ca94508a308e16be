package enforce

import (
	"context"
	"crypto/tls"
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

// connLimit is a listener that keeps at most max connections open, and at
// most perClient per remote IP that have not authenticated with a client
// certificate. When one more arrives at a bound it closes the connection
// that has made no progress the longest, in this order: one that has not
// authenticated before one that has; among them, the one whose last step
// (accepted, went idle, started a request) is oldest. A connection whose
// request has been read in full is doing the apiserver's work and is
// never closed. So idle clients cannot exhaust the process's file
// descriptors, and clients that send their requests slowly (a body
// trickling in) are evicted before a legitimate request waits; one client
// cannot take more than its share; and with client certificates required
// (--client-ca-file) no unauthenticated client can displace the
// apiserver's connections. When every connection is busy, the new one waits
// for one to close (each busy one ends within the server's write timeout),
// while the kernel's backlog holds those behind it.
type connLimit struct {
	net.Listener
	max, perClient int

	mu     sync.Mutex
	freed  *sync.Cond
	conns  map[net.Conn]*connInfo
	closed bool
}

type connInfo struct {
	state  http.ConnState
	client string // remote IP
	// authenticated: its TLS handshake verified a client certificate.
	authenticated bool
	// read: active, and its request is read in full.
	read bool
	// since is when it last made progress.
	since time.Time
}

// busy reports whether the connection is doing work: never evicted.
func (c *connInfo) busy() bool { return c.state == http.StateActive && c.read }

// limitConns limits l to total connections, perClient per remote IP
// (default a quarter of total).
func limitConns(l net.Listener, total, perClient int) *connLimit {
	total = orDefault(total, DefaultMaxConnections)
	perClient = orDefault(perClient, max(1, total/4))
	c := &connLimit{Listener: l, max: total, perClient: perClient, conns: map[net.Conn]*connInfo{}}
	c.freed = sync.NewCond(&c.mu)
	return c
}

func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.admit(c) {
			return c, nil
		}
		c.Close() //nolint:errcheck // over its client's share with nothing to give up, or closing
	}
}

// admit tracks c once there is room: within its client's share, and within
// the bound (closing the stalest connection, or waiting for a busy one to
// end). False when the client's connections are all busy, or the listener
// closed meanwhile. A new connection is never its own victim, and nothing
// is closed before one arrives.
func (l *connLimit) admit(c net.Conn) bool {
	client := remoteIP(c)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unauthenticated(client) >= l.perClient {
		victim := l.stalest(client)
		if victim == nil {
			return false
		}
		l.evict(victim)
	}
	for len(l.conns) >= l.max {
		if l.closed {
			return false
		}
		if victim := l.stalest(""); victim != nil {
			l.evict(victim)
			continue
		}
		l.freed.Wait()
	}
	l.conns[c] = &connInfo{state: http.StateNew, client: client, since: time.Now()}
	return true
}

// unauthenticated counts client's connections without a client certificate.
func (l *connLimit) unauthenticated(client string) int {
	n := 0
	for _, info := range l.conns {
		if info.client == client && !info.authenticated {
			n++
		}
	}
	return n
}

// stalest is the connection to close first (see connLimit), or nil when
// all are busy. With client set, only that client's unauthenticated ones
// are candidates.
func (l *connLimit) stalest(client string) net.Conn {
	var victim net.Conn
	var vi *connInfo
	for c, info := range l.conns {
		if info.busy() || client != "" && (info.client != client || info.authenticated) {
			continue
		}
		if vi == nil || before(info, vi) {
			victim, vi = c, info
		}
	}
	return victim
}

// before orders eviction candidates: unauthenticated first, then oldest.
func before(a, b *connInfo) bool {
	if a.authenticated != b.authenticated {
		return !a.authenticated
	}
	return a.since.Before(b.since)
}

func (l *connLimit) evict(c net.Conn) {
	delete(l.conns, c)
	c.Close() //nolint:errcheck // closing to make room; the server sees it end
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
	auth := s == http.StateActive && verifiedClient(c) // the handshake is done by now
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
		l.freed.Broadcast()
	default:
		if info := l.conns[c]; info != nil {
			info.state, info.since, info.read = s, time.Now(), false
			info.authenticated = info.authenticated || auth
		}
	}
}

// markRead marks c's current request as read in full: c is busy.
func (l *connLimit) markRead(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if info := l.conns[c]; info != nil && info.state == http.StateActive {
		info.read, info.since = true, time.Now()
	}
}

type requestReadKey struct{}

// connContext is the server's ConnContext hook: it lets the webhook say
// when a request on c has been read (requestRead).
func (l *connLimit) connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, requestReadKey{}, func() { l.markRead(c) })
}

// requestRead tells the connection limit, if the request of ctx came
// through one, that the request is read in full: its connection is now
// doing work and is not evicted.
func requestRead(ctx context.Context) {
	if f, ok := ctx.Value(requestReadKey{}).(func()); ok {
		f()
	}
}

func verifiedClient(c net.Conn) bool {
	tc, ok := c.(*tls.Conn)
	return ok && len(tc.ConnectionState().VerifiedChains) > 0
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}
