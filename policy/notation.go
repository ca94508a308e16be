package policy

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Notation is an identity that signs with the Notary Project (Notation):
// an X.509 certificate chain, embedded in a JWS or COSE envelope, that
// must contain one of the identity's trust anchors and whose leaf subject
// the identity pins. Its trust material is in the trust file (inline or
// in files beside it), never in ~/.config/notation: it is compiled here, at
// load, and verification only reads it.
type Notation struct {
	// CertificateAuthorities anchor signatures of signing scheme
	// notary.x509 (Notation's trust store type "ca"); SigningAuthorities
	// anchor notary.x509.signingAuthority signatures ("signingAuthority",
	// e.g. AWS Signer). A signature is trusted only by the anchors of its
	// own scheme.
	CertificateAuthorities []Certificate
	SigningAuthorities     []Certificate
	// TimestampAuthorities are the roots of the RFC 3161 timestamp
	// authorities whose timestamps are trusted (trust store type "tsa").
	// Set, a notary.x509 signature must carry a timestamp that chains to
	// one (as Notation requires when its policy names a tsa store), and
	// the certificate chain must have been valid at the timestamp.
	TimestampAuthorities []Certificate
	// VerifyTimestamp is when a timestamp is checked: always (default) or
	// only once the signing chain has expired.
	VerifyTimestamp TimestampCheck
	// Subject pins the signer's full DN (every attribute, none more);
	// SubjectAttributes pins the attributes it names (the leaf may have
	// more), as Notation's "x509.subject:" trusted identities do. Exactly
	// one is set.
	Subject           DN
	SubjectAttributes DN
	Revocation        Revocation
}

// Certificate is a trusted certificate and its SHA-256 fingerprint (hex of
// the DER), which decisions and the policy hash name it by.
type Certificate struct {
	Cert        *x509.Certificate
	Fingerprint string
}

func newCertificate(c *x509.Certificate) Certificate {
	sum := sha256.Sum256(c.Raw)
	return Certificate{Cert: c, Fingerprint: hex.EncodeToString(sum[:])}
}

// String names the certificate in a message: its subject and fingerprint.
func (c Certificate) String() string {
	return fmt.Sprintf("%q (sha256:%s)", c.Cert.Subject.String(), c.Fingerprint[:16])
}

// TimestampCheck is Notation's verifyTimestamp.
type TimestampCheck string

const (
	TimestampAlways          TimestampCheck = "always"
	TimestampAfterCertExpiry TimestampCheck = "afterCertExpiry"
)

// Revocation is how a Notation identity checks that the certificates of a
// signature (and of its timestamp) are not revoked: OCSP, falling back to
// the certificate's CRL distribution points, each request bounded.
type Revocation struct {
	// Check is enforce (default) or skip (no revocation check at all).
	Check RevocationCheck
	// Unreachable is what a status that cannot be learnt (responder down,
	// timeout, an "unknown" answer) does: deny (default, fail closed) or
	// allow (the decision says the status was unknown). A certificate
	// known to be revoked is always denied.
	Unreachable Unreachable
	// Timeout bounds each OCSP or CRL request.
	Timeout time.Duration
}

// RevocationCheck is enforce or skip.
type RevocationCheck string

const (
	RevocationEnforce RevocationCheck = "enforce"
	RevocationSkip    RevocationCheck = "skip"
)

// Unreachable is deny or allow.
type Unreachable string

const (
	UnreachableDeny  Unreachable = "deny"
	UnreachableAllow Unreachable = "allow"
)

// Revocation request bounds: the default, and the most a trust file may
// set (an admission has about 10 s in all).
const (
	DefaultRevocationTimeout = 2 * time.Second
	MaxRevocationTimeout     = 5 * time.Second
)

// Signing schemes of the Notary Project signature specification.
const (
	SchemeX509                 = "notary.x509"
	SchemeX509SigningAuthority = "notary.x509.signingAuthority"
)

// Anchors are the trust anchors of a signing scheme.
func (n *Notation) Anchors(scheme string) []Certificate {
	if scheme == SchemeX509SigningAuthority {
		return n.SigningAuthorities
	}
	return n.CertificateAuthorities
}

// Anchor returns the trust anchor of scheme that the chain contains (the
// Notary Project's authenticity check: a certificate of the chain is one
// of the trust store's), or false.
func (n *Notation) Anchor(scheme string, chain []*x509.Certificate) (Certificate, bool) {
	for _, c := range chain {
		for _, a := range n.Anchors(scheme) {
			if a.Cert.Equal(c) {
				return a, true
			}
		}
	}
	return Certificate{}, false
}

// MatchSubject checks the signing certificate's subject against the
// identity's pin. It returns nil on a match and a *Mismatch otherwise.
func (n *Notation) MatchSubject(identity string, leaf *x509.Certificate) *Mismatch {
	field, want := "notation.subject", n.Subject
	if want == nil {
		field, want = "notation.subjectAttributes", n.SubjectAttributes
	}
	got, err := SubjectDN(leaf.Subject)
	if err != nil {
		return certificateMismatch(identity, field, want.String(), err.Error())
	}
	ok := want.Subset(got)
	if n.Subject != nil {
		ok = want.Equal(got)
	}
	if ok {
		return nil
	}
	return certificateMismatch(identity, field, n.ExpectedSubject(), got.String())
}

// ExpectedSubject describes the subjects the identity accepts.
func (n *Notation) ExpectedSubject() string {
	if n.Subject != nil {
		return quote(n.Subject.String())
	}
	return "a subject with " + quote(n.SubjectAttributes.String())
}

// normalNotation is a Notation identity's meaning for the policy hash:
// certificates by fingerprint (a file or inline PEM is the same anchor).
type normalNotation struct {
	CertificateAuthorities []string        `json:"certificateAuthorities,omitempty"`
	SigningAuthorities     []string        `json:"signingAuthorities,omitempty"`
	TimestampAuthorities   []string        `json:"timestampAuthorities,omitempty"`
	VerifyTimestamp        TimestampCheck  `json:"verifyTimestamp"`
	Subject                DN              `json:"subject,omitempty"`
	SubjectAttributes      DN              `json:"subjectAttributes,omitempty"`
	Revocation             RevocationCheck `json:"revocation"`
	Unreachable            Unreachable     `json:"unreachable"`
	TimeoutMillis          int64           `json:"timeoutMillis"`
}

func normalizeNotation(n *Notation) *normalNotation {
	if n == nil {
		return nil
	}
	return &normalNotation{
		CertificateAuthorities: fingerprints(n.CertificateAuthorities), SigningAuthorities: fingerprints(n.SigningAuthorities),
		TimestampAuthorities: fingerprints(n.TimestampAuthorities), VerifyTimestamp: n.VerifyTimestamp,
		Subject: n.Subject, SubjectAttributes: n.SubjectAttributes,
		Revocation: n.Revocation.Check, Unreachable: n.Revocation.Unreachable, TimeoutMillis: n.Revocation.Timeout.Milliseconds(),
	}
}

func fingerprints(cs []Certificate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Fingerprint
	}
	return sorted(out)
}

func explainNotation(name string, n *Notation) ExplainedIdentity {
	e := ExplainedIdentity{Name: name, Type: "notation", Subject: n.ExpectedSubject(), Revocation: n.Revocation.describe()}
	for _, c := range n.CertificateAuthorities {
		e.Anchors = append(e.Anchors, "ca "+c.String())
	}
	for _, c := range n.SigningAuthorities {
		e.Anchors = append(e.Anchors, "signingAuthority "+c.String())
	}
	for _, c := range n.TimestampAuthorities {
		e.TimestampAuthorities = append(e.TimestampAuthorities, c.String())
	}
	return e
}

func (r Revocation) describe() string {
	if r.Check == RevocationSkip {
		return "not checked"
	}
	return fmt.Sprintf("OCSP, then CRL; %s timeout per request; unreachable: %s", r.Timeout, r.Unreachable)
}

func (id ExplainedIdentity) writeNotation(b *strings.Builder) {
	fmt.Fprintf(b, "  - %s: notation (X.509), subject %s\n", id.Name, id.Subject)
	for _, a := range id.Anchors {
		fmt.Fprintf(b, "      anchor              %s\n", a)
	}
	for _, t := range id.TimestampAuthorities {
		fmt.Fprintf(b, "      timestamp root      %s\n", t)
	}
	fmt.Fprintf(b, "      revocation          %s\n", id.Revocation)
}
