package trustroot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
)

// rotatedRoot is a valid trusted_root.json other than the embedded one:
// what Sigstore publishes after a key rotation.
func rotatedRoot(t *testing.T) []byte {
	t.Helper()
	b, err := sigstoretest.RotatedTrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func refresherFor(t *testing.T, repo *tufRepo) *Refresher {
	return NewRefresher(Options{Mirror: repo.URL, TUFRoot: repo.RootJSON(), CacheDir: t.TempDir(),
		RequestTimeout: 2 * time.Second, Attempts: 1, Timeout: 10 * time.Second})
}

// TestRefreshPicksUpARotatedRoot: a running process that refreshes gets
// the trusted root Sigstore publishes next, through a real TUF repository
// over HTTP, and says the root changed.
func TestRefreshPicksUpARotatedRoot(t *testing.T) {
	repo := newTUFRepo(t)
	repo.Publish("trusted_root.json", embeddedPublicGood)
	r := refresherFor(t, repo)
	first, err := r.Root(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first.Source != SourceTUF || first.Version != Version(embeddedPublicGood) {
		t.Fatalf("first root %s from %s, want %s from TUF", first.Version, first.Source, Version(embeddedPublicGood))
	}
	rotated := rotatedRoot(t)
	repo.Publish("trusted_root.json", rotated)
	res := r.Refresh(context.Background())
	if res.Err != nil || !res.Changed() {
		t.Fatalf("refresh: changed=%v, err %v", res.Changed(), res.Err)
	}
	if got, _ := r.Root(context.Background()); got.Version != Version(rotated) || got.Source != SourceTUF {
		t.Fatalf("root in force %s from %s, want the rotated %s from TUF", got.Version, got.Source, Version(rotated))
	}
	if again := r.Refresh(context.Background()); again.Changed() || again.Err != nil {
		t.Fatalf("a refresh with nothing new: changed=%v, err %v", again.Changed(), again.Err)
	}
}

// TestTUFDownKeepsTheLastGoodRoot: when TUF is unreachable, the root in
// force stays the last one TUF verified (not the older embedded snapshot),
// and the failure is counted, not a fallback.
func TestTUFDownKeepsTheLastGoodRoot(t *testing.T) {
	repo := newTUFRepo(t)
	rotated := rotatedRoot(t)
	repo.Publish("trusted_root.json", rotated)
	r := refresherFor(t, repo)
	if _, err := r.Root(context.Background()); err != nil {
		t.Fatal(err)
	}
	repo.Down.Store(true)
	res := r.Refresh(context.Background())
	if res.Err == nil || !strings.Contains(res.Err.Error(), "TUF repository "+repo.URL) {
		t.Fatalf("want the failure naming the TUF repository, got %v", res.Err)
	}
	got, _ := r.Root(context.Background())
	if got.Version != Version(rotated) || got.Source != SourceTUF || res.FellBack {
		t.Fatalf("root in force %s from %s (fell back: %v), want the last good one from TUF", got.Version, got.Source, res.FellBack)
	}
	if r.Failures.Load() != 1 || r.Fallbacks.Load() != 0 {
		t.Fatalf("failures %d, fallbacks %d; want 1, 0", r.Failures.Load(), r.Fallbacks.Load())
	}
}

// TestTUFDownAtStartFallsBackToTheEmbeddedSnapshotAndCountsIt: with no
// last good root, the embedded snapshot comes into force, the fallback is
// counted and carries TUF's error; the first refresh that reaches TUF
// replaces it.
func TestTUFDownAtStartFallsBackToTheEmbeddedSnapshotAndCountsIt(t *testing.T) {
	repo := newTUFRepo(t)
	rotated := rotatedRoot(t)
	repo.Publish("trusted_root.json", rotated)
	repo.Down.Store(true)
	r := refresherFor(t, repo)
	got, err := r.Root(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != SourceEmbedded || !strings.Contains(got.Fallback, "TUF repository") || r.Fallbacks.Load() != 1 {
		t.Fatalf("root from %s (fallback %q, %d counted), want the embedded snapshot, counted once, with TUF's error", got.Source, got.Fallback, r.Fallbacks.Load())
	}
	repo.Down.Store(false)
	if res := r.Refresh(context.Background()); !res.Changed() || res.Root.Source != SourceTUF || res.Root.Version != Version(rotated) {
		t.Fatalf("after TUF came back: %+v", res)
	}
}

// TestHangingTUFIsBounded: a TUF mirror that accepts and never answers
// costs at most the per-request timeout times the attempts, and the error
// names it.
func TestHangingTUFIsBounded(t *testing.T) {
	srv := testworld.NewHang(t)
	repo := newTUFRepo(t)
	r := NewRefresher(Options{Mirror: srv.URL, TUFRoot: repo.RootJSON(), CacheDir: t.TempDir(),
		RequestTimeout: 200 * time.Millisecond, Attempts: 2, Timeout: time.Minute})
	done := make(chan Refreshed, 1)
	go func() { done <- r.Refresh(context.Background()) }()
	select {
	case res := <-done:
		if res.Err == nil || !strings.Contains(res.Err.Error(), "TUF repository "+srv.URL) || !res.FellBack {
			t.Fatalf("want a fallback naming the TUF repository, got %+v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the TUF refresh still hangs after 10s")
	}
}
