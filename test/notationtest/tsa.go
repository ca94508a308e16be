package notationtest

import (
	"crypto/x509"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/signet-dev/signet/test/sigstoretest"
)

// TSA is an RFC 3161 timestamp authority over HTTP on loopback (POST
// application/timestamp-query), the shape sigstore's timestamp-authority
// has (sigstoretest.TSA), its chain in every timestamp. Its clock can be set, so a test can obtain a
// timestamp from the time a now-expired certificate was valid.
type TSA struct {
	URL  string
	Root *x509.Certificate

	mu    sync.Mutex
	clock func() time.Time
}

// NewTSA starts a TSA whose certificates are valid from a week ago.
func NewTSA(t testing.TB) *TSA {
	t.Helper()
	a, err := sigstoretest.NewTSA(time.Now().Add(-7*24*time.Hour), time.Now().Add(10*365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	a.IncludeChain = true
	tsa := &TSA{Root: a.Root(), clock: time.Now}
	srv := httptest.NewServer(a.Handler(tsa.now))
	t.Cleanup(srv.Close)
	tsa.URL = srv.URL + "/timestamp"
	return tsa
}

// SetClock makes the TSA stamp the times clock returns.
func (a *TSA) SetClock(clock func() time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clock = clock
}

func (a *TSA) now() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.clock()
}
