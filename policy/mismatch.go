package policy

import "fmt"

// Mismatch is one field where what was presented (a certificate, a key, a
// provenance predicate) is not what the trust file expects: the identity
// whose condition failed (if one), the field, the expected value as the
// trust file states it, and the actual one. It is signet's one
// expected-against-actual type: identity matching and provenance
// conditions report with it, and verify's Reasons carry it.
type Mismatch struct {
	Identity string `json:"identity,omitempty"`
	Field    string `json:"field,omitempty"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	// msg is the sentence the check that found the mismatch wrote.
	msg string
}

// String is the mismatch as one sentence.
func (m Mismatch) String() string {
	if m.msg != "" {
		return m.msg
	}
	s := fmt.Sprintf("%s: expected %s, actual %q", m.Field, m.Expected, m.Actual)
	if m.Identity != "" {
		s = fmt.Sprintf("identity %q: %s", m.Identity, s)
	}
	return s
}

// certificateMismatch is a keyless identity's objection to a certificate.
func certificateMismatch(identity, field, expected, actual string) *Mismatch {
	return &Mismatch{Identity: identity, Field: field, Expected: expected, Actual: actual,
		msg: fmt.Sprintf("identity %q: %s: expected %s, certificate has %q", identity, field, expected, actual)}
}
