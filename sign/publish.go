package sign

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/signet-dev/signet/ocisig"
)

// Subject is a digest to publish material for and its descriptor (media
// type and size), which a bundle referrer names.
type Subject struct {
	Digest     name.Digest
	Descriptor v1.Descriptor
}

// RegistryPublisher publishes to the subject's repository through one
// ocisig.Writer: all bundles of a subject in one pass (one listing, one
// update of the referrers fallback tag), then each legacy tag (the .sig
// and .att tags concurrently: they are separate manifests). Each layout
// replaces the producer's own earlier entries of the same claim.
type RegistryPublisher struct {
	Writer *ocisig.Writer
}

var _ Publisher = RegistryPublisher{}

// Publish writes items for subject.
func (p RegistryPublisher) Publish(ctx context.Context, subject Subject, items []Material) ([]Attached, error) {
	d := subject.Digest
	out := make([]Attached, len(items))
	var bundles []ocisig.BundleItem
	var at []int
	for i, m := range items {
		out[i] = Attached{Digest: d.DigestStr(), LogIndex: m.LogIndex}
		if m.Bundle != nil {
			bundles = append(bundles, ocisig.BundleItem{JSON: m.Bundle, PredicateType: m.PredicateType, Same: m.SameBundle})
			at = append(at, i)
		}
	}
	if err := p.publishNotation(ctx, subject, items, out); err != nil {
		return out, err
	}
	if len(bundles) > 0 {
		written, err := p.Writer.ReplaceBundles(ctx, d, subject.Descriptor, bundles)
		if err != nil {
			return out, err
		}
		for j, w := range written {
			o := w.Outcome
			out[at[j]].Bundle, out[at[j]].BundleWrite = d.Context().Digest(w.Manifest.String()).String(), &o
		}
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return out, fmt.Errorf("publishing for %s: %w", d, err)
	}
	// One goroutine per tag: items of one kind update one manifest.
	g, gctx := errgroup.WithContext(ctx)
	for _, kind := range []ocisig.Kind{ocisig.KindSignature, ocisig.KindAttestation} {
		g.Go(func() error {
			for i, m := range items {
				if m.Legacy == nil || m.Legacy.Kind != kind {
					continue
				}
				o, err := p.Writer.ReplaceLegacy(gctx, d, *m.Legacy, m.SameLegacy)
				if err != nil {
					return err
				}
				out[i].LegacyTag, out[i].LegacyWrite = d.Context().Tag(ocisig.LegacyTag(h, kind)).String(), &o
			}
			return nil
		})
	}
	return out, g.Wait()
}

// publishNotation writes the Notation signatures of items, each replacing
// the same certificate's earlier ones (ocisig.Writer.ReplaceNotation).
func (p RegistryPublisher) publishNotation(ctx context.Context, subject Subject, items []Material, out []Attached) error {
	for i, m := range items {
		if m.Notation == nil {
			continue
		}
		w, err := p.Writer.ReplaceNotation(ctx, subject.Digest, subject.Descriptor, *m.Notation)
		if err != nil {
			return err
		}
		o := w.Outcome
		out[i].Notation, out[i].NotationWrite = subject.Digest.Context().Digest(w.Manifest.String()).String(), &o
	}
	return nil
}
