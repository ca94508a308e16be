package ocisig

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Action is what a write did about the signer's own earlier entries.
type Action string

const (
	// ActionAdded: nothing of this signer's was there; the entry was added.
	ActionAdded Action = "added"
	// ActionReplaced: the signer's earlier entries were removed and the new
	// one added (or, for an identical legacy layer, kept).
	ActionReplaced Action = "replaced"
	// ActionUnchanged: the identical entry was already there; nothing was
	// written.
	ActionUnchanged Action = "unchanged"
)

// Outcome reports one write: the action, the earlier entries of the same
// signer that it removed (layer digests in the legacy layout, referrer
// manifest digests in the bundle layout) and, when one could not be
// removed, why.
type Outcome struct {
	Action   Action   `json:"action"`
	Replaced []string `json:"replaced,omitempty"`
	Warning  string   `json:"warning,omitempty"`
}

// SameSigner reports whether an attached entry was made by the signer who
// is writing now, for the same claim (the same signed payload, or an
// attestation of the same predicate type). Only entries it accepts are
// ever removed: another signer's entry always survives a write.
type (
	SameLegacy func(Legacy) bool
	SameBundle func(Bundle) bool
)

// maxWriteAttempts bounds the read-modify-write loop of a layout kept in
// one manifest (.sig/.att images, the referrers fallback tag), which
// registries cannot update atomically: after each write the manifest is
// read back, and a concurrent writer that dropped our entry makes us merge
// again.
const maxWriteAttempts = 3

// maxCandidates bounds how many earlier entries of the same claim are read
// to find the signer's own: a re-run replaces what earlier runs wrote, and
// a digest that a broken signer appended to past the readers' cap is
// repaired by the first run that reads them all.
const maxCandidates = 4 * MaxItems

// ReplaceLegacy writes item to the subject's .sig or .att image and removes
// the layers of the same signer and claim that same accepts. An identical
// layer already there is kept and nothing is written. Other layers are
// kept byte for byte, in order.
func ReplaceLegacy(ctx context.Context, subject name.Digest, item Legacy, same SameLegacy, opts ...remote.Option) (Outcome, error) {
	return replaceLegacy(ctx, subject, item, same, remotePutter{subject.Context(), shareReads(append(opts, remote.WithContext(ctx)))})
}

// ReplaceLegacy is the package's ReplaceLegacy through the Writer.
func (w *Writer) ReplaceLegacy(ctx context.Context, subject name.Digest, item Legacy, same SameLegacy) (Outcome, error) {
	return replaceLegacy(ctx, subject, item, same, writerPutter{w: w, ctx: ctx})
}

func replaceLegacy(ctx context.Context, subject name.Digest, item Legacy, same SameLegacy, p putter) (Outcome, error) {
	h, err := v1.NewHash(subject.DigestStr())
	if err != nil {
		return Outcome{}, fmt.Errorf("writing signature for %s: %w", subject, err)
	}
	if item.Kind != KindSignature && item.Kind != KindAttestation {
		return Outcome{}, fmt.Errorf("writing signature for %s: unknown kind %q", subject, item.Kind)
	}
	tag := subject.Context().Tag(LegacyTag(h, item.Kind))
	w := legacyWrite{tag: tag, item: item, same: same, put: p, opts: p.reads()}
	w.layer = static.NewLayer(item.Payload, types.MediaType(item.MediaType))
	if w.digest, err = w.layer.Digest(); err != nil {
		return Outcome{}, err
	}
	w.key = layerKey(w.digest, item.annotations())
	for attempt := 1; ; attempt++ {
		out, err := w.once()
		if err == nil && out.Action != ActionUnchanged {
			var ok bool
			if ok, err = w.present(); err == nil && !ok {
				if attempt < maxWriteAttempts {
					continue
				}
				err = fmt.Errorf("a concurrent writer replaced the tag %d times in a row; the entry is not there", attempt)
			}
		}
		if err != nil {
			return out, fmt.Errorf("writing %s for %s to %s: %w", item.Kind, subject, tag, err)
		}
		return out, nil
	}
}

type legacyWrite struct {
	tag    name.Tag
	item   Legacy
	same   SameLegacy
	put    putter
	opts   []remote.Option
	layer  v1.Layer
	digest v1.Hash
	key    string
}

// once reads the tag, drops the signer's earlier layers and writes the
// result with the new layer appended.
func (w *legacyWrite) once() (Outcome, error) {
	layers, err := w.current()
	if err != nil {
		return Outcome{}, err
	}
	var keep []v1.Descriptor
	var out Outcome
	identical, candidates := false, 0
	for _, desc := range layers {
		switch {
		case layerKey(desc.Digest, desc.Annotations) == w.key:
			identical = true
		case w.candidate(desc) && candidates < maxCandidates:
			candidates++
			ours, err := w.ours(desc)
			if err != nil {
				return out, err
			}
			if ours {
				out.Replaced = append(out.Replaced, desc.Digest.String())
				continue
			}
		}
		keep = append(keep, desc)
	}
	switch {
	case identical && len(out.Replaced) == 0:
		out.Action = ActionUnchanged
		return out, nil
	case len(out.Replaced) > 0:
		out.Action = ActionReplaced
	default:
		out.Action = ActionAdded
	}
	var add v1.Layer
	if !identical {
		add = w.layer
	}
	return out, putLegacy(w.tag, keep, w.item.Payload, add, w.item.annotations(), w.put)
}

// present reads the tag back: is our layer, or one of the same signer's
// (a concurrent run of the same job), there?
func (w *legacyWrite) present() (bool, error) {
	layers, err := w.current()
	if err != nil {
		return false, err
	}
	for _, desc := range layers {
		if layerKey(desc.Digest, desc.Annotations) == w.key {
			return true, nil
		}
		if w.candidate(desc) {
			if ours, err := w.ours(desc); err != nil || ours {
				return ours, err
			}
		}
	}
	return false, nil
}

func (w *legacyWrite) current() ([]v1.Descriptor, error) {
	desc, err := remote.Get(w.tag, w.opts...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", w.tag, err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, fmt.Errorf("parsing manifest of %s: %w", w.tag, err)
	}
	return m.Layers, nil
}

// candidate: a layer with the same claim as ours, cheaply decided from
// its descriptor: the same payload (signatures), or an attestation of the
// same predicate type.
func (w *legacyWrite) candidate(desc v1.Descriptor) bool {
	if w.same == nil || string(desc.MediaType) != w.item.MediaType {
		return false
	}
	if w.item.Kind == KindSignature {
		return desc.Digest == w.digest
	}
	return desc.Annotations[AnnotationPredicateType] == w.item.PredicateType
}

func (w *legacyWrite) ours(desc v1.Descriptor) (bool, error) {
	payload := w.item.Payload // the same digest: the same bytes
	if desc.Digest != w.digest {
		var err error
		if payload, err = readRepoBlob(w.tag.Context(), desc, w.opts); err != nil {
			return false, fmt.Errorf("reading %s layer %s: %w", w.tag, desc.Digest, err)
		}
	}
	return w.same(legacyFromLayer(w.item.Kind, desc, payload)), nil
}

func legacyFromLayer(kind Kind, desc v1.Descriptor, payload []byte) Legacy {
	a := desc.Annotations
	return Legacy{
		Kind: kind, MediaType: string(desc.MediaType), Payload: payload,
		Signature:     a[AnnotationSignature],
		Certificate:   []byte(a[AnnotationCertificate]),
		Chain:         []byte(a[AnnotationChain]),
		RekorBundle:   []byte(a[AnnotationRekorBundle]),
		RFC3161:       []byte(a[AnnotationRFC3161Timestamp]),
		PredicateType: a[AnnotationPredicateType],
	}
}

// putLegacy writes a cosign signatures image (OCI manifest, OCI config)
// with the kept layer descriptors as they were and, if add is set, one new
// layer (payload) with annotations ann. cosign's layers are uncompressed,
// so each layer's diff ID is its digest.
func putLegacy(tag name.Tag, keep []v1.Descriptor, payload []byte, add v1.Layer, ann map[string]string, p putter) error {
	layers := append([]v1.Descriptor(nil), keep...)
	if add != nil {
		mt, err := add.MediaType()
		if err != nil {
			return err
		}
		d, err := p.blob(payload, mt)
		if err != nil {
			return fmt.Errorf("uploading layer: %w", err)
		}
		d.Annotations = ann
		layers = append(layers, d)
	}
	cfg := v1.ConfigFile{RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{}}}
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.Digest)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	cd, err := p.blob(raw, types.OCIConfigJSON)
	if err != nil {
		return fmt.Errorf("uploading config: %w", err)
	}
	m, err := jsonManifest(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cd, Layers: layers})
	if err != nil {
		return err
	}
	return p.manifest(tag, m)
}

// putter uploads blobs and manifests: through go-containerregistry with
// the caller's options, or through a Writer.
type putter interface {
	blob(data []byte, mt types.MediaType) (v1.Descriptor, error)
	manifest(ref name.Reference, m rawManifest) error
	reads() []remote.Option
}

type remotePutter struct {
	repo name.Repository
	opts []remote.Option
}

func (p remotePutter) blob(data []byte, mt types.MediaType) (v1.Descriptor, error) {
	l := static.NewLayer(data, mt)
	if err := remote.WriteLayer(p.repo, l, p.opts...); err != nil {
		return v1.Descriptor{}, err
	}
	return partial(l)
}

func (p remotePutter) manifest(ref name.Reference, m rawManifest) error {
	return remote.Put(ref, m, p.opts...)
}

func (p remotePutter) reads() []remote.Option { return p.opts }

type writerPutter struct {
	w   *Writer
	ctx context.Context
}

func (p writerPutter) blob(data []byte, mt types.MediaType) (v1.Descriptor, error) {
	return p.w.Blob(p.ctx, data, mt)
}

func (p writerPutter) manifest(ref name.Reference, m rawManifest) error {
	return p.w.Manifest(p.ctx, ref.Identifier(), m.b, m.mt)
}

func (p writerPutter) reads() []remote.Option { return p.w.readOpts(p.ctx) }

// readRepoBlob reads one small blob of repo by descriptor, bounded like
// the readers bound it; go-containerregistry verifies its digest.
func readRepoBlob(repo name.Repository, desc v1.Descriptor, opts []remote.Option) ([]byte, error) {
	return readLayer(desc, func() (v1.Layer, error) { return remote.Layer(repo.Digest(desc.Digest.String()), opts...) })
}
