// Package policy is signet's trust file: which workflow identities may ship
// which images. It parses trust.yaml strictly (every error names
// file:line:column and the field), or builds the same Policy in Go from a
// Spec (New, through the same validation); it compiles every matcher once
// at load time, hashes the policy's meaning, and answers two pure
// questions: which rule governs an image, and does a certificate or key
// satisfy an identity.
//
// It never touches the network: verify does the fetching and the
// cryptography, and asks this package what must hold.
package policy

import "slices"

// APIVersion and Kind identify a trust file.
const (
	APIVersion = "signet.dev/v1alpha1"
	Kind       = "TrustPolicy"
)

// Policy is a loaded, validated trust file. It is immutable and safe for
// concurrent use.
type Policy struct {
	// Source is the file it was loaded from, for messages.
	Source string
	// Hash is the content hash of the normalized policy ("sha256:<hex>"):
	// two files that mean the same thing have the same hash.
	Hash string

	Sigstore    Sigstore
	Identities  []*Identity // in file order
	Rules       []*Rule     // in file order; the first match wins
	Enforcement Enforcement
	// Warnings are what lint found questionable but legal, in file order.
	Warnings []Warning
	// Files are the files the policy was built from, in the order read,
	// with the digest of what was read: the trust file (when loaded with
	// LoadFile) and every file it names. What each means is in Hash (a key
	// file through its key id, a trusted root through its digest), so a
	// watcher that sees one change loads again and gets a new hash
	// (enforce's Reloader).
	Files []File

	byName map[string]*Identity
	index  ruleIndex
	memo   *matchMemo // nil for a Policy not built by compile: no memo
}

// NeedsTrustedRoot reports whether verifying under p can need a Sigstore
// trusted root: it has a keyless identity, or a key that must be logged.
func (p *Policy) NeedsTrustedRoot() bool {
	for _, id := range p.Identities {
		if id.Keyless != nil || id.Key != nil && id.Key.TransparencyLog == Required {
			return true
		}
	}
	return false
}

// Identity looks an identity up by name.
func (p *Policy) Identity(name string) (*Identity, bool) {
	id, ok := p.byName[name]
	return id, ok
}

// Requirement is "required" or "optional".
type Requirement string

const (
	Required Requirement = "required"
	Optional Requirement = "optional"
)

// Sigstore says which Sigstore instance to trust and which of its proofs a
// keyless signature must carry.
type Sigstore struct {
	// TrustedRoot is "public-good" (the embedded public-good TUF root) or the
	// path of a trusted_root.json, resolved relative to the trust file.
	TrustedRoot string
	// TrustedRootDigest is the sha256 of that file's content, or empty for
	// public-good. It is part of the policy hash.
	TrustedRootDigest string
	// TransparencyLog: a Rekor entry (v1 SET or inclusion proof, v2
	// inclusion proof). Default required.
	TransparencyLog Requirement
	// SignedTimestamps: an RFC 3161 timestamp. Default optional. A keyless
	// signature always needs at least one trusted time (log or timestamp).
	SignedTimestamps Requirement
	// CertificateTransparency: an SCT in the Fulcio certificate. Default required.
	CertificateTransparency Requirement
}

// PublicGood names the embedded public-good Sigstore trusted root.
const PublicGood = "public-good"

// Mode is enforce or audit.
type Mode string

const (
	ModeEnforce Mode = "enforce"
	ModeAudit   Mode = "audit"
)

// Enforcement configures the admission webhook.
type Enforcement struct {
	Mode             Mode
	AuditNamespaces  []string
	ExemptNamespaces []string
	// AuditLabels and ExemptLabels select namespaces by label (all listed
	// labels must match), in addition to the name lists.
	AuditLabels, ExemptLabels map[string]string
}

// NamespaceMode is how the webhook treats a namespace.
type NamespaceMode string

const (
	// NamespaceByRule: images are decided in their rules' modes (ModeOf).
	NamespaceByRule NamespaceMode = ""
	// NamespaceAudit: every violation is admitted and reported.
	NamespaceAudit NamespaceMode = "audit"
	// NamespaceExempt: nothing is verified.
	NamespaceExempt NamespaceMode = "exempt"
)

// NamespaceMode says how the webhook treats a namespace. labels may be nil
// when they are unknown; label rules then do not apply (fail closed: an
// unknown namespace is decided by its rules).
func (e Enforcement) NamespaceMode(name string, labels map[string]string) NamespaceMode {
	switch {
	case slices.Contains(e.ExemptNamespaces, name), matchLabels(e.ExemptLabels, labels):
		return NamespaceExempt
	case slices.Contains(e.AuditNamespaces, name), matchLabels(e.AuditLabels, labels):
		return NamespaceAudit
	}
	return NamespaceByRule
}

func matchLabels(sel, labels map[string]string) bool {
	if len(sel) == 0 || labels == nil {
		return false
	}
	for k, v := range sel {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
