package policy

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
)

// The normal form is what the policy means, with everything that does not
// change its meaning removed: YAML formatting, comments, key order, the order
// of identities and of set-like lists, default values spelled out or not, a
// key inline or in a file. Rule order is kept: the first match wins.
type normalPolicy struct {
	Sigstore    Sigstore         `json:"sigstore"`
	Identities  []normalIdentity `json:"identities"`
	Rules       []normalRule     `json:"rules"`
	Enforcement normalEnforce    `json:"enforcement"`
}

type normalIdentity struct {
	Name              string      `json:"name"`
	Issuer            string      `json:"issuer,omitempty"`
	CI                CI          `json:"ci,omitempty"`
	ServerURL         string      `json:"serverURL,omitempty"`
	Repository        string      `json:"repository,omitempty"`
	SignerRepository  string      `json:"signerRepository,omitempty"`
	Workflow          string      `json:"workflow,omitempty"`
	SignerRefs        []string    `json:"signerRefs,omitempty"`
	Refs              []string    `json:"refs,omitempty"`
	RunnerEnvironment string      `json:"runnerEnvironment,omitempty"`
	Triggers          []string    `json:"triggers,omitempty"`
	Subject           string      `json:"subject,omitempty"`
	SubjectRegexp     string      `json:"subjectRegExp,omitempty"`
	KeyID             string      `json:"keyID,omitempty"`
	KMS               string      `json:"kms,omitempty"`
	KeyTlog           Requirement `json:"keyTransparencyLog,omitempty"`

	// Notation is a notation identity's meaning (notation.go).
	Notation *normalNotation `json:"notation,omitempty"`
	// Sigstore is the identity's own section (identity_sigstore.go).
	Sigstore *Sigstore `json:"sigstore,omitempty"`
}

type normalRule struct {
	Name       string            `json:"name"`
	Match      []string          `json:"match"`
	Deny       string            `json:"deny,omitempty"`
	Signature  Requirement       `json:"signature"`
	SignedBy   []string          `json:"signedBy,omitempty"`
	Threshold  int               `json:"threshold"`
	Provenance *normalProvenance `json:"provenance,omitempty"`
	Platforms  Platforms         `json:"platforms"`
	Mode       Mode              `json:"mode,omitempty"`
	// Only when set, so files without pin: false keep their hash.
	NoPin bool `json:"noPin,omitempty"`
	// Where signatures are and what they must say (rule_signatures.go).
	SignatureRepository  string            `json:"signatureRepository,omitempty"`
	SignatureAnnotations map[string]string `json:"signatureAnnotations,omitempty"`

	// Attestations: normalAttestations (attestation_hash.go).
	Attestations []normalAttestation `json:"attestations,omitempty"`
}

type normalProvenance struct {
	Required            bool     `json:"required"`
	PredicateTypes      []string `json:"predicateTypes"`
	SignedBy            []string `json:"signedBy"`
	BuilderIDs          []string `json:"builderIDs,omitempty"`
	BuildTypes          []string `json:"buildTypes,omitempty"`
	SourceRepositories  []string `json:"sourceRepositories,omitempty"`
	SourceRefs          []string `json:"sourceRefs,omitempty"`
	SourceMatchesSigner bool     `json:"sourceMatchesSigner"`

	Conditions []normalCondition `json:"conditions,omitempty"`
}

type normalEnforce struct {
	Mode         Mode              `json:"mode"`
	Audit        []string          `json:"audit,omitempty"`
	Exempt       []string          `json:"exempt,omitempty"`
	AuditLabels  map[string]string `json:"auditLabels,omitempty"`
	ExemptLabels map[string]string `json:"exemptLabels,omitempty"`
}

func hashPolicy(p *Policy) string {
	n := normalPolicy{Sigstore: normalSigstore(p.Sigstore)}
	for _, id := range p.Identities {
		n.Identities = append(n.Identities, normalizeIdentity(id))
	}
	sortIdentities(n.Identities)
	for _, r := range p.Rules {
		n.Rules = append(n.Rules, normalizeRule(r))
	}
	n.Enforcement = normalEnforce{Mode: p.Enforcement.Mode, Audit: sorted(p.Enforcement.AuditNamespaces), Exempt: sorted(p.Enforcement.ExemptNamespaces),
		AuditLabels: p.Enforcement.AuditLabels, ExemptLabels: p.Enforcement.ExemptLabels} // maps marshal with sorted keys
	data, err := json.Marshal(n)
	if err != nil {
		panic("policy: marshalling normal form: " + err.Error()) // plain structs: cannot fail
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func sortIdentities(ids []normalIdentity) {
	slices.SortFunc(ids, func(a, b normalIdentity) int { return cmp.Compare(a.Name, b.Name) })
}

func normalizeIdentity(id *Identity) normalIdentity {
	n := normalIdentity{Name: id.Name}
	if k := id.Keyless; k != nil {
		n.Issuer, n.CI, n.ServerURL = k.Issuer, k.CI, k.ServerURL
		if k.Repository != nil {
			n.Repository = k.Repository.String()
		}
		n.SignerRepository, n.Workflow = k.SignerRepository, k.Workflow
		if k.SignerRepositoryPattern != nil {
			n.SignerRepository = k.SignerRepositoryPattern.String()
		}
		n.SignerRefs, n.Refs = globStrings(k.SignerRefs), globStrings(k.Refs)
		n.RunnerEnvironment, n.Triggers, n.Subject = k.RunnerEnvironment, sorted(k.Triggers), k.Subject
		if k.SubjectRegexp != nil {
			n.SubjectRegexp = k.SubjectRegexp.String()
		}
	}
	if k := id.Key; k != nil {
		n.KeyID, n.KMS, n.KeyTlog = k.KeyID, k.KMS, k.TransparencyLog
	}
	n.Notation = normalizeNotation(id.Notation)
	if id.Sigstore != nil {
		s := normalSigstore(*id.Sigstore)
		n.Sigstore = &s
	}
	return n
}

func normalizeRule(r *Rule) normalRule {
	n := normalRule{Name: r.Name, Match: globStrings(r.Match), Deny: r.Deny, Signature: r.Signature,
		SignedBy: sorted(IdentityNames(r.SignedBy)), Threshold: r.Threshold, Platforms: r.Platforms, Mode: r.Mode, NoPin: r.NoPin,
		SignatureRepository: r.SignatureRepository, SignatureAnnotations: r.SignatureAnnotations}
	if p := r.Provenance; p != nil {
		n.Provenance = &normalProvenance{
			Required: p.Required, PredicateTypes: sorted(p.PredicateTypes), SignedBy: sorted(IdentityNames(p.SignedBy)),
			BuilderIDs: globStrings(p.BuilderIDs), BuildTypes: sorted(p.BuildTypes),
			SourceRepositories: globStrings(p.SourceRepositories), SourceRefs: globStrings(p.SourceRefs),
			SourceMatchesSigner: p.SourceMatchesSigner, Conditions: normalConditions(p.Conditions),
		}
	}
	n.Attestations = normalAttestations(r.Attestations)
	return n
}

// globStrings returns the sorted, de-duplicated patterns: within one list
// order never matters (any match suffices).
func globStrings(gs []Glob) []string { return sorted(patterns(gs)) }

func sorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
