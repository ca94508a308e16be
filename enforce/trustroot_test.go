package enforce

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/trustroot"
	"github.com/signet-dev/signet/verify"
)

// fakeTUF stands for Sigstore's TUF repository (trustroot's tests run a
// real one over HTTP): it serves the current trusted_root.json, or fails.
type fakeTUF struct {
	mu   sync.Mutex
	root []byte
	err  error
}

func (f *fakeTUF) set(root []byte, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.root, f.err = root, err
}

func (f *fakeTUF) fetch(context.Context) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.root, f.err
}

// publicGoodWorld is a world whose policy trusts "public-good", served by
// tuf: at first the world's own Sigstore, whose signature the image has.
func publicGoodWorld(t *testing.T) (*testworld.World, *policy.Policy, string, *fakeTUF) {
	w := testworld.New(t, testworld.Options{Policy: strings.Replace(testworld.DefaultPolicy,
		"trustedRoot: trusted_root.json", "trustedRoot: public-good", 1)})
	d := w.Push("acme/app:1.0")
	w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	root, err := w.Sigstore.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	tuf := &fakeTUF{}
	tuf.set(root, nil)
	return w, p, d.String(), tuf
}

// rotated is another Sigstore's trusted root: after it, the world's
// Fulcio is no longer trusted.
func rotated(t *testing.T) []byte {
	b, err := sigstoretest.RotatedTrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCachedDecisionsFollowTheTrustedRoot: an allowed decision is cached
// for ten minutes, yet once the public-good root is refreshed to one that
// no longer trusts the image's Fulcio, the next admission verifies again
// under the new root and is denied.
func TestCachedDecisionsFollowTheTrustedRoot(t *testing.T) {
	_, p, image, tuf := publicGoodWorld(t)
	store := trustroot.NewStore(trustroot.NewRefresher(trustroot.Options{}).WithFetch(tuf.fetch))
	cache := NewCache(verify.New(verify.WithTrustedRoots(store)), CacheConfig{})
	ctx := context.Background()
	for range 2 {
		if d := cache.Decide(ctx, verify.Request{Image: image, Policy: p}); !d.Allowed {
			t.Fatalf("denied under the root that signed it: %v", d.Messages())
		}
	}
	if cache.Stats.Verifications.Load() != 1 {
		t.Fatalf("%d verifications, want the second admission from the cache", cache.Stats.Verifications.Load())
	}
	tuf.set(rotated(t), nil)
	if res := store.PublicGood().Refresh(ctx); !res.Changed() {
		t.Fatalf("refresh did not change the root: %+v", res)
	}
	d := cache.Decide(ctx, verify.Request{Image: image, Policy: p})
	if d.Allowed || cache.Stats.Verifications.Load() != 2 {
		t.Fatalf("after the rotation: allowed=%v after %d verifications; want a fresh verification that denies", d.Allowed, cache.Stats.Verifications.Load())
	}
}

// TestTrustedRootsRefreshInTheBackground: the webhook's refresher loads
// the root at start, picks up a rotation on its own, keeps the last good
// root while TUF is down, and its metrics say which root is in force and
// count the failure.
func TestTrustedRootsRefreshInTheBackground(t *testing.T) {
	_, p, _, tuf := publicGoodWorld(t)
	first, _ := tuf.fetch(context.Background())
	store := trustroot.NewStore(trustroot.NewRefresher(trustroot.Options{}).WithFetch(tuf.fetch))
	tr := &TrustedRoots{Store: store, Interval: 10 * time.Millisecond, Policy: func() *policy.Policy { return p }, Log: discardLog()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tr.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	pg := store.PublicGood()
	waitUntil(t, "the root loaded at start", func() bool { r := pg.Current(); return r != nil && r.Version == trustroot.Version(first) })

	next := rotated(t)
	tuf.set(next, nil)
	waitUntil(t, "the rotated root", func() bool { return pg.Current().Version == trustroot.Version(next) })

	tuf.set(nil, errors.New("tuf-repo-cdn.sigstore.dev: connection refused"))
	failures := pg.Failures.Load()
	waitUntil(t, "a failed refresh", func() bool { return pg.Failures.Load() > failures })
	if r := pg.Current(); r.Version != trustroot.Version(next) || r.Source != trustroot.SourceTUF {
		t.Fatalf("root in force %s from %s while TUF is down, want the last good one", r.Version, r.Source)
	}

	m := NewMetrics(nil, nil)
	m.RegisterTrustedRoots(tr)
	body := scrape(t, m)
	for _, want := range []string{
		`signet_trusted_root_info{root="public-good",source="tuf",version="` + trustroot.Version(next) + `"} 1`,
		`signet_trusted_root_fallbacks_total 0`,
		`signet_trusted_root_age_seconds{root="public-good"}`,
		`signet_trusted_root_last_refresh_timestamp_seconds{root="public-good"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "signet_trusted_root_refresh_failures_total 0") {
		t.Error("the failed refresh is not counted")
	}
	if t.Failed() {
		t.Log(body)
	}
}

// TestFallbackToTheEmbeddedSnapshotIsCounted: TUF down at start puts the
// embedded snapshot in force; the log says so with TUF's error, and the
// metrics count it.
func TestFallbackToTheEmbeddedSnapshotIsCounted(t *testing.T) {
	_, p, _, tuf := publicGoodWorld(t)
	tuf.set(nil, errors.New("no route to tuf-repo-cdn.sigstore.dev"))
	store := trustroot.NewStore(trustroot.NewRefresher(trustroot.Options{}).WithFetch(tuf.fetch))
	var logs strings.Builder
	tr := &TrustedRoots{Store: store, Interval: time.Hour, Policy: func() *policy.Policy { return p }, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the start-up refresh only
	tr.Run(ctx)
	if !strings.Contains(logs.String(), "embedded public-good snapshot") || !strings.Contains(logs.String(), "no route to tuf-repo-cdn.sigstore.dev") {
		t.Errorf("the fallback is not logged with its cause:\n%s", logs.String())
	}
	emb, _ := trustroot.Embedded()
	m := NewMetrics(nil, nil)
	m.RegisterTrustedRoots(tr)
	body := scrape(t, m)
	for _, want := range []string{
		`signet_trusted_root_info{root="public-good",source="embedded",version="` + emb.Version + `"} 1`,
		`signet_trusted_root_fallbacks_total 1`,
		`signet_trusted_root_last_refresh_timestamp_seconds{root="public-good"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s\n%s", want, body)
		}
	}
}

// waitUntil polls cond (the refresher works in the background) for up to
// ten seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestReloaderFollowsThePrivateTrustedRootFile: a policy naming a
// trusted_root.json is reloaded when that file changes (its digest is in
// the policy hash, so cached decisions follow); an unreadable or invalid
// new root is reported once and the last good policy stays.
func TestReloaderFollowsThePrivateTrustedRootFile(t *testing.T) {
	dir := t.TempDir()
	rootPath, policyPath := filepath.Join(dir, "root.json"), filepath.Join(dir, "trust.yaml")
	first := rotated(t)
	writeFile(t, rootPath, string(first))
	writeFile(t, policyPath, "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nsigstore: {trustedRoot: root.json}\nimages: [{match: ['**'], deny: no}]\n")
	r := &Reloader{PolicyPath: policyPath, Log: discardLog()}
	if err := r.Load(); err != nil {
		t.Fatal(err)
	}
	hash := r.Policy().Hash
	r.Check()
	if r.PolicyReloads.Load() != 0 {
		t.Fatal("an unchanged root counted as a reload")
	}
	next := rotated(t)
	writeFile(t, rootPath, string(next))
	r.Check()
	if r.PolicyReloads.Load() != 1 || r.Policy().Hash == hash || r.Policy().Sigstore.TrustedRootDigest != trustroot.Version(next) {
		t.Fatalf("new root not followed: reloads %d, digest %s", r.PolicyReloads.Load(), r.Policy().Sigstore.TrustedRootDigest)
	}
	hash = r.Policy().Hash
	os.Remove(rootPath)
	r.Check()
	r.Check()
	if r.PolicyFailures.Load() != 1 || r.Policy().Hash != hash {
		t.Fatalf("missing root: failures %d, policy changed %v", r.PolicyFailures.Load(), r.Policy().Hash != hash)
	}
}

// TestPrivateRootOnlyNeverContactsTUF: a cluster whose policy trusts only
// its own trusted_root.json never fetches the public-good root, however
// many refresh intervals pass.
func TestPrivateRootOnlyNeverContactsTUF(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	p, err := policy.LoadFile(w.PolicyPath) // trustedRoot: trusted_root.json
	if err != nil {
		t.Fatal(err)
	}
	var fetches, ticks atomic.Int64
	pg := trustroot.NewRefresher(trustroot.Options{}).WithFetch(func(context.Context) ([]byte, error) {
		fetches.Add(1)
		return nil, errors.New("unreachable")
	})
	tr := &TrustedRoots{Store: trustroot.NewStore(pg), Interval: time.Millisecond, Log: discardLog(),
		Policy: func() *policy.Policy { ticks.Add(1); return p }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tr.Run(ctx) }()
	waitUntil(t, "ten refresh intervals", func() bool { return ticks.Load() >= 10 || fetches.Load() > 0 })
	cancel()
	<-done
	if fetches.Load() != 0 {
		t.Fatalf("TUF was contacted %d times for a policy that does not use public-good", fetches.Load())
	}
}
