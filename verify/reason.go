package verify

import (
	"fmt"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
)

// ReasonCode says, for programs, why an image is (or in audit mode would
// be) denied, or why material on it did not count. A Reason's Message says
// it for people.
type ReasonCode string

// Decided by the policy alone, before any registry request.
const (
	CodeInvalidReference ReasonCode = "invalid-reference"
	CodeNoRule           ReasonCode = "no-rule"
	CodeDeniedByRule     ReasonCode = "denied-by-rule"
)

// Infrastructure: the decision could not be made (Decision.Transient).
const (
	CodeUnresolved             ReasonCode = "unresolved"
	CodeRegistryUnavailable    ReasonCode = "registry-unavailable"
	CodeTrustedRootUnavailable ReasonCode = "trusted-root-unavailable"
	CodeDeadlineExceeded       ReasonCode = "deadline-exceeded"
	// CodeOverloaded: the verifier's work in flight was at its bound.
	CodeOverloaded ReasonCode = "overloaded"
)

// Decided by what the registry holds for the digest.
const (
	CodeTooManySignatures    ReasonCode = "too-many-signatures"
	CodeTooManyPlatforms     ReasonCode = "too-many-platforms"
	CodeTooLarge             ReasonCode = "too-large"
	CodeNoSignature          ReasonCode = "no-signature"
	CodeUnreadable           ReasonCode = "unreadable"
	CodeWrongIdentity        ReasonCode = "wrong-identity"
	CodeWrongDigest          ReasonCode = "wrong-digest"
	CodeNoTrustedTime        ReasonCode = "no-trusted-time"
	CodeUntrustedCertificate ReasonCode = "untrusted-certificate"
	CodeInvalidSignature     ReasonCode = "invalid-signature"
	CodeThresholdNotMet      ReasonCode = "threshold-not-met"
	CodeWrongPredicateType   ReasonCode = "wrong-predicate-type"
	CodeNoProvenance         ReasonCode = "no-provenance"
	CodeProvenanceMismatch   ReasonCode = "provenance-mismatch"
	CodePlatformUnsigned     ReasonCode = "platform-unsigned"
)

// Decided by the admitted object: enforce's validating pass found a
// reference without the digest that was verified (a later mutating
// webhook removed the pin, or signet's mutating webhook did not run).
const CodeDigestNotPinned ReasonCode = "digest-not-pinned"

// Decided for Notation signatures (X.509 chains, timestamps, revocation).
const (
	// CodeCertificateExpired: a certificate of the chain was not valid
	// when it had to be (now, at the timestamp, at the signing time).
	CodeCertificateExpired ReasonCode = "certificate-expired"
	// CodeSignatureExpired: the envelope's signed expiry has passed.
	CodeSignatureExpired ReasonCode = "signature-expired"
	// CodeInvalidTimestamp: a timestamp is there but does not count (not
	// over the signature, not by a trusted TSA).
	CodeInvalidTimestamp ReasonCode = "invalid-timestamp"
	// CodeCertificateRevoked: OCSP or the CRL says a certificate is revoked.
	CodeCertificateRevoked ReasonCode = "certificate-revoked"
	// CodeRevocationUnknown: no responder answered (transient).
	CodeRevocationUnknown ReasonCode = "revocation-unknown"
)

// Decided by the attestations a rule requires (policy.Attestation) and by
// the CEL conditions of those and of provenance.
const (
	// CodeNoAttestation: no attestation of a required predicate type is
	// attached (its hint says how to attach one in CI).
	CodeNoAttestation ReasonCode = "no-attestation"
	// CodeAttestationTooOld: the attestation's trusted time is older than
	// the requirement's maxAge.
	CodeAttestationTooOld ReasonCode = "attestation-too-old"
	// CodeConditionFailed: a condition evaluated to false on an attestation.
	CodeConditionFailed ReasonCode = "condition-failed"
	// CodeConditionError: a condition could not be evaluated on an
	// attestation (a missing field, a type mismatch, an unreadable
	// statement): it fails closed.
	CodeConditionError ReasonCode = "condition-error"
	// CodeConditionCostExceeded: a condition's evaluation was stopped by
	// its cost budget: it fails closed.
	CodeConditionCostExceeded ReasonCode = "condition-cost-exceeded"
)

// Reason is one cause of a denial: a code, the field with what the trust
// file expected and what was found (when one field is at fault), the
// sentence for people and what to do about it. Its String is the text
// `sign verify`, the webhook and the PolicyReports show.
type Reason struct {
	Code ReasonCode `json:"code"`
	policy.Mismatch
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	// Registry is what a registry did, for a reason it caused (a transient
	// denial): its host, status and how often, typed.
	Registry *regclient.Failure `json:"registry,omitempty"`
	// Attestation names the attestation (and the condition) a reason is
	// about, when it is about one.
	Attestation *AttestationRef `json:"attestation,omitempty"`
}

// NewReason is a reason with a message; With and WithHint add the rest.
func NewReason(code ReasonCode, format string, args ...any) Reason {
	return Reason{Code: code, Message: fmt.Sprintf(format, args...)}
}

// With returns r carrying m as its expected-against-actual detail.
func (r Reason) With(m *policy.Mismatch) Reason {
	if m != nil {
		r.Mismatch = *m
	}
	return r
}

// WithRegistry returns r carrying what a registry did.
func (r Reason) WithRegistry(f *regclient.Failure) Reason {
	r.Registry = f
	return r
}

// WithHint returns r with what a developer can do about it.
func (r Reason) WithHint(hint string) Reason {
	r.Hint = hint
	return r
}

// String is the reason as one sentence: its message, then its hint.
func (r Reason) String() string {
	if r.Hint == "" {
		return r.Message
	}
	return r.Message + ": " + r.Hint
}
