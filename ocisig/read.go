package ocisig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// Limits bound what one digest's attachments may cost to read: a registry
// is untrusted input, and verification runs on the admission hot path. The
// counts are checked on the listing (the .sig/.att manifest, the referrers
// index) before any item is fetched.
const (
	MaxItems     = 64      // per layout and kind
	MaxBlobBytes = 4 << 20 // one signature payload, envelope or bundle
	// Parallel is how many items of one listing are fetched at once.
	Parallel = 4
)

// Want selects what FetchWant reads. Signatures are always read.
type Want struct {
	// Attestations also reads the .att tag and attestation bundles (those
	// whose referrer does not announce the cosign signature predicate).
	Attestations bool
	// Notation also reads the Notation signatures the referrers listing
	// names (notation.go): no request when it names none. OnlyNotation
	// reads nothing else: no .sig tag, no bundle.
	Notation, OnlyNotation bool
	// NoReferrersAPI lists the referrers from the sha256-<hex> fallback
	// tag at once: the caller knows the registry has no referrers API (it
	// answered 404 to it lately), so asking it again would cost a request
	// and, before the bundles can be read, a round trip.
	NoReferrersAPI bool
}

// Unread is attached material listed but not read: more than MaxItems of
// one layout and kind. Reading stays bounded, and what was read still
// decides (a cap is never a veto); the decision says what was left.
type Unread struct {
	Subject name.Digest
	Layout  Layout
	// Kind is what the items are (legacy) or announce (bundle referrers;
	// those announcing nothing count as signatures).
	Kind Kind
	// Tag is the legacy tag that holds them; "" for bundle referrers.
	Tag          string
	Listed, Read int
}

func (u Unread) String() string {
	switch u.Layout {
	case LayoutNotation:
		return fmt.Sprintf("%s has %d Notation signatures attached as referrers, more than the %d signet reads: only the %d newest "+
			"were read; delete the stale ones (notation list %s shows them) and sign the digest once more",
			u.Subject, u.Listed, MaxItems, u.Read, u.Subject)
	case LayoutLegacy:
		return fmt.Sprintf("%s holds %d %ss, more than the %d signet reads: only the newest %d were read; each run of a signer "+
			"that appends added one; delete the tag (cosign clean --type %s %s) and sign the digest once more",
			u.Tag, u.Listed, u.Kind, MaxItems, u.Read, u.Kind, u.Subject)
	}
	return fmt.Sprintf("%s has %d Sigstore bundles attached as referrers, more than the %d signet reads: only the %d newest "+
		"announced as %ss were read; delete the stale ones (each is a referrer manifest in %s; oras discover %s lists them) "+
		"and sign the digest once more", u.Subject, u.Listed, MaxItems, u.Read, u.Kind, u.Subject.Context(), u.Subject)
}

// Fetch reads every signature and attestation attached to subject.
func Fetch(ctx context.Context, subject name.Digest, opts ...remote.Option) (*Found, error) {
	return FetchWant(ctx, subject, Want{Attestations: true}, opts...)
}

// FetchWant reads what want asks for attached to subject, in both layouts,
// concurrently. A layout with nothing attached is not an error; any other
// registry failure is, because "could not look" must never be read as
// "nothing there".
func FetchWant(ctx context.Context, subject name.Digest, want Want, opts ...remote.Option) (*Found, error) {
	h, err := v1.NewHash(subject.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("parsing digest of %s: %w", subject, err)
	}
	found := &Found{Subject: h}
	var sigs, atts layoutRead[Legacy]
	var bundles layoutRead[Bundle]
	var notation layoutRead[Notation]
	g, ctx := errgroup.WithContext(ctx)
	opts = append(opts, remote.WithContext(ctx))
	if !want.OnlyNotation {
		g.Go(func() (err error) { sigs, err = fetchLegacy(ctx, subject, h, KindSignature, opts); return })
	}
	if want.Attestations && !want.OnlyNotation {
		g.Go(func() (err error) { atts, err = fetchLegacy(ctx, subject, h, KindAttestation, opts); return })
	}
	g.Go(func() (err error) { bundles, notation, err = fetchReferrers(ctx, subject, want, opts); return })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	found.Legacy = append(sigs.items, atts.items...)
	found.Bundles = bundles.items
	found.Notation = notation.items
	found.Unread = slices.Concat(sigs.unread, atts.unread, bundles.unread, notation.unread)
	return found, nil
}

// layoutRead is what one layout yielded: the items read and what was left.
type layoutRead[T any] struct {
	items  []T
	unread []Unread
}

// fetchLegacy reads the .sig or .att tag: every layer, or past MaxItems
// the newest MaxItems (cosign appends, so the last ones).
func fetchLegacy(ctx context.Context, subject name.Digest, h v1.Hash, kind Kind, opts []remote.Option) (layoutRead[Legacy], error) {
	var r layoutRead[Legacy]
	tag := subject.Context().Tag(LegacyTag(h, kind))
	img, err := remote.Image(tag, opts...)
	if isNotFound(err) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("reading %s: %w", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return r, fmt.Errorf("reading manifest of %s: %w", tag, err)
	}
	layers := m.Layers
	if len(layers) > MaxItems {
		r.unread = []Unread{{Subject: subject, Layout: LayoutLegacy, Kind: kind, Tag: tag.String(), Listed: len(layers), Read: MaxItems}}
		layers = layers[len(layers)-MaxItems:]
	}
	out := make([]Legacy, len(layers))
	err = each(ctx, len(layers), func(i int) error {
		desc := layers[i]
		payload, err := readBlob(img, desc)
		if err != nil {
			return fmt.Errorf("reading %s layer %s: %w", tag, desc.Digest, err)
		}
		a := desc.Annotations
		out[i] = Legacy{
			Kind:          kind,
			MediaType:     string(desc.MediaType),
			Payload:       payload,
			Signature:     a[AnnotationSignature],
			Certificate:   []byte(a[AnnotationCertificate]),
			Chain:         []byte(a[AnnotationChain]),
			RekorBundle:   []byte(a[AnnotationRekorBundle]),
			RFC3161:       []byte(a[AnnotationRFC3161Timestamp]),
			PredicateType: a[AnnotationPredicateType],
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	r.items = out
	return r, nil
}

// fetchReferrers lists the subject's referrers once (ggcr falls back to
// the sha256-<hex> referrers tag when the registry has no referrers API)
// and reads from that one listing the Sigstore bundles (bundleCandidates:
// at most MaxItems of each announced kind) and, when want asks, the
// Notation signatures (notationCandidates), Parallel at a time.
func fetchReferrers(ctx context.Context, subject name.Digest, want Want, opts []remote.Option) (bundles layoutRead[Bundle], notation layoutRead[Notation], err error) {
	im, err := referrersIndex(subject, want, opts)
	if err != nil || im == nil {
		return bundles, notation, err
	}
	now := time.Now()
	if want.Notation || want.OnlyNotation {
		var descs []v1.Descriptor
		descs, notation.unread = notationCandidates(subject, im.Manifests, now)
		if notation.items, err = readListed(ctx, descs, func(d v1.Descriptor) (*Notation, error) { return readNotation(subject, d, opts) }); err != nil {
			return bundles, notation, err
		}
	}
	if want.OnlyNotation {
		return bundles, notation, nil
	}
	var descs []v1.Descriptor
	descs, bundles.unread = bundleCandidates(subject, im.Manifests, want, now)
	bundles.items, err = readListed(ctx, descs, func(d v1.Descriptor) (*Bundle, error) { return readBundle(subject, d, opts) })
	return bundles, notation, err
}

// referrersIndex is the subject's referrers index: through the referrers
// API (ggcr falls back to the tag on a 404), or from the fallback tag at
// once when want says the registry has no API. nil when nothing is listed.
func referrersIndex(subject name.Digest, want Want, opts []remote.Option) (*v1.IndexManifest, error) {
	if want.NoReferrersAPI {
		return fallbackIndex(subject.Context().Tag(fallbackTag(subject)), opts)
	}
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
	return im, nil
}

// readListed reads every listed item, Parallel at a time, keeping those
// read returns (nil: deleted since the listing, or nothing there after all).
func readListed[T any](ctx context.Context, descs []v1.Descriptor, read func(v1.Descriptor) (*T, error)) ([]T, error) {
	found := make([]*T, len(descs))
	err := each(ctx, len(descs), func(i int) (err error) {
		found[i], err = read(descs[i])
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []T
	for _, b := range found {
		if b != nil {
			out = append(out, *b)
		}
	}
	return out, nil
}

// each runs f(0..n-1), Parallel at a time, and returns the first error.
func each(ctx context.Context, n int, f func(i int) error) error {
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(Parallel)
	for i := range n {
		g.Go(func() error { return f(i) })
	}
	return g.Wait()
}

func readBundle(subject name.Digest, desc v1.Descriptor, opts []remote.Option) (*Bundle, error) {
	ref := subject.Context().Digest(desc.Digest.String())
	img, err := remote.Image(ref, opts...)
	if isNotFound(err) {
		// Listed, then deleted before we read it: a signer replacing its
		// own earlier bundle (sign re-runs do). Nothing is there to count,
		// and the listing's other referrers still decide.
		return nil, nil
	}
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
	return readLayer(desc, func() (v1.Layer, error) { return img.LayerByDigest(desc.Digest) })
}

// readLayer reads the layer get returns, refusing it by its descriptor's
// size before any request and by what arrives after MaxBlobBytes.
func readLayer(desc v1.Descriptor, get func() (v1.Layer, error)) ([]byte, error) {
	if desc.Size > MaxBlobBytes {
		return nil, &TooLargeError{Size: desc.Size}
	}
	l, err := get()
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
		return nil, &TooLargeError{Size: -1}
	}
	return data, nil
}

// maybeBundle filters referrers before reading them, on what the listing
// says: the bundle artifactType, or (since registries disagree on a
// referrer's artifactType, some report the config media type) one of the
// annotations cosign and signet put on every bundle referrer. The layer
// media type decides in readBundle. An SBOM, a Notation signature or junk
// costs nothing.
func maybeBundle(desc v1.Descriptor) bool {
	if IsBundleMediaType(desc.ArtifactType) {
		return true
	}
	_, content := desc.Annotations[AnnotationBundleContent]
	_, predicate := desc.Annotations[AnnotationBundlePredicate]
	return content || predicate
}

// announcesAttestation reports a referrer whose predicate annotation names
// something other than a cosign signature. The annotation is a hint: a
// bundle it mislabels is skipped, never trusted.
func announcesAttestation(desc v1.Descriptor) bool {
	p, ok := desc.Annotations[AnnotationBundlePredicate]
	return ok && p != CosignSignPredicateType
}

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
