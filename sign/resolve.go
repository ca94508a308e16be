package sign

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Target is what a run signs: the digest the reference names and, for an
// image index, its child manifests.
type Target struct {
	// Ref is the reference as given.
	Ref string
	// Digest is the resolved manifest digest.
	Digest name.Digest
	// Descriptor is the manifest's descriptor (media type, size), which a
	// bundle referrer names as its subject.
	Descriptor v1.Descriptor
	// FromTag is true when Ref named a tag: the tag was resolved once and
	// the digest, never the tag, is what gets signed.
	FromTag bool
	// Children are the manifests of an index, empty for an image.
	Children []Subject
}

// Subject is the resolved digest as a Publisher takes it.
func (t *Target) Subject() Subject { return Subject{Digest: t.Digest, Descriptor: t.Descriptor} }

// Resolve turns ref into the digest to sign and lists an index's children.
// A digest reference is used as is; a tag is resolved once.
func Resolve(ctx context.Context, ref string, opts ...remote.Option) (*Target, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	opts = append(opts, remote.WithContext(ctx))
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", ref, err)
	}
	t := &Target{Ref: ref, Digest: r.Context().Digest(desc.Digest.String()), Descriptor: desc.Descriptor}
	if d, ok := r.(name.Digest); ok {
		t.Digest = d
	} else {
		t.FromTag = true
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("reading index %s: %w", t.Digest, err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("reading index %s: %w", t.Digest, err)
		}
		for _, c := range m.Manifests {
			t.Children = append(t.Children, Subject{Digest: r.Context().Digest(c.Digest.String()),
				Descriptor: v1.Descriptor{MediaType: c.MediaType, Digest: c.Digest, Size: c.Size}})
		}
	}
	return t, nil
}
