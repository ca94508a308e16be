package ocisig

import (
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// bundleCandidates picks the referrers of a listing worth reading, in the
// listing's order: those announcing a Sigstore bundle (maybeBundle), and
// attestations only when want asks for them. Anyone who may push to the
// repository can add referrers, so reading is bounded per announced kind
// (MaxItems signatures, MaxItems attestations: a pile of attestations, a
// scanner's daily reports say, never crowds out a signature), and a kind
// over its bound keeps its newest by the referrer's creation annotation
// (what a re-signing added last; a date in the future counts as none).
// What is left is returned as Unread: the caller still decides on what was
// read. Referrers that look exactly like bundles can still hide one past
// the bound; nothing in a listing tells them apart before reading.
func bundleCandidates(subject name.Digest, listed []v1.Descriptor, want Want, now time.Time) ([]v1.Descriptor, []Unread) {
	var kinds [2][]int // indexes into listed, by announced kind
	for i, d := range listed {
		switch {
		case !maybeBundle(d):
		case !announcesAttestation(d):
			kinds[0] = append(kinds[0], i)
		case want.Attestations:
			kinds[1] = append(kinds[1], i)
		}
	}
	var keep []int
	var unread []Unread
	for k, idx := range kinds {
		if len(idx) > MaxItems {
			kind := []Kind{KindSignature, KindAttestation}[k]
			unread = append(unread, Unread{Subject: subject, Layout: LayoutBundle, Kind: kind, Listed: len(idx), Read: MaxItems})
			slices.SortStableFunc(idx, func(a, b int) int { return created(listed[b], now).Compare(created(listed[a], now)) })
			idx = idx[:MaxItems]
		}
		keep = append(keep, idx...)
	}
	slices.Sort(keep)
	out := make([]v1.Descriptor, len(keep))
	for i, j := range keep {
		out[i] = listed[j]
	}
	return out, unread
}

// created is when a referrer says it was made, or the zero time when it
// says nothing usable (no annotation, not RFC 3339, or more than an hour
// in the future).
func created(d v1.Descriptor, now time.Time) time.Time {
	t, err := time.Parse(time.RFC3339, d.Annotations[annotationCreated])
	if err != nil || t.After(now.Add(time.Hour)) {
		return time.Time{}
	}
	return t
}
