package testworld

import (
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Counter counts what clients cost a registry: requests by kind and TCP
// connections accepted. Pass it as Options.Counter; it sits in front of
// the registry handler and on the server's connection state, so it sees
// every request and every accept whatever the client does.
type Counter struct {
	mu    sync.Mutex
	kinds map[string]int
	conns int
}

// Request kinds, as Counter.Kind names them.
const (
	KindPing      = "ping"      // GET /v2/
	KindToken     = "token"     // a token endpoint
	KindManifest  = "manifest"  // GET or HEAD /v2/<repo>/manifests/<ref>
	KindBlob      = "blob"      // GET /v2/<repo>/blobs/<digest>
	KindReferrers = "referrers" // GET /v2/<repo>/referrers/<digest>
	KindOther     = "other"
)

// Kind classifies a registry request.
func Kind(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		return KindPing
	case strings.Contains(p, "/token"):
		return KindToken
	case strings.Contains(p, "/manifests/"):
		return KindManifest
	case strings.Contains(p, "/blobs/"):
		return KindBlob
	case strings.Contains(p, "/referrers/"):
		return KindReferrers
	}
	return KindOther
}

func (c *Counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		if c.kinds == nil {
			c.kinds = map[string]int{}
		}
		c.kinds[Kind(r)]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *Counter) connState(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		c.mu.Lock()
		c.conns++
		c.mu.Unlock()
	}
}

// Reset zeroes the counts.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kinds, c.conns = map[string]int{}, 0
}

// Requests is the number of requests of the given kinds (all kinds when
// none is given).
func (c *Counter) Requests(kinds ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.kinds {
		if len(kinds) == 0 || slices.Contains(kinds, k) {
			n += v
		}
	}
	return n
}

// Conns is the number of TCP connections the registry accepted.
func (c *Counter) Conns() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conns
}

// Counts is a copy of the requests by kind.
func (c *Counter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.kinds)
}
