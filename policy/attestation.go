package policy

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/signet-dev/signet/internal/suggest"
)

// Attestation is one attestation a rule requires besides its signatures:
// an in-toto statement of one predicate type about the digest, signed by
// one of SignedBy, young enough (MaxAge) and satisfying every Condition.
// Every attestation of the type that is signed by one of SignedBy and young
// enough must satisfy the conditions, and at least one must exist: a newer
// scan with a critical finding denies even when an older clean one is still
// attached (a signer's re-run replaces its own earlier attestation of the
// type, so old results of the same signer do not linger).
type Attestation struct {
	// Name is how reasons and reports name the requirement: the rule's
	// name for it, else the predicate type's short name (or its URI).
	Name string
	// PredicateType is the full URI, read from the signed statement only.
	PredicateType string
	// SignedBy defaults to the rule's SignedBy.
	SignedBy []*Identity
	// MaxAge, when set, is how old an attestation may be, measured from its
	// trusted time: the earliest verified time of its signature (a
	// transparency log entry's integrated time or an RFC 3161 timestamp),
	// never a time the predicate claims, unless TrustPredicateTime.
	MaxAge time.Duration
	// TrustPredicateTime measures the age from the time the predicate
	// itself states (PredicateTimeFields), or from the trusted time when
	// that is earlier: a signer's claim can make an attestation older,
	// never younger than its signature.
	TrustPredicateTime bool
	// Conditions must all hold for each qualifying attestation.
	Conditions []*Condition
	// Field is the path of the requirement in the trust file
	// ("images[0].attestations[1]").
	Field string
}

// Predicate types signet names. Any other absolute URI is accepted as is.
const (
	PredicateSPDX       = "https://spdx.dev/Document"
	PredicateCycloneDX  = "https://cyclonedx.org/bom"
	PredicateVuln       = "https://cosign.sigstore.dev/attestation/vuln/v1"
	PredicateOpenVEX    = "https://openvex.dev/ns"
	PredicateTestResult = "https://in-toto.io/attestation/test-result/v0.1"
	PredicateVSA        = "https://slsa.dev/verification_summary/v1"
	PredicateLink       = "https://in-toto.io/Link/v1"
)

// predicateTypeNames are the short names a trust file's `type:` and
// `sign attest --type` accept, spelled as cosign's --type spells them
// where cosign has the type (so `cosign verify-attestation --type vuln`
// and `type: vuln` mean one thing), and named here where it does not.
var predicateTypeNames = map[string]string{
	"slsaprovenance1":  SLSAProvenanceV1,
	"slsaprovenance02": SLSAProvenanceV02,
	"spdx":             PredicateSPDX,
	"spdxjson":         PredicateSPDX,
	"cyclonedx":        PredicateCycloneDX,
	"vuln":             PredicateVuln,
	"openvex":          PredicateOpenVEX,
	"link":             PredicateLink,
	"test-result":      PredicateTestResult,
	"vsa":              PredicateVSA,
}

// PredicateTypeNames lists the short names of predicate types, sorted.
func PredicateTypeNames() []string { return slices.Sorted(maps.Keys(predicateTypeNames)) }

// ResolvePredicateType returns the predicate type URI a trust file or
// `sign attest --type` means by s: a short name (PredicateTypeNames) or an
// absolute URI, taken as is.
func ResolvePredicateType(s string) (string, error) {
	if uri, ok := predicateTypeNames[s]; ok {
		return uri, nil
	}
	if s == "slsaprovenance" {
		// cosign's "slsaprovenance" is SLSA v0.2, a trap for anyone who means v1.
		return "", fmt.Errorf("%q is ambiguous (cosign means SLSA v0.2 by it): write slsaprovenance1 (%s) or slsaprovenance02", s, SLSAProvenanceV1)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
		return "", fmt.Errorf("predicate type %q is neither a known name (%s) nor an absolute URI%s",
			s, strings.Join(PredicateTypeNames(), ", "), suggest.DidYouMean(s, PredicateTypeNames()))
	}
	return s, nil
}

// PredicateTypeName is the short name of a predicate type URI, or the URI
// when it has none: for messages.
func PredicateTypeName(uri string) string {
	for _, name := range PredicateTypeNames() {
		if predicateTypeNames[name] == uri && name != "spdxjson" {
			return name
		}
	}
	return uri
}

// PredicateTimeFields is where a predicate of each type states when it was
// made, for attestations whose rule says trustPredicateTime: the path of
// an RFC 3339 string in the predicate.
var PredicateTimeFields = map[string][]string{
	PredicateVuln:       {"metadata", "scanFinishedOn"},
	SLSAProvenanceV1:    {"runDetails", "metadata", "finishedOn"},
	SLSAProvenanceV02:   {"metadata", "buildFinishedOn"},
	PredicateVSA:        {"timeVerified"},
	PredicateCycloneDX:  {"metadata", "timestamp"},
	PredicateSPDX:       {"creationInfo", "created"},
	PredicateOpenVEX:    {"timestamp"},
	PredicateTestResult: {"timestamp"}, // not in the v0.1 schema; honoured when present
}

// PredicateTime reads the time a decoded predicate of the given type
// states about itself (PredicateTimeFields), or false.
func PredicateTime(predicateType string, predicate any) (time.Time, bool) {
	path, ok := PredicateTimeFields[predicateType]
	if !ok {
		return time.Time{}, false
	}
	v := predicate
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return time.Time{}, false
		}
		v = m[k]
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// AttestationHint is how a CI produces an attestation of the type: the
// `sign attest` command a missing attestation's reason suggests.
func AttestationHint(predicateType string) string {
	switch predicateType {
	case PredicateCycloneDX, PredicateSPDX:
		return "attach the image's SBOM in CI: `sign attest --sbom sbom.json IMAGE` (CycloneDX or SPDX JSON, e.g. from syft or trivy)"
	case PredicateVuln:
		return "attach a vulnerability scan in CI: `sign attest --vuln scan.json IMAGE` (Trivy `--format json` or Grype `-o json`)"
	case SLSAProvenanceV1:
		return "attest the build's provenance in CI: `sign image --attest IMAGE` or `sign attest IMAGE`"
	}
	return fmt.Sprintf("attach it in CI: `sign attest --predicate FILE --type %s IMAGE`", PredicateTypeName(predicateType))
}
