package ocisig

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Notary Project (Notation) signatures are OCI 1.1 referrers of the signed
// digest too, found in the same listing as Sigstore bundles: an image
// manifest whose config media type (Notation v1 leaves artifactType
// unset, so registries list the config's type) is the notary signature
// type, with exactly one layer, the signature envelope (JWS or COSE), and
// the chain's thumbprints as an annotation.
const (
	NotationArtifactType  = "application/vnd.cncf.notary.signature"
	NotationJWSMediaType  = "application/jose+json"
	NotationCOSEMediaType = "application/cose"
	// AnnotationNotationThumbprints is the JSON list of the SHA-256
	// fingerprints (hex) of the signature's certificate chain, leaf first.
	AnnotationNotationThumbprints = "io.cncf.notary.x509chain.thumbprint#S256"

	// LayoutNotation names where a Notation signature was found.
	LayoutNotation Layout = "notation"
)

// Notation is one Notary Project signature found as a referrer of the
// subject: its envelope, unverified.
type Notation struct {
	// Manifest is the digest of the signature manifest that carried it.
	Manifest v1.Hash
	// MediaType is the envelope's: NotationJWSMediaType or NotationCOSEMediaType.
	MediaType string
	Envelope  []byte
}

// IsNotationEnvelope accepts the envelope media types the Notary Project
// specifies.
func IsNotationEnvelope(mt string) bool {
	return mt == NotationJWSMediaType || mt == NotationCOSEMediaType
}

// notationCandidates picks the Notation signatures among a subject's
// listed referrers (nothing, and no request, when it names none): at most
// MaxItems, the newest first past that, and what was left as Unread. A
// cap is never a veto: what was read still decides.
func notationCandidates(subject name.Digest, listed []v1.Descriptor, now time.Time) ([]v1.Descriptor, []Unread) {
	var descs []v1.Descriptor
	for _, desc := range listed {
		if desc.ArtifactType == NotationArtifactType {
			descs = append(descs, desc)
		}
	}
	if len(descs) <= MaxItems {
		return descs, nil
	}
	unread := []Unread{{Subject: subject, Layout: LayoutNotation, Kind: KindSignature, Listed: len(descs), Read: MaxItems}}
	slices.SortStableFunc(descs, func(a, b v1.Descriptor) int { return created(b, now).Compare(created(a, now)) })
	return descs[:MaxItems], unread
}

// readNotation reads one signature manifest and its envelope. A manifest
// deleted since the listing (a signer replacing its earlier signature)
// counts as absent. A manifest that is not a Notation signature (not
// exactly one envelope layer) is returned with no envelope: verify records
// it as unreadable, never as a signature.
func readNotation(subject name.Digest, desc v1.Descriptor, opts []remote.Option) (*Notation, error) {
	ref := subject.Context().Digest(desc.Digest.String())
	img, err := remote.Image(ref, opts...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Notation signature %s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading Notation signature manifest %s: %w", ref, err)
	}
	n := &Notation{Manifest: desc.Digest}
	if len(m.Layers) != 1 || !IsNotationEnvelope(string(m.Layers[0].MediaType)) {
		return n, nil
	}
	l := m.Layers[0]
	if n.Envelope, err = readBlob(img, l); err != nil {
		return nil, fmt.Errorf("reading Notation envelope %s of %s: %w", l.Digest, ref, err)
	}
	n.MediaType = string(l.MediaType)
	return n, nil
}
