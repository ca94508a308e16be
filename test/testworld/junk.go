package testworld

import (
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/ocisig"
)

// Junk attaches n referrers to subject that look, in the referrers
// listing, exactly like Sigstore signature bundles made at created, and
// hold junk: what anyone with push (and no delete) rights on a repository
// can add to a production digest. It returns their digests.
func (w *World) Junk(subject name.Digest, n int, created time.Time) []name.Digest {
	w.t.Helper()
	img, err := remote.Image(subject, w.writeOpts...)
	w.must(err)
	desc, err := partialDescriptor(img)
	w.must(err)
	var out []name.Digest
	for i := range n {
		j := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), "application/vnd.oci.empty.v1+json")
		j, err = mutate.Append(j, mutate.Addendum{Layer: static.NewLayer(fmt.Appendf(nil, `{"junk":%d}`, i), ocisig.BundleMediaType)})
		w.must(err)
		j = mutate.Annotations(j, map[string]string{"org.opencontainers.image.created": created.UTC().Format(time.RFC3339),
			ocisig.AnnotationBundleContent: "dsse-envelope", ocisig.AnnotationBundlePredicate: ocisig.CosignSignPredicateType}).(v1.Image)
		j = mutate.Subject(j, desc).(v1.Image)
		h, err := j.Digest()
		w.must(err)
		ref := subject.Context().Digest(h.String())
		w.must(remote.Write(ref, j, w.writeOpts...))
		out = append(out, ref)
	}
	return out
}

// Delete removes what refs name from the registry.
func (w *World) Delete(refs ...name.Digest) {
	w.t.Helper()
	for _, r := range refs {
		w.must(remote.Delete(r, w.writeOpts...))
	}
}

func partialDescriptor(img v1.Image) (v1.Descriptor, error) {
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := img.Size()
	return v1.Descriptor{MediaType: mt, Digest: h, Size: size}, err
}
