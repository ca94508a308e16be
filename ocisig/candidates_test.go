package ocisig

import (
	"context"
	"testing"
	"time"
)

// TestJunkOfOneKindDoesNotCrowdOutTheOther: referrers are capped per
// announced kind, so 100 attestations (a scanner's daily reports, or junk
// announced as attestations) leave the signature bundle read.
func TestJunkOfOneKindDoesNotCrowdOutTheOther(t *testing.T) {
	l := &listing{}
	later := time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339) // newer than the signature
	for i := range 100 {
		l.extra = append(l.extra, fakeReferrer(i, BundleMediaType, map[string]string{AnnotationBundlePredicate: "https://example.com/scan/v1",
			annotationCreated: later}))
	}
	subject := l.start(t)
	if _, err := WriteBundle(context.Background(), subject, []byte(`{"sig":1}`), CosignSignPredicateType); err != nil {
		t.Fatal(err)
	}
	found, err := Fetch(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Bundles) != 1 || found.Bundles[0].PredicateType != CosignSignPredicateType {
		t.Fatalf("bundles %v: the signature was not read past 100 attestations", found.Bundles)
	}
	if len(found.Unread) != 1 || found.Unread[0].Kind != KindAttestation || found.Unread[0].Listed != 100 {
		t.Fatalf("unread %+v, want the attestations over the cap", found.Unread)
	}
}

// TestTheNewestReferrersAreReadFirst: past the cap, referrers are read
// newest first by their creation annotation, so a signature added after a
// pile of older ones, or of ones dated in the future (a date anyone can
// write), is read.
func TestTheNewestReferrersAreReadFirst(t *testing.T) {
	l := &listing{}
	for i := range 10 {
		l.extra = append(l.extra, fakeReferrer(i, BundleMediaType, map[string]string{AnnotationBundlePredicate: CosignSignPredicateType,
			annotationCreated: "2024-01-01T00:00:00Z"}))
	}
	for i := range MaxItems {
		l.extra = append(l.extra, fakeReferrer(1000+i, BundleMediaType, map[string]string{annotationCreated: "2999-01-01T00:00:00Z"}))
	}
	subject := l.start(t)
	if _, err := WriteBundle(context.Background(), subject, []byte(`{"sig":1}`), CosignSignPredicateType); err != nil {
		t.Fatal(err)
	}
	found, err := FetchWant(context.Background(), subject, Want{})
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Bundles) != 1 {
		t.Fatalf("%d bundles read: the newest signature was left unread behind older referrers", len(found.Bundles))
	}
	if len(found.Unread) != 1 || found.Unread[0].Listed != MaxItems+11 || l.reads.Load() != MaxItems {
		t.Fatalf("unread %+v after %d reads", found.Unread, l.reads.Load())
	}
}
