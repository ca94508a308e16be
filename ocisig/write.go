package ocisig

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types of the OCI 1.1 empty config that bundle referrers carry.
const (
	emptyConfigMediaType = "application/vnd.oci.empty.v1+json"
	annotationCreated    = "org.opencontainers.image.created"
	bundleContentDSSE    = "dsse-envelope"
)

// WriteLegacy appends items to the subject's cosign .sig / .att images (by
// item Kind), creating them if absent. The image is built like cosign v2
// builds it (an empty OCI image with one layer per item and the material in
// layer annotations), so cosign v2 verify reads what this writes. An item
// whose layer and annotations already exist is not added again. It never
// removes anything; ReplaceLegacy also replaces the signer's earlier layers.
func WriteLegacy(ctx context.Context, subject name.Digest, items []Legacy, opts ...remote.Option) error {
	for _, it := range items {
		if _, err := ReplaceLegacy(ctx, subject, it, nil, opts...); err != nil {
			return err
		}
	}
	return nil
}

// layerKey identifies a layer by content and annotations: the same payload
// with another certificate or log entry is another signature.
func layerKey(d v1.Hash, ann map[string]string) string {
	var b bytes.Buffer
	b.WriteString(d.String())
	for _, k := range []string{AnnotationSignature, AnnotationCertificate, AnnotationChain,
		AnnotationRekorBundle, AnnotationRFC3161Timestamp, AnnotationPredicateType} {
		fmt.Fprintf(&b, "\x00%s=%s", k, ann[k])
	}
	return b.String()
}

// annotations are the layer annotations cosign v2 writes. The signature
// annotation is always present (empty for attestations) because cosign's
// reader rejects a layer without it; certificate and chain go together;
// the others only when set.
func (l Legacy) annotations() map[string]string {
	ann := map[string]string{AnnotationSignature: l.Signature}
	if len(l.Certificate) > 0 {
		ann[AnnotationCertificate] = string(l.Certificate)
		ann[AnnotationChain] = string(l.Chain)
	}
	if len(l.RekorBundle) > 0 {
		ann[AnnotationRekorBundle] = string(l.RekorBundle)
	}
	if len(l.RFC3161) > 0 {
		ann[AnnotationRFC3161Timestamp] = string(l.RFC3161)
	}
	if l.Kind == KindAttestation && l.PredicateType != "" {
		ann[AnnotationPredicateType] = l.PredicateType
	}
	return ann
}

// WriteBundle stores bundleJSON as an OCI 1.1 referrer of subject, exactly
// like cosign's WriteAttestationNewBundleFormat: artifactType and layer
// media type the bundle v0.3 type, the empty config, the subject descriptor
// as the registry reports it, and the content/predicateType annotations.
// go-containerregistry maintains the sha256-<hex> referrers tag itself when
// the registry's referrers endpoint is missing (remote.WithReferrersTagFallback
// is on by default). It returns the referrer manifest's digest.
func WriteBundle(ctx context.Context, subject name.Digest, bundleJSON []byte, predicateType string, opts ...remote.Option) (v1.Hash, error) {
	opts = append(opts, remote.WithContext(ctx))
	d, err := writeBundle(subject, bundleJSON, predicateType, opts)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("writing bundle for %s: %w", subject, err)
	}
	return d.Digest, nil
}

// writeBundle uploads the referrer and returns its descriptor as a
// referrers list shows it.
func writeBundle(subject name.Digest, bundleJSON []byte, predicateType string, opts []remote.Option) (v1.Descriptor, error) {
	desc, err := remote.Head(subject, opts...)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("resolving subject: %w", err)
	}
	return putReferrer(remotePutter{subject.Context(), opts}, subject.Context(), *desc, bundleJSON, predicateType)
}

// putReferrer uploads a bundle as a referrer of subject (the empty config,
// the bundle layer, the manifest by digest) and returns the manifest's
// descriptor as a referrers list shows it.
func putReferrer(p putter, repo name.Repository, subject v1.Descriptor, bundleJSON []byte, predicateType string) (v1.Descriptor, error) {
	return putArtifact(p, repo, subject, artifact{
		artifactType: BundleMediaType, configType: emptyConfigMediaType, layer: bundleJSON, layerType: BundleMediaType,
		annotations: map[string]string{
			annotationCreated:         time.Now().UTC().Format(time.RFC3339),
			AnnotationBundleContent:   bundleContentDSSE,
			AnnotationBundlePredicate: predicateType,
		},
	})
}

// artifact is a referrer of one layer: a Sigstore bundle or a Notation
// signature envelope.
type artifact struct {
	// artifactType is the manifest's (cosign sets it on the config
	// descriptor too); "" leaves the type to the config's media type, as
	// Notation writes its signatures.
	artifactType, configType string
	layer                    []byte
	layerType                string
	annotations              map[string]string
}

// putArtifact uploads a as a referrer of subject (the config {}, the
// layer, the manifest by digest) and returns the manifest's descriptor as
// a referrers list shows it.
func putArtifact(p putter, repo name.Repository, subject v1.Descriptor, a artifact) (v1.Descriptor, error) {
	config, err := p.blob([]byte("{}"), types.MediaType(a.configType))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("uploading blob: %w", err)
	}
	layer, err := p.blob(a.layer, types.MediaType(a.layerType))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("uploading blob: %w", err)
	}
	config.ArtifactType = a.artifactType
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  a.artifactType,
		Config:        config,
		Layers:        []v1.Descriptor{layer},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:   a.annotations,
	}
	raw, err := jsonManifest(m)
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw.b))
	if err != nil {
		return v1.Descriptor{}, err
	}
	if err := p.manifest(repo.Digest(h.String()), raw); err != nil {
		return v1.Descriptor{}, fmt.Errorf("uploading referrer manifest: %w", err)
	}
	listed := cmp.Or(a.artifactType, a.configType)
	return v1.Descriptor{MediaType: m.MediaType, Digest: h, Size: int64(len(raw.b)), ArtifactType: listed, Annotations: m.Annotations}, nil
}

func partial(l v1.Layer) (v1.Descriptor, error) {
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	sz, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: sz}, nil
}

// rawManifest is a serialized manifest that remote.Put can upload as is, so
// the digest we compute is the digest the registry stores.
type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

func jsonManifest(m v1.Manifest) (rawManifest, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return rawManifest{}, fmt.Errorf("encoding manifest: %w", err)
	}
	return rawManifest{b: b, mt: m.MediaType}, nil
}
