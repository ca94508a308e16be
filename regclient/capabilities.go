package regclient

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// NoReferrersMemory is how long a registry that answered 404 to the OCI
// referrers API is taken to lack it: its referrers are then read from the
// sha256-<hex> fallback tag at once (Client.ReferrersAPI), saving a
// request and a round trip per verification. The API is asked again after
// it, so a registry upgraded to serve it is followed within that time.
const NoReferrersMemory = 10 * time.Minute

// capabilities is what a Client learnt about registries from their answers.
type capabilities struct {
	mu          sync.Mutex
	noReferrers map[string]time.Time // host -> when it last answered 404
}

// observe learns from a response to r.
func (c *capabilities) observe(r *http.Request, resp *http.Response) {
	if resp.StatusCode != http.StatusNotFound || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/referrers/") {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noReferrers == nil || len(c.noReferrers) >= maxEntries {
		c.noReferrers = map[string]time.Time{} // bounded: a host forgotten is asked again
	}
	c.noReferrers[r.URL.Host] = time.Now()
}

func (c *capabilities) referrersAPI(host string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.noReferrers[host]
	return !ok || time.Since(at) >= NoReferrersMemory
}

// ReferrersAPI reports whether host may serve the OCI referrers API: false
// when it answered 404 to it within NoReferrersMemory.
func (c *Client) ReferrersAPI(host string) bool { return c.rt.caps.referrersAPI(host) }
