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

// ReplaceBundle writes bundleJSON as a referrer of subject (WriteBundle)
// and then removes the referrers that same accepts among those listed
// before the write: the signer's own earlier bundles of this predicate
// type. Listing before writing means two concurrent runs of one signer
// can never remove each other's new bundle.
//
// How a referrer is removed depends on how the registry lists them. With
// the referrers API, its manifest is deleted (the registry updates the
// list). On a registry without it, the sha256-<hex> fallback index is
// rewritten without it and the manifest is left in place: another client
// updating the index concurrently may write back a descriptor we removed,
// and a descriptor whose manifest is gone would break every reader.
func ReplaceBundle(ctx context.Context, subject name.Digest, bundleJSON []byte, predicateType string, same SameBundle, opts ...remote.Option) (v1.Hash, Outcome, error) {
	opts = append(opts, remote.WithContext(ctx))
	probe := opts // no shared puller: its fallback setting would answer the probe
	opts = shareReads(opts)
	var earlier []v1.Hash
	var api bool
	if same != nil {
		var err error
		if earlier, api, err = signerBundles(subject, predicateType, same, probe, opts); err != nil {
			return v1.Hash{}, Outcome{}, fmt.Errorf("writing bundle for %s: %w", subject, err)
		}
	}
	desc, err := writeBundle(subject, bundleJSON, predicateType, opts)
	if err != nil {
		return v1.Hash{}, Outcome{}, fmt.Errorf("writing bundle for %s: %w", subject, err)
	}
	h := desc.Digest
	earlier = slices.DeleteFunc(earlier, func(d v1.Hash) bool { return d == h })
	if len(earlier) == 0 {
		return h, Outcome{Action: ActionAdded}, nil
	}
	var out Outcome
	if api {
		out = deleteReferrers(subject, earlier, opts)
	} else {
		out, err = unlistReferrers(subject, desc, earlier, opts)
	}
	if err != nil {
		return h, out, fmt.Errorf("replacing earlier bundles of %s: %w", subject, err)
	}
	return h, out, nil
}

// signerBundles lists subject's bundle referrers of predicateType and
// returns the manifests of those same accepts, and whether the registry
// lists them through the referrers API (asked with probe, options that
// share no puller).
func signerBundles(subject name.Digest, predicateType string, same SameBundle, probe, opts []remote.Option) ([]v1.Hash, bool, error) {
	api := true
	var im *v1.IndexManifest
	idx, err := remote.Referrers(subject, append(probe, remote.WithReferrersTagFallback(false))...)
	switch {
	// go-containerregistry says so in these words when the endpoint is
	// missing; its error has no type of its own.
	case err != nil && strings.Contains(err.Error(), "does not support the Referrers API"):
		api = false
		im, err = fallbackIndex(subject.Context().Tag(fallbackTag(subject)), opts)
	case err == nil:
		im, err = idx.IndexManifest()
	}
	if isNotFound(err) {
		return nil, api, nil
	}
	if err != nil {
		return nil, api, fmt.Errorf("listing referrers: %w", err)
	}
	var ours []v1.Hash
	candidates := 0
	for _, desc := range im.Manifests {
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
			return nil, api, err
		}
		if b != nil && same(*b) {
			ours = append(ours, desc.Digest)
		}
	}
	return ours, api, nil
}

// unlistReferrers removes the referrers earlier from subject's fallback
// index, which go-containerregistry has just updated with ours, and makes
// sure ours stays listed.
func unlistReferrers(subject name.Digest, ours v1.Descriptor, earlier []v1.Hash, opts []remote.Option) (Outcome, error) {
	tag := subject.Context().Tag(fallbackTag(subject))
	h := ours.Digest
	im, err := fallbackIndex(tag, opts)
	if err != nil {
		return Outcome{}, err
	}
	for attempt := 1; ; attempt++ {
		if holds(im, h) && !holdsAny(im, earlier) {
			out := Outcome{Action: ActionReplaced}
			for _, d := range earlier {
				out.Replaced = append(out.Replaced, d.String())
			}
			return out, nil
		}
		if attempt > maxWriteAttempts {
			return Outcome{}, fmt.Errorf("a concurrent writer replaced the referrers tag %s %d times in a row", tag, maxWriteAttempts)
		}
		kept := slices.DeleteFunc(slices.Clone(im.Manifests), func(d v1.Descriptor) bool { return slices.Contains(earlier, d.Digest) })
		if !holds(im, h) { // a concurrent writer dropped ours: put it back
			kept = append(kept, ours)
		}
		im.Manifests = kept
		raw, err := json.Marshal(im)
		if err != nil {
			return Outcome{}, err
		}
		if err := remote.Put(tag, rawManifest{b: raw, mt: types.OCIImageIndex}, opts...); err != nil {
			return Outcome{}, fmt.Errorf("rewriting referrers tag %s: %w", tag, err)
		}
		if im, err = fallbackIndex(tag, opts); err != nil {
			return Outcome{}, err
		}
	}
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
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
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
