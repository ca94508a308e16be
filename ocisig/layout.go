// Package ocisig reads and writes Sigstore signatures and attestations stored
// in an OCI registry, in the two layouts the ecosystem uses today:
//
//   - cosign's legacy layout: an image tagged sha256-<hex>.sig (signatures) or
//     sha256-<hex>.att (attestations) in the signed image's repository, one
//     layer per signature, the signature material carried in layer annotations;
//   - Sigstore bundle v0.3 stored as an OCI 1.1 referrer of the signed digest
//     (artifactType application/vnd.dev.sigstore.bundle.v0.3+json), found via the
//     referrers API or, on registries without it, the sha256-<hex> referrers tag.
//
// The package moves bytes; it never verifies anything. verify decides what the
// bytes prove, sign decides what to write.
package ocisig

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Media types and annotation keys, exactly as cosign v2/v3 write them.
const (
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	DSSEMediaType          = "application/vnd.dsse.envelope.v1+json"
	BundleMediaType        = "application/vnd.dev.sigstore.bundle.v0.3+json"
	InTotoPayloadType      = "application/vnd.in-toto+json"
	// InTotoStatementType is the _type of the in-toto v1 statements signed
	// in both layouts.
	InTotoStatementType = "https://in-toto.io/Statement/v1"

	// CosignSignPredicateType is the predicate of the in-toto statement that a
	// bundle-format image *signature* (not attestation) carries.
	CosignSignPredicateType = "https://sigstore.dev/cosign/sign/v1"

	AnnotationSignature        = "dev.cosignproject.cosign/signature"
	AnnotationCertificate      = "dev.sigstore.cosign/certificate"
	AnnotationChain            = "dev.sigstore.cosign/chain"
	AnnotationRekorBundle      = "dev.sigstore.cosign/bundle"
	AnnotationRFC3161Timestamp = "dev.sigstore.cosign/rfc3161timestamp"
	AnnotationPredicateType    = "predicateType"
	AnnotationBundleContent    = "dev.sigstore.bundle.content"
	AnnotationBundlePredicate  = "dev.sigstore.bundle.predicateType"
)

// Kind says whether material is a signature or an attestation.
type Kind string

const (
	KindSignature   Kind = "signature"
	KindAttestation Kind = "attestation"
)

// Layout names where material was found.
type Layout string

const (
	LayoutLegacy Layout = "legacy"
	LayoutBundle Layout = "bundle"
)

// Legacy is one layer of a cosign legacy .sig or .att image.
//
// For a signature, Payload is the simple-signing JSON and Signature the
// base64 signature over it. For an attestation, Payload is the DSSE envelope
// JSON (its signatures are inside it) and Signature is usually empty.
type Legacy struct {
	Kind          Kind
	MediaType     string
	Payload       []byte
	Signature     string // base64, from AnnotationSignature
	Certificate   []byte // PEM leaf, empty for key signatures
	Chain         []byte // PEM intermediates and root, may be empty
	RekorBundle   []byte // JSON of cosign's RekorBundle (SET + payload), may be empty
	RFC3161       []byte // JSON {"SignedRFC3161Timestamp": base64 DER}, may be empty
	PredicateType string // attestations only
}

// Bundle is one Sigstore bundle found as a referrer of the subject digest.
type Bundle struct {
	// Manifest is the digest of the referrer manifest that carried it.
	Manifest v1.Hash
	// PredicateType is the referrer's dev.sigstore.bundle.predicateType
	// annotation: a hint for filtering, never trusted for a decision.
	PredicateType string
	JSON          []byte
}

// Found is everything attached to one digest, in both layouts, the
// Notation signatures when they were asked for, and what was listed but
// left unread (over MaxItems).
type Found struct {
	Subject  v1.Hash
	Legacy   []Legacy
	Bundles  []Bundle
	Notation []Notation
	Unread   []Unread
}

// LegacyTag returns cosign's tag for a digest's legacy attachments:
// sha256-<hex>.sig or sha256-<hex>.att.
func LegacyTag(h v1.Hash, k Kind) string {
	suffix := "sig"
	if k == KindAttestation {
		suffix = "att"
	}
	return fmt.Sprintf("%s-%s.%s", h.Algorithm, h.Hex, suffix)
}

// IsBundleMediaType accepts both spellings of the v0.3 bundle media type.
func IsBundleMediaType(mt string) bool {
	return mt == BundleMediaType || strings.HasPrefix(mt, "application/vnd.dev.sigstore.bundle+json;version=0.3")
}

// RekorBundle is cosign's dev.sigstore.cosign/bundle annotation: a Rekor v1
// entry and its signed entry timestamp. cosign marshals Go's default field
// names outside and lower camel case in the payload; so do we.
type RekorBundle struct {
	SignedEntryTimestamp []byte
	Payload              RekorPayload
}

// RekorPayload is the entry a RekorBundle's SET signs.
type RekorPayload struct {
	Body           string `json:"body"` // base64 canonicalized entry
	IntegratedTime int64  `json:"integratedTime"`
	LogIndex       int64  `json:"logIndex"`
	LogID          string `json:"logID"` // hex
}

// RFC3161Timestamp is cosign's dev.sigstore.cosign/rfc3161timestamp
// annotation: a DER TimeStampResponse.
type RFC3161Timestamp struct {
	SignedRFC3161Timestamp []byte
}
