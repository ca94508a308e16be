package verify_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// registryLog counts a world's registry requests and lets a test make the
// registry misbehave for some of them.
type registryLog struct {
	total, pings, sigReads atomic.Int64
	running, peakSigReads  atomic.Int64
	sigDelay               time.Duration
	misbehave              atomic.Value // func(http.ResponseWriter, *http.Request) bool
}

func (l *registryLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.total.Add(1)
		if r.URL.Path == "/v2/" {
			l.pings.Add(1)
		}
		if f, _ := l.misbehave.Load().(func(http.ResponseWriter, *http.Request) bool); f != nil && f(w, r) {
			return
		}
		if strings.HasSuffix(r.URL.Path, ".sig") && r.Method == http.MethodGet {
			l.sigReads.Add(1)
			n := l.running.Add(1)
			for p := l.peakSigReads.Load(); n > p && !l.peakSigReads.CompareAndSwap(p, n); p = l.peakSigReads.Load() {
			}
			defer l.running.Add(-1)
			time.Sleep(l.sigDelay) // the registry's latency, not synchronisation
		}
		h.ServeHTTP(w, r)
	})
}

func newLoggedWorld(t *testing.T, l *registryLog) (*testworld.World, *policy.Policy) {
	t.Helper()
	w := testworld.New(t, testworld.Options{Wrap: l.wrap})
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	return w, p
}

// TestPlatformsAllRefusesAWideIndexBeforeReadingChildren: an index listing
// more platforms than signet checks is denied with its count, without a
// request per child (an index of 10,000 once cost 60,000 requests).
func TestPlatformsAllRefusesAWideIndexBeforeReadingChildren(t *testing.T) {
	l := &registryLog{}
	w, p := newLoggedWorld(t, l)
	idx, _ := w.PushPlatforms("acme/multi/wide:1", verify.MaxPlatforms+8)
	w.Sign(idx, idx, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	before := l.total.Load()
	d := verify.New().Verify(context.Background(), w.Ref("acme/multi/wide:1"), p)
	want := "lists " + strconv.Itoa(verify.MaxPlatforms+8) + " platform manifests"
	if d.Allowed || !strings.Contains(strings.Join(d.Messages(), "\n"), want) || d.Transient {
		t.Fatalf("want a (cacheable) denial saying %q, got allowed=%v transient=%v %v", want, d.Allowed, d.Transient, d.Messages())
	}
	if n := l.total.Load() - before; n > 12 {
		t.Fatalf("%d registry requests for one wide index, want the index's own (no child read)", n)
	}
}

// TestPlatformsAllChecksChildrenInParallel: children are checked several at
// a time, never more than four.
func TestPlatformsAllChecksChildrenInParallel(t *testing.T) {
	l := &registryLog{sigDelay: 50 * time.Millisecond}
	w, p := newLoggedWorld(t, l)
	idx, children := w.PushPlatforms("acme/multi/eight:1", 8)
	s := w.GitHub("acme/app", "refs/heads/main")
	for _, d := range append([]name.Digest{idx}, children...) {
		w.Sign(d, d, s, ocisig.LayoutLegacy)
	}
	l.peakSigReads.Store(0)
	d := verify.New().Verify(context.Background(), w.Ref("acme/multi/eight:1"), p)
	if !d.Allowed || len(d.Platforms) != 8 {
		t.Fatalf("allowed=%v with %d platforms: %v", d.Allowed, len(d.Platforms), d.Messages())
	}
	if peak := l.peakSigReads.Load(); peak < 2 || peak > 4 {
		t.Fatalf("peak %d children read at once, want 2 to 4", peak)
	}
}

// TestColdVerificationPingsOnce: one verification sets up its registry
// session once, however many calls it makes (go-containerregistry pings
// and authenticates per call: 7 pings for an image signed and attested in
// both layouts).
func TestColdVerificationPingsOnce(t *testing.T) {
	l := &registryLog{}
	w, p := newLoggedWorld(t, l)
	d := w.Push("acme/prov/app:1")
	s := w.GitHub("acme/app", "refs/heads/main")
	for _, layout := range testworld.Layouts {
		w.Sign(d, d, s, layout)
		w.Attest(d, d, s, layout, policy.SLSAProvenanceV1, sigstoretest.SLSAv1GitHub(s.Identity()))
	}
	l.pings.Store(0)
	l.total.Store(0)
	dec := verify.New().Verify(context.Background(), w.Ref("acme/prov/app:1"), p)
	if !dec.Allowed {
		t.Fatalf("denied: %v", dec.Messages())
	}
	if n := l.pings.Load(); n != 1 {
		t.Fatalf("%d pings for one verification, want 1", n)
	}
	t.Logf("%d registry requests for one cold verification (tag, signature and attestation in both layouts)", l.total.Load())
}

// TestRegistryFailuresAreNamedAndBounded: what the registry did is in the
// denial, the denial is transient, and a redirect loop costs a bounded
// number of requests.
func TestRegistryFailuresAreNamedAndBounded(t *testing.T) {
	cases := []struct {
		name      string
		misbehave func(http.ResponseWriter, *http.Request) bool
		timeout   time.Duration
		reason    string
		maxReqs   int64
		status    int // the status the registry's failure carries, typed
	}{
		{name: "503 storm", reason: "answered 503 Service Unavailable 3 times", maxReqs: 20, status: 503,
			misbehave: func(w http.ResponseWriter, r *http.Request) bool {
				if strings.HasSuffix(r.URL.Path, ".sig") {
					http.Error(w, "busy", http.StatusServiceUnavailable)
					return true
				}
				return false
			}},
		{name: "redirect loop", reason: "stopped after 10 redirects", maxReqs: 60,
			misbehave: func(w http.ResponseWriter, r *http.Request) bool {
				if strings.Contains(r.URL.Path, "/manifests/sha256") {
					http.Redirect(w, r, r.URL.Path+"?again="+strconv.Itoa(len(r.URL.RawQuery)), http.StatusFound)
					return true
				}
				return false
			}},
		{name: "a hang cut by the caller's deadline", timeout: 500 * time.Millisecond, reason: "had not answered GET", maxReqs: 20,
			misbehave: func(w http.ResponseWriter, r *http.Request) bool {
				if strings.HasSuffix(r.URL.Path, ".sig") {
					<-r.Context().Done()
					return true
				}
				return false
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &registryLog{}
			w, p := newLoggedWorld(t, l)
			dg := w.Push("acme/app:1")
			w.Sign(dg, dg, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutLegacy)
			l.misbehave.Store(c.misbehave)
			l.total.Store(0)
			ctx := context.Background()
			if c.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.timeout)
				defer cancel()
			}
			d := verify.New().Verify(ctx, dg.String(), p)
			if d.Allowed || !d.Transient || !strings.Contains(strings.Join(d.Messages(), "\n"), c.reason) {
				t.Fatalf("want a transient denial saying %q, got allowed=%v transient=%v %v", c.reason, d.Allowed, d.Transient, d.Messages())
			}
			if n := l.total.Load(); n > c.maxReqs {
				t.Fatalf("%d registry requests, want at most %d", n, c.maxReqs)
			}
			if c.status != 0 && !hasRegistryFailure(d, w.Registry, c.status, 3) {
				t.Fatalf("no reason carries the registry's failure typed (host %s, status %d, 3 times): %+v", w.Registry, c.status, d.Reasons)
			}
		})
	}
}

// hasRegistryFailure reports whether a reason of d carries, typed, what
// the registry at host did: answered status count times.
func hasRegistryFailure(d *verify.Decision, host string, status, count int) bool {
	for _, r := range d.Reasons {
		if f := r.Registry; f != nil && f.Host == host && f.Status == status && f.Count == count {
			return true
		}
	}
	return false
}

// TestSessionAuthenticatesWithTheKeychain: a private registry is read with
// the Verifier's keychain (the session authenticates once per repository;
// go-containerregistry's own auth options play no part).
func TestSessionAuthenticatesWithTheKeychain(t *testing.T) {
	var private atomic.Bool
	w := testworld.New(t, testworld.Options{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); private.Load() && (!ok || u != "ci" || p != "s3cret") {
				rw.Header().Set("WWW-Authenticate", `Basic realm="private"`)
				http.Error(rw, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(rw, r)
		})
	}})
	p, _ := policy.LoadFile(w.PolicyPath)
	d := w.Push("acme/app:private")
	w.Sign(d, d, w.KeySigner(nil), ocisig.LayoutBundle)
	private.Store(true)
	if dec := verify.New().Verify(context.Background(), d.String(), p); dec.Allowed || !strings.Contains(strings.Join(dec.Messages(), " "), "UNAUTHORIZED") {
		t.Fatalf("without credentials: want UNAUTHORIZED, got allowed=%v %v", dec.Allowed, dec.Messages())
	}
	if dec := verify.New(verify.WithKeychain(staticKeychain{})).Verify(context.Background(), d.String(), p); !dec.Allowed {
		t.Fatalf("with the keychain: %v", dec.Messages())
	}
}

type staticKeychain struct{}

func (staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: "ci", Password: "s3cret"}, nil
}

// TestAbsentReferrersAPIIsRemembered: on a registry without the referrers
// API, the first verification learns it from the API's 404 and later ones
// read the referrers tag at once: one request fewer than the first besides
// its ping, and the bundles still found.
func TestAbsentReferrersAPIIsRemembered(t *testing.T) {
	var referrersCalls atomic.Int64
	l := &registryLog{}
	w := testworld.New(t, testworld.Options{NoReferrers: true, Wrap: func(h http.Handler) http.Handler {
		return l.wrap(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/referrers/") {
				referrersCalls.Add(1)
			}
			h.ServeHTTP(rw, r)
		}))
	}})
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	d := w.Push("acme/app:1")
	w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	referrersCalls.Store(0)
	v := verify.New()
	var requests []int64
	for range 3 {
		before := l.total.Load()
		if dec := v.Verify(context.Background(), d.String(), p); !dec.Allowed {
			t.Fatalf("denied: %v", dec.Messages())
		}
		requests = append(requests, l.total.Load()-before)
	}
	if n := referrersCalls.Load(); n != 1 {
		t.Fatalf("the referrers API was asked %d times, want once (its 404 is remembered)", n)
	}
	if requests[1] != requests[0]-2 || requests[2] != requests[1] {
		t.Fatalf("requests per verification %v, want two fewer after the first (its ping and the API's 404)", requests)
	}
}
