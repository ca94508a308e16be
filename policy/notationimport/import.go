// Package notationimport moves a Notation trust policy (trustpolicy.json
// in notation v1.3, trustpolicy.oci.json in later specifications) and its
// trust store into trust-file terms: a policy.Spec with one notation
// identity per trusted identity and one image rule per statement, and, for
// every setting signet does not express the same way, a note saying what
// it became. It reads files only (an fs.FS over notation's configuration
// directory); a caller loads the Spec with policy.New or renders it.
package notationimport

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// Document is notation's OCI trust policy document (version 1.0).
type Document struct {
	Version       string      `json:"version"`
	TrustPolicies []Statement `json:"trustPolicies"`
}

// Statement is one trust policy statement.
type Statement struct {
	Name                  string       `json:"name"`
	RegistryScopes        []string     `json:"registryScopes"`
	SignatureVerification Verification `json:"signatureVerification"`
	TrustStores           []string     `json:"trustStores"`
	TrustedIdentities     []string     `json:"trustedIdentities"`
}

// Verification is a statement's signatureVerification.
type Verification struct {
	Level           string            `json:"level"`
	Override        map[string]string `json:"override,omitempty"`
	VerifyTimestamp string            `json:"verifyTimestamp,omitempty"`
}

// Result is the conversion: the identities and rules of a trust file
// (Images end with a deny rule unless a statement covers "*", as notation
// verifies nothing no statement covers), and the notes.
type Result struct {
	Spec  policy.Spec
	Notes []Note
}

// Note is a setting of a statement that signet expresses differently, or
// not at all, and what the conversion did with it.
type Note struct {
	Statement string `json:"statement"`
	Setting   string `json:"setting"`
	Message   string `json:"message"`
}

func (n Note) String() string { return fmt.Sprintf("%s: %s: %s", n.Statement, n.Setting, n.Message) }

// StatementError is a statement Convert refuses, named so a caller can
// point at it in the document.
type StatementError struct {
	Statement string
	Err       error
}

func (e *StatementError) Error() string {
	return fmt.Sprintf("trust policy statement %q: %v", e.Statement, e.Err)
}

func (e *StatementError) Unwrap() error { return e.Err }

// Convert reads a trust policy document and the trust store it names
// (store is rooted at notation's configuration directory, holding
// truststore/x509/<type>/<name>/*). A document that is not version 1.0, a
// named store that is missing or empty, or a trusted identity that does
// not parse is an error: the conversion never drops a restriction.
func Convert(trustPolicy []byte, store fs.FS) (*Result, error) {
	var doc Document
	if err := json.Unmarshal(trustPolicy, &doc); err != nil {
		return nil, fmt.Errorf("reading the notation trust policy: %w", err)
	}
	if doc.Version != "1.0" {
		return nil, fmt.Errorf("notation trust policy version %q: only 1.0 is known", doc.Version)
	}
	c := &converter{store: store}
	var wildcard []policy.RuleSpec
	for _, st := range doc.TrustPolicies {
		rule, err := c.statement(st)
		if err != nil {
			return nil, &StatementError{Statement: st.Name, Err: err}
		}
		if slices.Contains(st.RegistryScopes, "*") {
			rule.Match = []string{"**"}
			wildcard = append(wildcard, rule)
			continue
		}
		c.out.Spec.Images = append(c.out.Spec.Images, rule)
	}
	// notation prefers an exact scope to "*"; signet's first match wins.
	c.out.Spec.Images = append(c.out.Spec.Images, wildcard...)
	if len(wildcard) == 0 {
		c.out.Spec.Images = append(c.out.Spec.Images, policy.RuleSpec{Name: "not-in-notation-policy", Match: []string{"**"},
			Deny: "no notation trust policy statement covers this repository"})
	}
	return &c.out, nil
}

type converter struct {
	store fs.FS
	out   Result
}

func (c *converter) note(st Statement, setting, format string, args ...any) {
	c.out.Notes = append(c.out.Notes, Note{Statement: st.Name, Setting: setting, Message: fmt.Sprintf(format, args...)})
}

// statement converts one statement to its rule (and its identities).
func (c *converter) statement(st Statement) (policy.RuleSpec, error) {
	rule := policy.RuleSpec{Name: st.Name, Match: scopes(st)}
	v := st.SignatureVerification
	switch v.Level {
	case "skip":
		rule.Signature = policy.Optional
		c.note(st, "level: skip", "a pin-only rule: the digest is pinned, no signature is checked")
		return rule, nil
	case "audit":
		rule.Mode = policy.ModeAudit
		c.note(st, "level: audit", "mode: audit: every check runs and a failure is reported, the image admitted (notation's audit still enforces integrity; signet reports it too)")
	case "permissive":
		c.note(st, "level: permissive", "signet enforces expiry and denies a revoked certificate; an unknown revocation status is allowed (revocation.unreachable: allow), as permissive logs it")
	case "strict":
	default:
		return rule, fmt.Errorf("unknown verification level %q", v.Level)
	}
	dns, err := c.subjects(st)
	if err != nil {
		return rule, err
	}
	if len(dns) == 0 {
		rule.Signature, rule.Mode, rule.Deny = "", "", fmt.Sprintf("notation statement %q trusted every subject its CAs certify; pin the signer's subject to admit its images", st.Name)
		return rule, nil
	}
	n, err := c.anchors(st)
	if err != nil {
		return rule, err
	}
	c.settings(st, v, n)
	for i, dn := range dns {
		id := policy.IdentitySpec{Name: identityName(st.Name, i), Notation: clone(n)}
		id.Notation.SubjectAttributes = dn
		c.out.Spec.Identities = append(c.out.Spec.Identities, id)
		rule.SignedBy = append(rule.SignedBy, id.Name)
	}
	return rule, nil
}

// scopes are the statement's registry scopes as rule patterns: each names
// one repository exactly.
func scopes(st Statement) []string {
	var out []string
	for _, s := range st.RegistryScopes {
		if s != "*" {
			out = append(out, s)
		}
	}
	return out
}

// settings applies the level's and the overrides' revocation and
// timestamp settings, noting what has no counterpart.
func (c *converter) settings(st Statement, v Verification, n *policy.NotationSpec) {
	if v.Level == "permissive" {
		n.Revocation = &policy.RevocationSpec{Unreachable: policy.UnreachableAllow}
	}
	for _, check := range slices.Sorted(maps.Keys(v.Override)) {
		action := v.Override[check]
		switch {
		case check == "revocation" && action == "skip":
			n.Revocation = &policy.RevocationSpec{Check: policy.RevocationSkip}
		case check == "revocation" && action == "log":
			n.Revocation = &policy.RevocationSpec{Unreachable: policy.UnreachableAllow}
			c.note(st, "override revocation: log", "an unknown status is allowed; a certificate known to be revoked is still denied")
		case action == "enforce":
		default:
			c.note(st, "override "+check+": "+action, "signet always enforces %s; the override is not carried over", check)
		}
	}
	if v.VerifyTimestamp == "afterCertExpiry" && len(n.TimestampAuthorities) > 0 {
		n.VerifyTimestamp = policy.TimestampAfterCertExpiry
	}
}

// anchors reads the statement's trust stores into a notation identity's
// certificates, inline.
func (c *converter) anchors(st Statement) (*policy.NotationSpec, error) {
	n := &policy.NotationSpec{}
	for _, s := range st.TrustStores {
		typ, name, ok := strings.Cut(s, ":")
		if !ok {
			return nil, fmt.Errorf("trust store %q is not TYPE:NAME", s)
		}
		certs, err := c.storeCertificates(typ, name)
		if err != nil {
			return nil, err
		}
		switch typ {
		case "ca":
			n.CertificateAuthorities = append(n.CertificateAuthorities, certs...)
		case "signingAuthority":
			n.SigningAuthorities = append(n.SigningAuthorities, certs...)
		case "tsa":
			n.TimestampAuthorities = append(n.TimestampAuthorities, certs...)
		default:
			return nil, fmt.Errorf("unknown trust store type %q", typ)
		}
	}
	if len(n.CertificateAuthorities)+len(n.SigningAuthorities) == 0 {
		return nil, fmt.Errorf("names no ca or signingAuthority trust store")
	}
	return n, nil
}

// storeCertificates reads every file of truststore/x509/<typ>/<name>.
func (c *converter) storeCertificates(typ, name string) ([]policy.CertificateSpec, error) {
	dir := path.Join("truststore", "x509", typ, name)
	entries, err := fs.ReadDir(c.store, dir)
	if err != nil {
		return nil, fmt.Errorf("trust store %s:%s: %w", typ, name, err)
	}
	var out []policy.CertificateSpec
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := fs.ReadFile(c.store, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		certs, err := readStoreFile(data)
		if err != nil {
			return nil, fmt.Errorf("trust store %s:%s: %s: %w", typ, name, e.Name(), err)
		}
		out = append(out, policy.CertificateSpec{Certificate: string(certs)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("trust store %s:%s holds no certificate", typ, name)
	}
	return out, nil
}

// subjects parses the trusted identities ("x509.subject: DN"); "*" yields
// none (refused by the caller), another kind is an error.
func (c *converter) subjects(st Statement) ([]map[string]string, error) {
	var out []map[string]string
	for _, ti := range st.TrustedIdentities {
		if strings.TrimSpace(ti) == "*" {
			c.note(st, "trustedIdentities: *", "signet refuses an identity that trusts every subject its anchors certify; the statement's scopes are denied until a subject is pinned")
			return nil, nil
		}
		kind, value, ok := strings.Cut(ti, ":")
		if !ok || strings.TrimSpace(kind) != "x509.subject" {
			return nil, fmt.Errorf("trusted identity %q: only x509.subject identities are supported", ti)
		}
		dn, err := policy.ParseDN(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("trusted identity %q: %w", ti, err)
		}
		out = append(out, dn)
	}
	return out, nil
}

func identityName(statement string, i int) string {
	if i == 0 {
		return statement
	}
	return fmt.Sprintf("%s-%d", statement, i+1)
}

func clone(n *policy.NotationSpec) *policy.NotationSpec {
	c := *n
	return &c
}

// readStoreFile reads a trust store file as notation does (PEM, or DER as
// .cer/.crt files often are) and returns it as PEM.
func readStoreFile(data []byte) ([]byte, error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		if _, err := policy.ParseCertificates(data); err != nil {
			return nil, err
		}
		return data, nil
	}
	certs, err := x509.ParseCertificates(data)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("neither PEM nor DER certificates: %v", err)
	}
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out, nil
}
