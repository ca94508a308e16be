package ocisig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// listing is a registry whose referrers listing of every digest is extra
// (followed by what the real registry holds), counting and timing the
// manifest reads of referrers.
type listing struct {
	extra          []v1.Descriptor
	delay          time.Duration
	reads, running atomic.Int64
	peak           atomic.Int64
}

func (l *listing) start(t *testing.T) name.Digest {
	t.Helper()
	reg := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/referrers/") && len(l.extra) > 0 {
			rec := httptest.NewRecorder()
			reg.ServeHTTP(rec, r)
			var idx v1.IndexManifest
			json.Unmarshal(rec.Body.Bytes(), &idx) //nolint:errcheck // an empty listing is fine
			idx.SchemaVersion, idx.MediaType = 2, types.OCIImageIndex
			idx.Manifests = append(l.extra, idx.Manifests...)
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			json.NewEncoder(w).Encode(idx) //nolint:errcheck
			return
		}
		if strings.Contains(r.URL.Path, "/manifests/sha256:") && r.Method == http.MethodGet {
			l.reads.Add(1)
			n := l.running.Add(1)
			for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
			}
			time.Sleep(l.delay) // the registry's latency, not synchronisation
			defer l.running.Add(-1)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	img, _ := random.Image(64, 1)
	tag, _ := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/acme/app:v1")
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return tag.Context().Digest(d.String())
}

func fakeReferrer(i int, artifactType string, ann map[string]string) v1.Descriptor {
	sum := sha256.Sum256([]byte(fmt.Sprint("referrer", i)))
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 500, ArtifactType: artifactType, Annotations: ann,
		Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}}
}

// TestFetchReadsAtMostMaxItemsOfAHugeListing: 10,000 referrers that
// announce Sigstore bundles cost one listing and MaxItems reads, not 20,000
// requests; the fetch does not fail (what was read still decides), and the
// rest is reported unread with what to do.
func TestFetchReadsAtMostMaxItemsOfAHugeListing(t *testing.T) {
	l := &listing{}
	for i := range 10000 {
		l.extra = append(l.extra, fakeReferrer(i, BundleMediaType, map[string]string{AnnotationBundlePredicate: CosignSignPredicateType}))
	}
	subject := l.start(t)
	found, err := Fetch(context.Background(), subject)
	if err != nil {
		t.Fatalf("a listing longer than signet reads failed the fetch: %v", err)
	}
	if len(found.Unread) != 1 || found.Unread[0].Listed != 10000 || found.Unread[0].Read != MaxItems {
		t.Fatalf("unread %+v, want 10000 listed and %d read", found.Unread, MaxItems)
	}
	msg := found.Unread[0].String()
	for _, s := range []string{"10000 Sigstore bundles", "more than the 64 signet reads", "only the 64 newest announced as signatures were read", "delete the stale ones", "sign the digest once more"} {
		if !strings.Contains(msg, s) {
			t.Fatalf("unread note does not say %q: %s", s, msg)
		}
	}
	if n := l.reads.Load(); n != MaxItems {
		t.Fatalf("%d referrer manifests read, want %d", n, MaxItems)
	}
}

// TestFetchReadsOnlyWhatTheListingAnnounces: SBOMs and other artifacts in
// the listing are never fetched; attestations are skipped when not wanted;
// bundles are read at most Parallel at a time.
func TestFetchReadsOnlyWhatTheListingAnnounces(t *testing.T) {
	l := &listing{delay: 30 * time.Millisecond}
	for i := range 100 {
		l.extra = append(l.extra, fakeReferrer(i, "application/spdx+json", nil))
		l.extra = append(l.extra, fakeReferrer(1000+i, "", nil)) // nothing announced at all
	}
	subject := l.start(t)
	for i := range 10 {
		if _, err := WriteBundle(context.Background(), subject, fmt.Appendf(nil, `{"n":%d}`, i), fmt.Sprintf("https://example.com/predicate/%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := WriteBundle(context.Background(), subject, []byte(`{"sig":1}`), CosignSignPredicateType); err != nil {
		t.Fatal(err)
	}
	l.reads.Store(0)
	found, err := Fetch(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Bundles) != 11 || l.reads.Load() != 11 {
		t.Fatalf("%d bundles found with %d manifest reads, want 11 and 11 (no SBOM read)", len(found.Bundles), l.reads.Load())
	}
	if p := l.peak.Load(); p > Parallel || p < 2 {
		t.Fatalf("peak %d concurrent referrer reads, want between 2 and %d", p, Parallel)
	}
	l.reads.Store(0)
	found, err = FetchWant(context.Background(), subject, Want{})
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Bundles) != 1 || l.reads.Load() != 1 {
		t.Fatalf("signatures only: %d bundles with %d reads, want 1 and 1", len(found.Bundles), l.reads.Load())
	}
}

// TestFetchSkipsAReferrerDeletedAfterTheListing: a bundle listed but gone
// when read (a re-run of sign replaced it) is not a registry failure, so a
// signature beside it still decides instead of a transient denial.
func TestFetchSkipsAReferrerDeletedAfterTheListing(t *testing.T) {
	l := &listing{extra: []v1.Descriptor{fakeReferrer(1, BundleMediaType, map[string]string{AnnotationBundlePredicate: CosignSignPredicateType})}}
	subject := l.start(t)
	if _, err := WriteBundle(context.Background(), subject, []byte(`{"sig":1}`), CosignSignPredicateType); err != nil {
		t.Fatal(err)
	}
	found, err := Fetch(context.Background(), subject)
	if err != nil {
		t.Fatalf("a listed-then-deleted referrer failed the fetch: %v", err)
	}
	if len(found.Bundles) != 1 || l.reads.Load() != 2 {
		t.Fatalf("%d bundles with %d manifest reads, want the 1 that exists after reading both", len(found.Bundles), l.reads.Load())
	}
}

// TestFetchReadsTheNewestLayersOfAnOverfullLegacyTag: past MaxItems
// layers the newest (cosign appends: the last) are read, the rest are
// reported unread, naming the tag, the count and the remedy.
func TestFetchReadsTheNewestLayersOfAnOverfullLegacyTag(t *testing.T) {
	subject := pushSubject(t, false)
	h, _ := v1.NewHash(subject.DigestStr())
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	for i := range MaxItems + 1 {
		layer := static.NewLayer(fmt.Appendf(nil, `{"critical":{"n":%d}}`, i), SimpleSigningMediaType)
		var err error
		if img, err = mutate.Append(img, mutate.Addendum{Layer: layer, Annotations: map[string]string{AnnotationSignature: "c2ln"}}); err != nil {
			t.Fatal(err)
		}
	}
	tag := subject.Context().Tag(LegacyTag(h, KindSignature))
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	found, err := Fetch(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Legacy) != MaxItems || string(found.Legacy[MaxItems-1].Payload) != fmt.Sprintf(`{"critical":{"n":%d}}`, MaxItems) ||
		string(found.Legacy[0].Payload) != `{"critical":{"n":1}}` {
		t.Fatalf("read %d layers, want the newest %d", len(found.Legacy), MaxItems)
	}
	if len(found.Unread) != 1 || !strings.Contains(found.Unread[0].String(), "holds 65 signatures, more than the 64 signet reads: only the newest 64 were read") ||
		!strings.Contains(found.Unread[0].String(), "cosign clean --type signature") {
		t.Fatalf("unread %v", found.Unread)
	}
}
