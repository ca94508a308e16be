package enforce

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// productionCache is the cache as cmd/enforce wires it: the registry
// transport with a per-registry Limiter of perHost slots, and a shared
// verification bounded at three admission deadlines.
func productionCache(perHost int) (*Cache, *regclient.Limiter) {
	l := regclient.NewLimiter(perHost)
	registry := regclient.New(regclient.WithGate(l))
	return NewCache(verify.New(verify.WithRegistry(registry)), CacheConfig{VerifyTimeout: 24 * time.Second}), l
}

// latency delays registry requests whose path contains key, once on.
type latency struct {
	delay time.Duration
	key   string
	on    atomic.Bool
}

func (l *latency) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.on.Load() && strings.Contains(r.URL.Path, l.key) {
			time.Sleep(l.delay) // the registry's latency, not synchronisation
		}
		h.ServeHTTP(w, r)
	})
}

func signedPod(t *testing.T, w *testworld.World, prefix string, n int) []string {
	t.Helper()
	var imgs []string
	for i := range n {
		tag := fmt.Sprintf("acme/%s%d:1.0", prefix, i)
		d := w.Push(tag)
		w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
		imgs = append(imgs, w.Ref(tag))
	}
	return imgs
}

// TestColdPodIsNeverDeadlockedBySlots: on a registry without the referrers
// API (distribution's case: the listing answers 404 and the fallback tag is
// read next) whose listing is slow, every verification needs a second
// request right after the first. When a slot stayed held by an unclosed
// body, a pod of more new images than slots waited out its deadline, and
// with one slot even a single image did. A slot now only lives inside one
// request, so the pod is decided with the default concurrency, and with
// one slot per registry.
func TestColdPodIsNeverDeadlockedBySlots(t *testing.T) {
	for _, tc := range []struct {
		name    string
		perHost int
		images  int
	}{
		{"50 new images with the default --registry-concurrency", regclient.DefaultHostConcurrency, 50},
		{"5 new images with one slot per registry", 1, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slow := &latency{delay: 200 * time.Millisecond, key: "/referrers/"}
			w := testworld.New(t, testworld.Options{Policy: enforcePolicy, NoReferrers: true, Wrap: slow.wrap})
			imgs := signedPod(t, w, "cold", tc.images)
			slow.on.Store(true)
			p, _ := policy.LoadFile(w.PolicyPath)
			cache, l := productionCache(tc.perHost)
			h := &Handler{Decider: cache, Policy: func() *policy.Policy { return p }}
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			resp := h.Mutate(ctx, request(t, "Pod", "prod", pod(podSpec(nil, imgs)), admissionv1.Create, ""))
			if !resp.Allowed {
				t.Fatalf("pod of %d new signed images denied: %s", tc.images, resp.Result.Message)
			}
			if n := l.InUse(w.Registry); n != 0 {
				t.Fatalf("%d slots still held after the pod was decided", n)
			}
		})
	}
}

// TestRegistryHealsAfterA503Storm: admissions during a 503 storm are denied
// naming the registry's answer (transient, not cached); once it heals, the
// next admission is allowed at once. go-containerregistry's retries used to
// keep one slot per retried failure, so after a storm every admission from
// that registry waited for a slot until restart.
func TestRegistryHealsAfterA503Storm(t *testing.T) {
	var storm atomic.Bool
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy, Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if storm.Load() && r.URL.Path != "/v2/" {
				http.Error(rw, `{"errors":[{"code":"UNAVAILABLE","message":"storm"}]}`, http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(rw, r)
		})
	}})
	imgs := signedPod(t, w, "storm", 12)
	p, _ := policy.LoadFile(w.PolicyPath)
	cache, l := productionCache(8)
	h := &Handler{Decider: cache, Policy: func() *policy.Policy { return p }}
	storm.Store(true)
	var wg sync.WaitGroup
	for _, img := range imgs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			resp := h.Mutate(ctx, request(t, "Pod", "prod", pod(podSpec(nil, []string{img})), admissionv1.Create, ""))
			if resp.Allowed || !strings.Contains(resp.Result.Message, "answered 503 Service Unavailable") {
				t.Errorf("during the storm: want a denial naming the 503s, got %+v", resp.Result)
			}
		})
	}
	wg.Wait()
	storm.Store(false)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp := h.Mutate(ctx, request(t, "Pod", "prod", pod(podSpec(nil, imgs[:1])), admissionv1.Create, ""))
	if !resp.Allowed {
		t.Fatalf("after the storm healed: %s (%d slots in use)", resp.Result.Message, l.InUse(w.Registry))
	}
	t.Logf("allowed %s after the registry healed", time.Since(start).Round(time.Millisecond))
}

// TestDeadlineDenialNamesTheRegistry: when the admission deadline ends the
// wait, the denial still says what the registry did, and is not cached.
// "503": the registry answers 503 once, then stops answering; "hang": it
// never answers.
func TestDeadlineDenialNamesTheRegistry(t *testing.T) {
	var mode atomic.Value
	mode.Store("")
	var answered503 atomic.Bool
	var release atomic.Value // chan struct{}: closed when the subtest heals the registry
	release.Store(make(chan struct{}))
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy, Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			switch m := mode.Load().(string); {
			case m == "503" && strings.HasSuffix(r.URL.Path, ".sig") && answered503.CompareAndSwap(false, true):
				http.Error(rw, "busy", http.StatusServiceUnavailable)
				return
			case m != "" && strings.HasSuffix(r.URL.Path, ".sig"):
				select {
				case <-r.Context().Done():
				case <-release.Load().(chan struct{}):
				}
				return
			}
			h.ServeHTTP(rw, r)
		})
	}})
	imgs := signedPod(t, w, "named", 2)
	p, _ := policy.LoadFile(w.PolicyPath)
	for i, tc := range []struct{ mode, cause string }{
		{"503", "answered 503 Service Unavailable"},
		{"hang", "had not answered GET /v2/acme/named"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cache, _ := productionCache(8)
			h := &Handler{Decider: cache, Policy: func() *policy.Policy { return p }}
			mode.Store(tc.mode)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			start := time.Now()
			resp := h.Mutate(ctx, request(t, "Pod", "prod", pod(podSpec(nil, imgs[i:i+1])), admissionv1.Create, ""))
			if resp.Allowed || !strings.Contains(resp.Result.Message, "within the admission deadline") || !strings.Contains(resp.Result.Message, tc.cause) {
				t.Fatalf("want a deadline denial naming %q, got %+v", tc.cause, resp.Result)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Fatalf("answered after %s", el)
			}
			mode.Store("")
			close(release.Load().(chan struct{}))
			defer release.Store(make(chan struct{}))
			waitUntil(t, "the shared verification to end", func() bool { return cache.Store.work.inFlight() == 0 })
			if !h.Mutate(context.Background(), request(t, "Pod", "prod", pod(podSpec(nil, imgs[i:i+1])), admissionv1.Create, "")).Allowed {
				t.Fatal("the registry failure was cached")
			}
		})
	}
}

// TestSlowRegistryFinishesSomeAdmissions: a burst needing about twice the
// deadline's worth of registry time. Served in arrival order, every
// verification advances a little and none finishes; served oldest
// verification first, the first ones finish inside the deadline.
func TestSlowRegistryFinishesSomeAdmissions(t *testing.T) {
	slow := &latency{delay: 150 * time.Millisecond, key: "/"}
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy, Wrap: slow.wrap})
	imgs := signedPod(t, w, "slow", 24)
	slow.on.Store(true)
	t.Cleanup(func() { slow.on.Store(false) }) // the shared verifications finish fast
	p, _ := policy.LoadFile(w.PolicyPath)
	cache, _ := productionCache(4)
	h := &Handler{Decider: cache, Policy: func() *policy.Policy { return p }}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for _, img := range imgs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			if h.Mutate(ctx, request(t, "Pod", "prod", pod(podSpec(nil, []string{img})), admissionv1.Create, "")).Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n < 3 {
		t.Fatalf("%d of %d admissions finished inside the deadline, want at least 3", n, len(imgs))
	}
	t.Logf("%d of %d admissions decided inside the deadline", allowed.Load(), len(imgs))
}

// TestCachedImageNeverWaitsForASlot: while every slot of a registry is held
// by a request it never answers, an image already decided is admitted at
// once, by digest and by a tag whose resolution is fresh: neither needs the
// registry.
func TestCachedImageNeverWaitsForASlot(t *testing.T) {
	var hang atomic.Bool
	release := make(chan struct{})
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy, Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if hang.Load() {
				select {
				case <-r.Context().Done():
				case <-release:
				}
				return
			}
			h.ServeHTTP(rw, r)
		})
	}})
	t.Cleanup(func() { close(release) })
	imgs := signedPod(t, w, "warm", 2)
	p, _ := policy.LoadFile(w.PolicyPath)
	cache, l := productionCache(1)
	h := &Handler{Decider: cache, Policy: func() *policy.Policy { return p }}
	admit := func(img string, timeout time.Duration) *admissionv1.AdmissionResponse {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return h.Mutate(ctx, request(t, "Pod", "prod", pod(podSpec(nil, []string{img})), admissionv1.Create, ""))
	}
	first := admit(imgs[0], 5*time.Second)
	if !first.Allowed {
		t.Fatalf("warming the cache: %s", first.Result.Message)
	}
	pinned := cache.Decide(context.Background(), verify.Request{Image: imgs[0], Policy: p}).Pinned
	hang.Store(true)
	go admit(imgs[1], 10*time.Second) // holds the only slot, then queues behind it
	waitUntil(t, "the registry's only slot to be held", func() bool { return l.InUse(w.Registry) == 1 })
	for _, img := range []string{imgs[0], pinned} {
		if resp := admit(img, 300*time.Millisecond); !resp.Allowed {
			t.Fatalf("%s waited for the registry: %s", img, resp.Result.Message)
		}
	}
}
