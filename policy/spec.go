package policy

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Spec is a trust file as Go values: the same fields, with the same names
// and defaults, as trust.yaml (a field left unset takes the file's
// default). New validates and compiles it with the very code that loads
// files, so a Policy built in Go has the hash, the warnings and the
// decisions of the same file written in YAML, and a mistake is refused the
// same way (with the field's path instead of a line).
type Spec struct {
	Sigstore    *SigstoreSpec    `yaml:"sigstore,omitempty"`
	Identities  []IdentitySpec   `yaml:"identities,omitempty"`
	Images      []RuleSpec       `yaml:"images"`
	Enforcement *EnforcementSpec `yaml:"enforcement,omitempty"`
}

// SigstoreSpec is the sigstore section.
type SigstoreSpec struct {
	TrustedRoot             string      `yaml:"trustedRoot,omitempty"`
	TransparencyLog         Requirement `yaml:"transparencyLog,omitempty"`
	SignedTimestamps        Requirement `yaml:"signedTimestamps,omitempty"`
	CertificateTransparency Requirement `yaml:"certificateTransparency,omitempty"`
}

// IdentitySpec is one identity: exactly one of Keyless, Key or Notation.
type IdentitySpec struct {
	Name     string        `yaml:"name"`
	Keyless  *KeylessSpec  `yaml:"keyless,omitempty"`
	Key      *KeySpec      `yaml:"key,omitempty"`
	Notation *NotationSpec `yaml:"notation,omitempty"`
	// Sigstore is the identity's own Sigstore section (identity_sigstore.go).
	Sigstore *SigstoreSpec `yaml:"sigstore,omitempty"`
}

// KeylessSpec is a keyless identity's certificate fields.
type KeylessSpec struct {
	Issuer            string   `yaml:"issuer"`
	CI                CI       `yaml:"ci,omitempty"`
	ServerURL         string   `yaml:"serverURL,omitempty"`
	Repository        string   `yaml:"repository,omitempty"`
	Project           string   `yaml:"project,omitempty"`
	Workflow          string   `yaml:"workflow,omitempty"`
	SignerRepository  string   `yaml:"signerRepository,omitempty"`
	SignerRefs        []string `yaml:"signerRefs,omitempty"`
	Refs              []string `yaml:"refs,omitempty"`
	RunnerEnvironment string   `yaml:"runnerEnvironment,omitempty"`
	Triggers          []string `yaml:"triggers,omitempty"`
	Subject           string   `yaml:"subject,omitempty"`
	SubjectRegExp     string   `yaml:"subjectRegExp,omitempty"`
}

// KeySpec is a key identity: exactly one of PublicKey (PEM), Path or KMS.
type KeySpec struct {
	PublicKey       string      `yaml:"publicKey,omitempty"`
	Path            string      `yaml:"path,omitempty"`
	KMS             string      `yaml:"kms,omitempty"`
	TransparencyLog Requirement `yaml:"transparencyLog,omitempty"`
}

// NotationSpec is a Notary Project (Notation) identity.
type NotationSpec struct {
	CertificateAuthorities []CertificateSpec `yaml:"certificateAuthorities,omitempty"`
	SigningAuthorities     []CertificateSpec `yaml:"signingAuthorities,omitempty"`
	TimestampAuthorities   []CertificateSpec `yaml:"timestampAuthorities,omitempty"`
	VerifyTimestamp        TimestampCheck    `yaml:"verifyTimestamp,omitempty"`
	Subject                string            `yaml:"subject,omitempty"`
	SubjectAttributes      map[string]string `yaml:"subjectAttributes,omitempty"`
	Revocation             *RevocationSpec   `yaml:"revocation,omitempty"`
}

// CertificateSpec is a trusted certificate: exactly one of Certificate
// (inline PEM) or Path (a PEM file of one or more certificates).
type CertificateSpec struct {
	Certificate string `yaml:"certificate,omitempty"`
	Path        string `yaml:"path,omitempty"`
}

// RevocationSpec is a Notation identity's revocation check.
type RevocationSpec struct {
	Check       RevocationCheck `yaml:"check,omitempty"`
	Unreachable Unreachable     `yaml:"unreachable,omitempty"`
	Timeout     string          `yaml:"timeout,omitempty"`
}

// RuleSpec is one image rule: Deny, Signature: Optional, or SignedBy.
type RuleSpec struct {
	Name       string          `yaml:"name,omitempty"`
	Match      []string        `yaml:"match"`
	Deny       string          `yaml:"deny,omitempty"`
	Signature  Requirement     `yaml:"signature,omitempty"`
	SignedBy   []string        `yaml:"signedBy,omitempty"`
	Threshold  int             `yaml:"threshold,omitempty"`
	Provenance *ProvenanceSpec `yaml:"provenance,omitempty"`
	Platforms  Platforms       `yaml:"platforms,omitempty"`
	Mode       Mode            `yaml:"mode,omitempty"`
	// Pin false keeps the workload's tag (Rule.NoPin); nil or true pins.
	Pin *bool `yaml:"pin,omitempty"`
	// Where signatures are and what they must say (rule_signatures.go).
	SignatureRepository  string            `yaml:"signatureRepository,omitempty"`
	SignatureAnnotations map[string]string `yaml:"signatureAnnotations,omitempty"`

	// Attestations: see AttestationSpec.
	Attestations []AttestationSpec `yaml:"attestations,omitempty"`
}

// ProvenanceSpec is a rule's provenance requirement. Required defaults to
// true (nil).
type ProvenanceSpec struct {
	Required            *bool    `yaml:"required,omitempty"`
	AllowSLSAv02        bool     `yaml:"allowSLSAv02,omitempty"`
	PredicateTypes      []string `yaml:"predicateTypes,omitempty"`
	SignedBy            []string `yaml:"signedBy,omitempty"`
	BuilderIDs          []string `yaml:"builderIDs,omitempty"`
	BuildTypes          []string `yaml:"buildTypes,omitempty"`
	SourceRepositories  []string `yaml:"sourceRepositories,omitempty"`
	SourceRefs          []string `yaml:"sourceRefs,omitempty"`
	SourceMatchesSigner bool     `yaml:"sourceMatchesSigner,omitempty"`

	Conditions []ConditionSpec `yaml:"conditions,omitempty"`
}

// AttestationSpec is an attestation a rule requires: Type is a predicate
// type name (PredicateTypeNames) or URI; MaxAge as in a trust file ("7d").
type AttestationSpec struct {
	Name               string          `yaml:"name,omitempty"`
	Type               string          `yaml:"type"`
	SignedBy           []string        `yaml:"signedBy,omitempty"`
	MaxAge             string          `yaml:"maxAge,omitempty"`
	TrustPredicateTime bool            `yaml:"trustPredicateTime,omitempty"`
	Conditions         []ConditionSpec `yaml:"conditions,omitempty"`
}

// ConditionSpec is one CEL condition.
type ConditionSpec struct {
	Name       string `yaml:"name,omitempty"`
	Expression string `yaml:"expression"`
	Message    string `yaml:"message,omitempty"`
}

// EnforcementSpec is the enforcement section.
type EnforcementSpec struct {
	Mode       Mode            `yaml:"mode,omitempty"`
	Namespaces *NamespacesSpec `yaml:"namespaces,omitempty"`
}

// NamespacesSpec selects audit and exempt namespaces by name or label.
type NamespacesSpec struct {
	Audit        []string          `yaml:"audit,omitempty"`
	Exempt       []string          `yaml:"exempt,omitempty"`
	AuditLabels  map[string]string `yaml:"auditLabels,omitempty"`
	ExemptLabels map[string]string `yaml:"exemptLabels,omitempty"`
}

// New compiles a Policy from s, as Parse compiles a trust file: the same
// validation (every problem at once, in a *LoadError naming each field),
// defaults, lint warnings and hash. Options are Parse's: WithBaseDir says
// where relative paths (a trusted_root.json, a key file) resolve,
// WithReadFile how they are read.
func New(s Spec, opts ...Option) (*Policy, error) {
	var n yaml.Node
	if err := n.Encode(s.document()); err != nil {
		return nil, fmt.Errorf("encoding the policy: %w", err)
	}
	return compile(&n, opts)
}

// Marshal renders s as a trust file (two-space indent), the document New
// compiles: what an importer writes for a user to read and keep.
func (s Spec) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(s.document()); err != nil {
		return nil, fmt.Errorf("encoding the policy: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding the policy: %w", err)
	}
	return b.Bytes(), nil
}

// document is s with the trust file's apiVersion and kind.
func (s Spec) document() any {
	return struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       `yaml:",inline"`
	}{APIVersion, Kind, s}
}
