package ocisig

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BundleItem is one bundle to attach: its JSON, the predicate type its
// referrer announces, and which earlier referrers are the same signer's
// for the same claim (nil replaces nothing).
type BundleItem struct {
	JSON          []byte
	PredicateType string
	Same          SameBundle
}

// BundleWritten is what ReplaceBundles did for one item: the referrer
// manifest written and what happened to the signer's earlier ones.
type BundleWritten struct {
	Manifest v1.Hash
	Outcome  Outcome
}

// ReplaceBundles writes each item as a referrer of subject (whose
// descriptor the caller resolved) and then removes, for each, the
// referrers its Same accepts among those listed before the write: the
// signer's own earlier bundles of that predicate type. Listing before
// writing means two concurrent runs of one signer can never remove each
// other's new bundle. The items share one listing and, on a registry
// without the referrers API, one update of the fallback tag; the listing
// is read once more at the end, which is what a reader finds now.
//
// How a referrer is removed depends on how the registry lists them. With
// the referrers API, its manifest is deleted (the registry updates the
// list). On a registry without it, the sha256-<hex> fallback index is
// rewritten without it and the manifest is left in place: another client
// updating the index concurrently may write back a descriptor we removed,
// and a descriptor whose manifest is gone would break every reader.
func (w *Writer) ReplaceBundles(ctx context.Context, subject name.Digest, desc v1.Descriptor, items []BundleItem) ([]BundleWritten, error) {
	opts := w.readOpts(ctx)
	l, err := listReferrers(subject, opts)
	if err != nil {
		return nil, fmt.Errorf("writing bundles for %s: %w", subject, err)
	}
	earlier := make([][]v1.Hash, len(items))
	for i, it := range items {
		if it.Same == nil {
			continue
		}
		if earlier[i], err = l.signers(subject, it.PredicateType, it.Same, opts); err != nil {
			return nil, fmt.Errorf("writing bundles for %s: %w", subject, err)
		}
	}
	out := make([]BundleWritten, len(items))
	ours := make([]v1.Descriptor, len(items))
	p := writerPutter{w: w, ctx: ctx}
	for i, it := range items {
		if ours[i], err = putReferrer(p, subject.Context(), desc, it.JSON, it.PredicateType); err != nil {
			return nil, fmt.Errorf("writing bundle for %s: %w", subject, err)
		}
		out[i].Manifest = ours[i].Digest
		earlier[i] = slices.DeleteFunc(earlier[i], func(d v1.Hash) bool { return d == ours[i].Digest })
		out[i].Outcome = Outcome{Action: ActionAdded}
	}
	if l.api {
		for i := range items {
			if len(earlier[i]) > 0 {
				out[i].Outcome = deleteReferrers(subject, earlier[i], opts)
			}
		}
		// The listing a reader gets now (the post-check evaluates it).
		if _, err := remote.Referrers(subject, append(opts, remote.WithReferrersTagFallback(false))...); err != nil && !isNotFound(err) {
			return out, fmt.Errorf("listing referrers of %s after writing: %w", subject, err)
		}
		return out, nil
	}
	if err := w.updateFallback(ctx, subject, l.index, ours, slices.Concat(earlier...)); err != nil {
		return out, fmt.Errorf("writing bundles for %s: %w", subject, err)
	}
	for i := range items {
		if len(earlier[i]) > 0 {
			out[i].Outcome = Outcome{Action: ActionReplaced}
			for _, d := range earlier[i] {
				out[i].Outcome.Replaced = append(out[i].Outcome.Replaced, d.String())
			}
		}
	}
	return out, nil
}

// referrerListing is a subject's referrers as listed before a write, and
// whether the registry lists them through the referrers API.
type referrerListing struct {
	api   bool
	index *v1.IndexManifest
}

// listReferrers lists subject's referrers: through the API, or, when the
// registry has none, from the fallback tag (an absent tag lists nothing).
func listReferrers(subject name.Digest, opts []remote.Option) (referrerListing, error) {
	l := referrerListing{api: true}
	idx, err := remote.Referrers(subject, append(opts, remote.WithReferrersTagFallback(false))...)
	switch {
	// go-containerregistry says so in these words when the endpoint is
	// missing; its error has no type of its own.
	case err != nil && strings.Contains(err.Error(), "does not support the Referrers API"):
		l.api = false
		l.index, err = fallbackIndex(subject.Context().Tag(fallbackTag(subject)), opts)
	case err == nil:
		l.index, err = idx.IndexManifest()
	}
	if isNotFound(err) {
		return referrerListing{api: l.api, index: emptyIndex()}, nil
	}
	if err != nil {
		return l, fmt.Errorf("listing referrers: %w", err)
	}
	return l, nil
}

// signers returns the manifests of the listed bundle referrers of
// predicateType that same accepts.
func (l referrerListing) signers(subject name.Digest, predicateType string, same SameBundle, opts []remote.Option) ([]v1.Hash, error) {
	var ours []v1.Hash
	candidates := 0
	for _, desc := range l.index.Manifests {
		// The annotation is a hint (the bundle decides); registries report
		// the artifact type or the config media type as artifactType.
		if desc.Annotations[AnnotationBundlePredicate] != predicateType ||
			!IsBundleMediaType(desc.ArtifactType) && desc.ArtifactType != emptyConfigMediaType && desc.ArtifactType != "" {
			continue
		}
		if candidates++; candidates > maxCandidates {
			break
		}
		b, err := referrerBundle(subject, desc, opts)
		if isNotFound(err) {
			continue // removed since the listing, by a concurrent run
		}
		if err != nil {
			return nil, err
		}
		if b != nil && same(*b) {
			ours = append(ours, desc.Digest)
		}
	}
	return ours, nil
}

// updateFallback writes subject's fallback index as listed before the
// write (im), without the referrers earlier and with ours, then reads it
// back and merges again while a concurrent writer dropped one of ours or
// put back one of earlier.
func (w *Writer) updateFallback(ctx context.Context, subject name.Digest, im *v1.IndexManifest, ours []v1.Descriptor, earlier []v1.Hash) error {
	tag := subject.Context().Tag(fallbackTag(subject))
	opts := w.readOpts(ctx)
	for attempt := 1; ; attempt++ {
		kept := slices.DeleteFunc(slices.Clone(im.Manifests), func(d v1.Descriptor) bool { return slices.Contains(earlier, d.Digest) })
		for _, o := range ours {
			if !holds(&v1.IndexManifest{Manifests: kept}, o.Digest) {
				kept = append(kept, o)
			}
		}
		im.Manifests = kept
		raw, err := json.Marshal(im)
		if err != nil {
			return err
		}
		if err := w.Manifest(ctx, tag.TagStr(), raw, types.OCIImageIndex); err != nil {
			return fmt.Errorf("rewriting referrers tag %s: %w", tag, err)
		}
		if im, err = fallbackIndex(tag, opts); err != nil {
			return err
		}
		if allHeld(im, ours) && !holdsAny(im, earlier) {
			return nil
		}
		if attempt >= maxWriteAttempts {
			return fmt.Errorf("a concurrent writer replaced the referrers tag %s %d times in a row", tag, maxWriteAttempts)
		}
	}
}

func allHeld(im *v1.IndexManifest, ds []v1.Descriptor) bool {
	for _, d := range ds {
		if !holds(im, d.Digest) {
			return false
		}
	}
	return true
}

func emptyIndex() *v1.IndexManifest {
	return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
}

// fallbackTag is the sha256-<hex> tag that lists subject's referrers on a
// registry without the referrers API.
func fallbackTag(subject name.Digest) string {
	return strings.Replace(subject.DigestStr(), ":", "-", 1)
}

// shareReads adds one puller for all of a write's reads: one ping and
// token exchange instead of one per read.
func shareReads(opts []remote.Option) []remote.Option {
	if p, err := remote.NewPuller(opts...); err == nil {
		return append(opts, remote.Reuse(p))
	}
	return opts
}

// fallbackIndex reads the referrers fallback tag; an absent tag is an
// empty index.
func fallbackIndex(tag name.Tag, opts []remote.Option) (*v1.IndexManifest, error) {
	desc, err := remote.Get(tag, opts...)
	if isNotFound(err) {
		return emptyIndex(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading referrers tag %s: %w", tag, err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &im); err != nil {
		return nil, fmt.Errorf("parsing referrers tag %s: %w", tag, err)
	}
	return &im, nil
}

// deleteReferrers deletes the manifests earlier (the registry has the
// referrers API, so that removes them from the list). A registry that refuses
// deletes keeps them: the run says so rather than failing, since the new
// bundle is written and valid.
func deleteReferrers(subject name.Digest, earlier []v1.Hash, opts []remote.Option) Outcome {
	out := Outcome{Action: ActionReplaced}
	var refused []string
	for _, d := range earlier {
		err := remote.Delete(subject.Context().Digest(d.String()), opts...)
		switch {
		case err == nil, isNotFound(err):
			out.Replaced = append(out.Replaced, d.String())
		default:
			refused = append(refused, fmt.Sprintf("%s (%v)", d, err))
		}
	}
	if len(refused) > 0 {
		if len(out.Replaced) == 0 {
			out.Action = ActionAdded
		}
		out.Warning = "the registry refused to delete this signer's earlier bundles, which stay attached: " + strings.Join(refused, "; ")
	}
	return out
}

func holds(im *v1.IndexManifest, h v1.Hash) bool {
	return slices.ContainsFunc(im.Manifests, func(d v1.Descriptor) bool { return d.Digest == h })
}

func holdsAny(im *v1.IndexManifest, hs []v1.Hash) bool {
	return slices.ContainsFunc(hs, func(h v1.Hash) bool { return holds(im, h) })
}

// referrerBundle reads the Sigstore bundle a referrer manifest carries,
// or nil if it carries none.
func referrerBundle(subject name.Digest, desc v1.Descriptor, opts []remote.Option) (*Bundle, error) {
	ref := subject.Context().Digest(desc.Digest.String())
	got, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading referrer %s: %w", ref, err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(got.Manifest, &m); err != nil {
		return nil, fmt.Errorf("parsing referrer %s: %w", ref, err)
	}
	for _, l := range m.Layers {
		if !IsBundleMediaType(string(l.MediaType)) {
			continue
		}
		data, err := readRepoBlob(subject.Context(), l, opts)
		if err != nil {
			return nil, fmt.Errorf("reading bundle %s of %s: %w", l.Digest, ref, err)
		}
		return &Bundle{Manifest: desc.Digest, PredicateType: m.Annotations[AnnotationBundlePredicate], JSON: data}, nil
	}
	return nil, nil
}
