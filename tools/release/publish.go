package release

import (
	"context"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PublishedImage is an image of the release with its digests, as
// dist/images.json records it for the signing jobs and the notes.
type PublishedImage struct {
	Name      string            `json:"name"`      // signet-enforce:v0.2.0
	Reference string            `json:"reference"` // <registry>/signet-enforce:v0.2.0 when pushed
	Digest    string            `json:"digest"`    // the index
	Platforms map[string]string `json:"platforms"` // linux/amd64 -> child manifest digest
}

// WriteLayout writes the images into an OCI image layout at dir (one index
// per image, named by org.opencontainers.image.ref.name), replacing any
// previous layout there.
func WriteLayout(dir string, images []*BuiltImage, version string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	for _, img := range images {
		if err := p.AppendIndex(img.Index, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": img.Spec.Name(version),
		})); err != nil {
			return fmt.Errorf("writing %s to %s: %w", img.Spec.Name(version), dir, err)
		}
	}
	return nil
}

// Describe lists the digests of a built image.
func Describe(img *BuiltImage, version, reference string) (PublishedImage, error) {
	d, err := img.Index.Digest()
	if err != nil {
		return PublishedImage{}, err
	}
	m, err := img.Index.IndexManifest()
	if err != nil {
		return PublishedImage{}, err
	}
	out := PublishedImage{Name: img.Spec.Name(version), Reference: reference, Digest: d.String(), Platforms: map[string]string{}}
	for _, c := range m.Manifests {
		out.Platforms[c.Platform.OS+"/"+c.Platform.Architecture] = c.Digest.String()
	}
	return out, nil
}

// Push writes the index to repo:tag (e.g. ghcr.io/signet-dev/signet-enforce:v0.2.0).
func Push(ctx context.Context, idx v1.ImageIndex, ref string, opts ...remote.Option) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	if err := remote.WriteIndex(r, idx, append([]remote.Option{remote.WithContext(ctx)}, opts...)...); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}
