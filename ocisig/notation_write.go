package ocisig

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// NotationItem is a Notation signature to attach: its envelope, the
// envelope's media type, the fingerprints (hex SHA-256, leaf first) of its
// certificate chain and its signing time, which the signature manifest
// carries as Notation writes them.
type NotationItem struct {
	Envelope    []byte
	MediaType   string
	Thumbprints []string
	SigningTime time.Time
}

// WriteNotation stores a Notation signature as a referrer of subject,
// exactly as notation-go's repository client does (an image manifest with
// the notary signature config type, one envelope layer, the thumbprint and
// created annotations). It returns the signature manifest's digest.
func WriteNotation(ctx context.Context, subject name.Digest, it NotationItem, opts ...remote.Option) (v1.Hash, error) {
	opts = append(opts, remote.WithContext(ctx))
	desc, err := remote.Head(subject, opts...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("writing Notation signature for %s: resolving subject: %w", subject, err)
	}
	a, err := it.artifact()
	if err != nil {
		return v1.Hash{}, err
	}
	d, err := putArtifact(remotePutter{subject.Context(), opts}, subject.Context(), *desc, a)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("writing Notation signature for %s: %w", subject, err)
	}
	return d.Digest, nil
}

func (it NotationItem) artifact() (artifact, error) {
	if !IsNotationEnvelope(it.MediaType) {
		return artifact{}, fmt.Errorf("Notation envelope media type %q is neither %s nor %s", it.MediaType, NotationJWSMediaType, NotationCOSEMediaType)
	}
	tp, err := json.Marshal(it.Thumbprints)
	if err != nil {
		return artifact{}, err
	}
	return artifact{configType: NotationArtifactType, layer: it.Envelope, layerType: it.MediaType,
		annotations: map[string]string{
			AnnotationNotationThumbprints: string(tp),
			annotationCreated:             it.SigningTime.UTC().Format(time.RFC3339),
		}}, nil
}

// ReplaceNotation writes it as a referrer of subject (whose descriptor the
// caller resolved) and removes the referrers that are the same signer's
// earlier Notation signatures: those whose thumbprint annotation names the
// same signing certificate (leaf), read from the listing alone. A re-run
// with the same certificate leaves one signature, not two; another
// signer's are never touched. Removal works as ReplaceBundles's does.
func (w *Writer) ReplaceNotation(ctx context.Context, subject name.Digest, desc v1.Descriptor, it NotationItem) (BundleWritten, error) {
	opts := w.readOpts(ctx)
	a, err := it.artifact()
	if err != nil {
		return BundleWritten{}, err
	}
	l, err := listReferrers(subject, opts)
	if err != nil {
		return BundleWritten{}, fmt.Errorf("writing Notation signature for %s: %w", subject, err)
	}
	earlier := sameNotationSigner(l.index, it.Thumbprints)
	ours, err := putArtifact(writerPutter{w: w, ctx: ctx}, subject.Context(), desc, a)
	if err != nil {
		return BundleWritten{}, fmt.Errorf("writing Notation signature for %s: %w", subject, err)
	}
	earlier = slices.DeleteFunc(earlier, func(d v1.Hash) bool { return d == ours.Digest })
	out := BundleWritten{Manifest: ours.Digest, Outcome: Outcome{Action: ActionAdded}}
	if l.api {
		if len(earlier) > 0 {
			out.Outcome = deleteReferrers(subject, earlier, opts)
		}
		return out, nil
	}
	if err := w.updateFallback(ctx, subject, l.index, []v1.Descriptor{ours}, earlier); err != nil {
		return out, fmt.Errorf("writing Notation signature for %s: %w", subject, err)
	}
	if len(earlier) > 0 {
		out.Outcome = Outcome{Action: ActionReplaced}
		for _, d := range earlier {
			out.Outcome.Replaced = append(out.Outcome.Replaced, d.String())
		}
	}
	return out, nil
}

// sameNotationSigner lists the Notation signature referrers whose chain
// starts with the same leaf as thumbprints.
func sameNotationSigner(im *v1.IndexManifest, thumbprints []string) []v1.Hash {
	if len(thumbprints) == 0 {
		return nil
	}
	var out []v1.Hash
	for _, desc := range im.Manifests {
		if desc.ArtifactType != NotationArtifactType {
			continue
		}
		var tp []string
		if json.Unmarshal([]byte(desc.Annotations[AnnotationNotationThumbprints]), &tp) != nil || len(tp) == 0 {
			continue
		}
		if tp[0] == thumbprints[0] {
			out = append(out, desc.Digest)
		}
	}
	return out
}
