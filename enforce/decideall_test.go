package enforce

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// repoBarrier holds every registry request until each of n repositories
// has been asked something: a pod's images pass it only if they are
// verified at the same time. When a request has waited patience, the
// barrier is broken and lets everything through, so a test of images
// decided one after another fails after one wait, with its reason.
type repoBarrier struct {
	armed    atomic.Bool // set once the registry holds what the test needs
	n        int
	patience time.Duration
	mu       sync.Mutex
	seen     map[string]bool
	all      chan struct{}
	broken   chan struct{}
	once     sync.Once
}

func newRepoBarrier(n int, patience time.Duration) *repoBarrier {
	return &repoBarrier{n: n, patience: patience, seen: map[string]bool{}, all: make(chan struct{}), broken: make(chan struct{})}
}

func (b *repoBarrier) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if repo := requestRepository(r.URL.Path); repo != "" && b.armed.Load() {
			b.mu.Lock()
			if !b.seen[repo] && !b.isBroken() {
				b.seen[repo] = true
				if len(b.seen) == b.n {
					close(b.all)
				}
			}
			b.mu.Unlock()
			select {
			case <-b.all:
			case <-b.broken:
			case <-time.After(b.patience):
				b.once.Do(func() { close(b.broken) }) // waited once: let everything through
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (b *repoBarrier) isBroken() bool { return isClosed(b.broken) }

// reached says whether all n repositories were asked while none had been
// answered.
func (b *repoBarrier) reached() bool { return isClosed(b.all) }

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// requestRepository is the repository of a registry API path
// (/v2/<repo>/manifests/..., blobs, referrers), or "".
func requestRepository(path string) string {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return ""
	}
	for _, kind := range []string{"/manifests/", "/blobs/", "/referrers/"} {
		if repo, _, ok := strings.Cut(rest, kind); ok {
			return repo
		}
	}
	return ""
}

// TestAPodsImagesAreVerifiedTogether: the images of one pod that must be
// verified are verified at the same time, so a pod's latency is its
// slowest image's, not the sum (decideAll hands the rest to goroutines as
// soon as one image waits for the registry). The registry holds each
// request until all three repositories were asked: decided one after
// another, the first would wait out the barrier's patience alone.
func TestAPodsImagesAreVerifiedTogether(t *testing.T) {
	b := newRepoBarrier(3, 10*time.Second)
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy, Wrap: b.wrap})
	var images []string
	for _, repo := range []string{"acme/one", "acme/two", "acme/three"} {
		d := w.Push(repo + ":1.0")
		w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
		images = append(images, w.Ref(repo+":1.0"))
	}
	b.armed.Store(true)
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	cache := NewCache(verify.New(), CacheConfig{})
	h := &Handler{Decider: cache, Policy: func() *policy.Policy { return p }}
	req := request(t, "Pod", "prod", pod(podSpec(nil, images)), admissionv1.Create, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if resp := h.Mutate(ctx, req); !resp.Allowed {
		t.Fatalf("denied: %v", resp.Result)
	}
	if !b.reached() {
		t.Fatal("the pod's three images were not verified at the same time: the registry saw one repository at a time")
	}
	// Cached now: decided in the handler's goroutine, one after another,
	// without another verification.
	before := cache.Stats.Verifications.Load()
	if resp := h.Mutate(ctx, req); !resp.Allowed || cache.Stats.Verifications.Load() != before {
		t.Fatalf("cached pod: allowed %v, verifications %d -> %d", resp.Allowed, before, cache.Stats.Verifications.Load())
	}
}
