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
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// sigCounter counts reads of the signature tag: one per verification.
type sigCounter struct{ n atomic.Int64 }

func (c *sigCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/sha256-") && strings.HasSuffix(r.URL.Path, ".sig") {
			c.n.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// TestConcurrentAdmissionsShareOneVerification: 200 concurrent admissions
// of pods naming one new image cause exactly one verification, counted at
// the registry.
func TestConcurrentAdmissionsShareOneVerification(t *testing.T) {
	var count sigCounter
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy, Wrap: count.wrap})
	d := w.Push("acme/app:1.0")
	w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	cache := NewCache(verify.New(), CacheConfig{})
	h := &Handler{Decider: cache, Policy: func() *policy.Policy { return p }}
	req := request(t, "Pod", "prod", pod(podSpec(nil, []string{w.Ref("acme/app:1.0")})), admissionv1.Create, "")
	var wg sync.WaitGroup
	var denied atomic.Int64
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !h.Mutate(context.Background(), req).Allowed {
				denied.Add(1)
			}
		}()
	}
	wg.Wait()
	if denied.Load() != 0 {
		t.Fatalf("%d admissions denied", denied.Load())
	}
	if got := count.n.Load(); got != 1 {
		t.Fatalf("registry served the signature tag %d times, want exactly 1", got)
	}
	if v := cache.Stats.Verifications.Load(); v != 1 {
		t.Fatalf("%d verifications, want 1", v)
	}
}

// TestCacheKeysByDigestNotTag: when a tag moves to an unsigned digest, the
// cached allow for the old digest is not reused once the tag entry expires.
func TestCacheKeysByDigestNotTag(t *testing.T) {
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy})
	d := w.Push("acme/app:moving")
	w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	p, _ := policy.LoadFile(w.PolicyPath)
	now := time.Now()
	clock := func() time.Time { return now }
	cache := NewCache(verify.New(), CacheConfig{TagTTL: time.Second, Now: clock})
	img := w.Ref("acme/app:moving")
	if dec := cache.Decide(context.Background(), verify.Request{Image: img, Policy: p}); !dec.Allowed {
		t.Fatalf("signed tag denied: %v", dec.Messages())
	}
	w.Push("acme/app:moving")
	now = now.Add(2 * time.Second) // the tag resolution expires; the decision for the old digest does not
	dec := cache.Decide(context.Background(), verify.Request{Image: img, Policy: p})
	if dec.Allowed || dec.Digest == d.DigestStr() {
		t.Fatalf("moved tag must be re-resolved and denied, got allowed=%v digest=%s", dec.Allowed, dec.Digest)
	}
}

// TestPolicyChangeMissesTheCache: a new policy hash never reuses decisions
// made under the old one.
func TestPolicyChangeMissesTheCache(t *testing.T) {
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy})
	d := w.Push("acme/app:1")
	w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	p1, _ := policy.LoadFile(w.PolicyPath)
	w.SetPolicy(strings.Replace(enforcePolicy, "refs: [refs/heads/main]", "refs: [refs/tags/v*]", 1))
	p2, _ := policy.LoadFile(w.PolicyPath)
	cache := NewCache(verify.New(), CacheConfig{})
	if !cache.Decide(context.Background(), verify.Request{Image: d.String(), Policy: p1}).Allowed {
		t.Fatal("allowed under p1 expected")
	}
	if cache.Decide(context.Background(), verify.Request{Image: d.String(), Policy: p2}).Allowed {
		t.Fatal("p2 requires a tag ref: the cached p1 allow must not be reused")
	}
}

// TestHangingRegistryDeniesWithinDeadline: a registry that never answers
// yields a deny with a reason inside the admission deadline.
func TestHangingRegistryDeniesWithinDeadline(t *testing.T) {
	release := make(chan struct{})
	hang := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") && hangOn.Load() {
				<-release
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy, Wrap: hang})
	// Registered after the world, so it runs first: hung handlers return
	// before the registry server waits for them to finish.
	t.Cleanup(func() { close(release) })
	w.Push("acme/app:1")
	p, _ := policy.LoadFile(w.PolicyPath)
	hangOn.Store(true)
	t.Cleanup(func() { hangOn.Store(false) })
	h := &Handler{Decider: NewCache(verify.New(), CacheConfig{}), Policy: func() *policy.Policy { return p }}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	resp := h.Mutate(ctx, request(t, "Pod", "prod", pod(podSpec(nil, []string{w.Ref("acme/app:1")})), admissionv1.Create, ""))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "within the admission deadline") {
		t.Fatalf("want a deadline denial, got %+v", resp.Result)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("answered after %s, past the deadline", el)
	}
}

var hangOn atomic.Bool

// TestRegistryFailuresAreNotCached: a denial caused by the registry (here:
// no credentials) is not reused for the next request, which may have them.
func TestRegistryFailuresAreNotCached(t *testing.T) {
	var fail atomic.Bool
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy, Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if fail.Load() && strings.Contains(r.URL.Path, ".sig") {
				http.Error(rw, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(rw, r)
		})
	}})
	d := w.Push("acme/app:1")
	w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	p, _ := policy.LoadFile(w.PolicyPath)
	cache := NewCache(verify.New(), CacheConfig{})
	fail.Store(true)
	if dec := cache.Decide(context.Background(), verify.Request{Image: d.String(), Policy: p}); dec.Allowed || !dec.Transient {
		t.Fatalf("want a transient denial, got allowed=%v transient=%v %v", dec.Allowed, dec.Transient, dec.Messages())
	}
	fail.Store(false)
	if dec := cache.Decide(context.Background(), verify.Request{Image: d.String(), Policy: p}); !dec.Allowed {
		t.Fatalf("the registry failure was cached: %v", dec.Messages())
	}
}

// TestUnrelatedEditKeepsCachedDecisions: decisions are kept by the
// governing rule's meaning, not by the whole policy's hash. An edit
// elsewhere in the trust file (another rule's message, a rule inserted
// before, a namespace list) reuses the cached decision, presented under the
// new policy's hash and the rule's new position; an edit that changes what
// the rule decides in (the policy's mode) verifies again, in that mode.
func TestUnrelatedEditKeepsCachedDecisions(t *testing.T) {
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy})
	signed := w.Push("acme/app:1")
	w.Sign(signed, signed, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	unsigned := w.Push("acme/app:2")
	load := func(src string) *policy.Policy {
		t.Helper()
		w.SetPolicy(src)
		p, err := policy.LoadFile(w.PolicyPath)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1 := load(enforcePolicy)
	edited := strings.NewReplacer("deny: only approved registries", "deny: only approved registries (ask platform)",
		"audit: [dev]", "audit: [dev, staging]",
		"images:\n", "images:\n  - {name: tools, match: [REGISTRY/tools/**], signature: optional}\n").Replace(enforcePolicy)
	p2 := load(edited)
	p3 := load(strings.Replace(edited, "enforcement:\n", "enforcement:\n  mode: audit\n", 1))
	if p1.Hash == p2.Hash || p2.Hash == p3.Hash {
		t.Fatal("the edits must change the policy hash")
	}
	cache := NewCache(verify.New(), CacheConfig{})
	ctx := context.Background()
	for _, img := range []string{signed.String(), unsigned.String()} {
		cache.Decide(ctx, verify.Request{Image: img, Policy: p1})
	}
	if n := cache.Stats.Verifications.Load(); n != 2 {
		t.Fatalf("%d verifications under p1, want 2", n)
	}

	d := cache.Decide(ctx, verify.Request{Image: signed.String(), Policy: p2})
	if n := cache.Stats.Verifications.Load(); n != 2 {
		t.Fatalf("an edit outside the governing rule verified again (%d verifications): decisions must be kept by the rule's hash, not the policy's", n)
	}
	if !d.Allowed || d.PolicyHash != p2.Hash || d.Rule.Index != 1 {
		t.Fatalf("the kept decision must be presented under the current policy: allowed=%v policy %s (want %s) rule index %d (want 1)",
			d.Allowed, d.PolicyHash, p2.Hash, d.Rule.Index)
	}
	if d := cache.Decide(ctx, verify.Request{Image: unsigned.String(), Policy: p2}); d.Allowed || !d.Has(verify.CodeNoSignature) {
		t.Fatalf("the kept denial must still deny for no signature: allowed=%v %v", d.Allowed, d.Messages())
	}

	d = cache.Decide(ctx, verify.Request{Image: unsigned.String(), Policy: p3})
	if n := cache.Stats.Verifications.Load(); n != 3 {
		t.Fatalf("a new mode for the rule must verify again, got %d verifications", n)
	}
	if !d.Allowed || d.Mode != policy.ModeAudit || !d.Has(verify.CodeNoSignature) || d.PolicyHash != p3.Hash {
		t.Fatalf("audit mode admits the unsigned image and reports it: allowed=%v mode %s %v", d.Allowed, d.Mode, d.Messages())
	}
}

// TestDecisionExpiresWithItsAttestation: an allow that rests on an
// attestation's maxAge is kept only until that attestation becomes too
// old, however long the cache keeps allows.
func TestDecisionExpiresWithItsAttestation(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	d := w.Push("acme/attested/app:1")
	s := w.GitHub("acme/app", "refs/heads/main")
	w.Sign(d, d, s, ocisig.LayoutBundle)
	w.Attest(d, d, s, ocisig.LayoutBundle, policy.PredicateCycloneDX, testworld.CycloneDXBOM("openssl"))
	scanned := time.Now().Add(-50 * time.Minute) // the rule accepts scans younger than 1h
	w.Attest(d, d, w.GitHub("acme/app", "refs/heads/main", sigstoretest.WithSigningTime(scanned)), ocisig.LayoutBundle,
		policy.PredicateVuln, testworld.TrivyScan())
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cache := NewCache(verify.New(), CacheConfig{PositiveTTL: 24 * time.Hour, Now: func() time.Time { return now }})
	first := cache.Decide(context.Background(), verify.Request{Image: d.String(), Policy: p})
	if !first.Allowed || first.ValidUntil == nil || first.ValidUntil.Sub(scanned.Add(time.Hour)).Abs() > time.Second {
		t.Fatalf("allowed=%v validUntil=%v, want allowed until %v: %v", first.Allowed, first.ValidUntil, scanned.Add(time.Hour), first.Messages())
	}
	now = now.Add(9 * time.Minute)
	cache.Decide(context.Background(), verify.Request{Image: d.String(), Policy: p})
	if n := cache.Stats.Verifications.Load(); n != 1 {
		t.Fatalf("%d verifications while the scan is young, want 1 (kept)", n)
	}
	now = now.Add(2 * time.Minute) // the scan is now older than 1h
	cache.Decide(context.Background(), verify.Request{Image: d.String(), Policy: p})
	if n := cache.Stats.Verifications.Load(); n != 2 {
		t.Fatalf("%d verifications after the scan became too old, want 2 (the kept allow expired with it)", n)
	}
}
