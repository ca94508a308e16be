package ocisig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// Limits bound what one digest's attachments may cost to read: a registry
// is untrusted input, and verification runs on the admission hot path.
const (
	MaxItems     = 64      // per layout and kind
	MaxBlobBytes = 4 << 20 // one signature payload, envelope or bundle
)

// Fetch reads every signature and attestation attached to subject, in both
// layouts, concurrently. A layout with nothing attached is not an error;
// any other registry failure is, because "could not look" must never be
// read as "nothing there".
func Fetch(ctx context.Context, subject name.Digest, opts ...remote.Option) (*Found, error) {
	h, err := v1.NewHash(subject.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("parsing digest of %s: %w", subject, err)
	}
	opts = append([]remote.Option{remote.WithContext(ctx)}, opts...)
	found := &Found{Subject: h}
	var sigs, atts []Legacy
	var bundles []Bundle
	g, ctx := errgroup.WithContext(ctx)
	opts = append(opts, remote.WithContext(ctx))
	g.Go(func() (err error) { sigs, err = fetchLegacy(subject, h, KindSignature, opts); return })
	g.Go(func() (err error) { atts, err = fetchLegacy(subject, h, KindAttestation, opts); return })
	g.Go(func() (err error) { bundles, err = fetchBundles(subject, opts); return })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	found.Legacy = append(sigs, atts...)
	found.Bundles = bundles
	return found, nil
}

func fetchLegacy(subject name.Digest, h v1.Hash, kind Kind, opts []remote.Option) ([]Legacy, error) {
	tag := subject.Context().Tag(LegacyTag(h, kind))
	img, err := remote.Image(tag, opts...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest of %s: %w", tag, err)
	}
	if len(m.Layers) > MaxItems {
		return nil, fmt.Errorf("%s has %d layers, more than the %d signet reads", tag, len(m.Layers), MaxItems)
	}
	out := make([]Legacy, 0, len(m.Layers))
	for _, desc := range m.Layers {
		payload, err := readBlob(img, desc)
		if err != nil {
			return nil, fmt.Errorf("reading %s layer %s: %w", tag, desc.Digest, err)
		}
		a := desc.Annotations
		out = append(out, Legacy{
			Kind:          kind,
			MediaType:     string(desc.MediaType),
			Payload:       payload,
			Signature:     a[AnnotationSignature],
			Certificate:   []byte(a[AnnotationCertificate]),
			Chain:         []byte(a[AnnotationChain]),
			RekorBundle:   []byte(a[AnnotationRekorBundle]),
			RFC3161:       []byte(a[AnnotationRFC3161Timestamp]),
			PredicateType: a[AnnotationPredicateType],
		})
	}
	return out, nil
}

// fetchBundles lists the subject's referrers (ggcr falls back to the
// sha256-<hex> referrers tag when the registry has no referrers API) and
// reads each Sigstore bundle among them.
func fetchBundles(subject name.Digest, opts []remote.Option) ([]Bundle, error) {
	idx, err := remote.Referrers(subject, opts...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", subject, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading referrers of %s: %w", subject, err)
	}
	var out []Bundle
	for _, desc := range im.Manifests {
		if !maybeBundle(desc) {
			continue
		}
		if len(out) == MaxItems {
			return nil, fmt.Errorf("%s has more than %d Sigstore bundles attached", subject, MaxItems)
		}
		b, err := readBundle(subject, desc, opts)
		if err != nil {
			return nil, err
		}
		if b != nil {
			out = append(out, *b)
		}
	}
	return out, nil
}

func readBundle(subject name.Digest, desc v1.Descriptor, opts []remote.Option) (*Bundle, error) {
	ref := subject.Context().Digest(desc.Digest.String())
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading referrer %s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading referrer manifest %s: %w", ref, err)
	}
	for _, l := range m.Layers {
		if !IsBundleMediaType(string(l.MediaType)) {
			continue
		}
		data, err := readBlob(img, l)
		if err != nil {
			return nil, fmt.Errorf("reading bundle %s of %s: %w", l.Digest, ref, err)
		}
		return &Bundle{Manifest: desc.Digest, PredicateType: m.Annotations[AnnotationBundlePredicate], JSON: data}, nil
	}
	return nil, nil
}

// readBlob reads a layer by descriptor with a size bound. go-containerregistry
// verifies the blob's digest as it is read.
func readBlob(img v1.Image, desc v1.Descriptor) ([]byte, error) {
	if desc.Size > MaxBlobBytes {
		return nil, fmt.Errorf("blob is %d bytes, more than the %d signet reads", desc.Size, MaxBlobBytes)
	}
	l, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxBlobBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBlobBytes {
		return nil, fmt.Errorf("blob exceeds %d bytes", MaxBlobBytes)
	}
	return data, nil
}

// maybeBundle filters referrers cheaply before reading them. Registries
// disagree on what a referrer's artifactType is (some report the config media
// type), so an empty-config artifact or a bundle annotation also qualifies;
// the layer media type decides in readBundle.
func maybeBundle(desc v1.Descriptor) bool {
	switch {
	case IsBundleMediaType(desc.ArtifactType), desc.ArtifactType == "", desc.ArtifactType == emptyConfigMediaType:
		return true
	}
	_, ok := desc.Annotations[AnnotationBundleContent]
	return ok
}

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
