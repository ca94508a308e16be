package verify

import (
	"bytes"
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

// platformParallel is how many children are read at once.
const platformParallel = 4

// platformEvidence is the evidence on the platforms of an index.
type platformEvidence struct {
	// err: the index could not be read; index: the digest is an image.
	err      error
	index    bool
	children []platformChild
}

type platformChild struct {
	desc v1.Descriptor
	ev   *Evidence
	err  error
}

// collectPlatforms reads the index digest names and the signatures of each
// platform child (attestation manifests are not platforms), at most
// MaxPlatforms of them; the children's signatures are read in sigs (the
// image's repository, or the rule's signatureRepository).
func (s *session) collectPlatforms(ctx context.Context, digest name.Digest, sigs name.Repository, want ocisig.Want, r *policy.Rule) *platformEvidence {
	im, err := s.index(ctx, digest)
	if err != nil || im == nil {
		return &platformEvidence{err: err}
	}
	pe := &platformEvidence{index: true}
	for _, child := range im.Manifests {
		if !isAttestationManifest(child) {
			pe.children = append(pe.children, platformChild{desc: child})
		}
	}
	if len(pe.children) > MaxPlatforms {
		return pe // denied by count before any child is read
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(platformParallel)
	for i := range pe.children {
		c := &pe.children[i]
		g.Go(func() error {
			c.ev, c.err = s.collect(gctx, sigs.Digest(c.desc.Digest.String()), want, r)
			return nil
		})
	}
	_ = g.Wait() // failures are in each child
	return pe
}

// index returns the index manifest digest names, or nil when it is an image.
func (s *session) index(ctx context.Context, digest name.Digest) (*v1.IndexManifest, error) {
	opts, err := s.remoteOpts(ctx, digest.Context())
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(digest, opts...)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		return nil, nil
	}
	return v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
}

func isAttestationManifest(desc v1.Descriptor) bool {
	if desc.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
		return true
	}
	return desc.Platform != nil && desc.Platform.OS == "unknown" && desc.Platform.Architecture == "unknown"
}
