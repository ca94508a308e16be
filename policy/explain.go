package policy

import (
	"fmt"
	"io"
	"strings"
)

// Explanation says, without touching a registry, which rule governs an
// image and exactly what it requires: `sign policy explain` renders it as
// text or JSON.
type Explanation struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Repository is the image's normalized repository.
	Repository string        `json:"repository"`
	Rule       ExplainedRule `json:"rule"`
	// Decision is the rule's kind: what a decision under it needs.
	Decision RuleKind `json:"decision"`
	// DenyMessage is a deny rule's message.
	DenyMessage string `json:"denyMessage,omitempty"`
	// Threshold distinct signers of Identities must sign the digest.
	Threshold  int                  `json:"threshold,omitempty"`
	Identities []ExplainedIdentity  `json:"identities,omitempty"`
	Provenance *ExplainedProvenance `json:"provenance,omitempty"`
	// Attestations are the other attestations the rule requires.
	Attestations []ExplainedAttestation `json:"attestations,omitempty"`
	Platforms    Platforms              `json:"platforms,omitempty"`
	Mode         Mode                   `json:"mode"`
	PolicyHash   string                 `json:"policyHash"`

	// Where the signatures are and what they must say (explain_signatures.go).
	Signature            Requirement       `json:"signature,omitempty"`
	SignatureRepository  string            `json:"signatureRepository,omitempty"`
	SignatureAnnotations map[string]string `json:"signatureAnnotations,omitempty"`
}

// ExplainedRule names the rule that matched.
type ExplainedRule struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`
	Pattern string `json:"pattern"`
}

// ExplainedIdentity is what one identity pins: a key, or certificate fields.
// Every field of the trust file's identity shows up in it (a test holds it
// to that), so a mismatch that preflight would report can be read off
// before CI runs.
type ExplainedIdentity struct {
	Name string `json:"name"`
	// Type is "key", "keyless" or "notation".
	Type  string `json:"type"`
	KeyID string `json:"keyID,omitempty"`
	KMS   string `json:"kms,omitempty"`
	// TransparencyLog is a key's requirement of a Rekor entry.
	TransparencyLog Requirement `json:"transparencyLog,omitempty"`
	Issuer          string      `json:"issuer,omitempty"`
	CI              CI          `json:"ci,omitempty"`
	// Subject describes the SAN: exact, a workflow at a ref ("<ref>" when
	// more than one is allowed), or the anchored regexp.
	Subject string `json:"subject,omitempty"`
	// SubjectRegExp is set when Subject is a regexp.
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
	// SignerWorkflow is the Build Signer URI up to its ref: the workflow
	// file (a reusable workflow's, with signerRepository) that must sign.
	SignerWorkflow string `json:"signerWorkflow,omitempty"`
	// SignerRefs are the refs that signer workflow may run at: the ref
	// after "@" in a caller's `uses:` of a reusable workflow.
	SignerRefs        []string `json:"signerRefs,omitempty"`
	SourceRepository  string   `json:"sourceRepository,omitempty"`
	SourceRefs        []string `json:"sourceRefs,omitempty"`
	RunnerEnvironment string   `json:"runnerEnvironment,omitempty"`
	Triggers          []string `json:"triggers,omitempty"`
	// Anchors and TimestampAuthorities are a notation identity's trusted
	// certificates, by subject and fingerprint; Revocation its check.
	Anchors              []string `json:"anchors,omitempty"`
	TimestampAuthorities []string `json:"timestampAuthorities,omitempty"`
	Revocation           string   `json:"revocation,omitempty"`

	// TrustedRoot is the identity's own Sigstore trusted root, when it has one.
	TrustedRoot string `json:"trustedRoot,omitempty"`
}

// ExplainedProvenance is the attestation a rule requires.
type ExplainedProvenance struct {
	Required       bool     `json:"required"`
	PredicateTypes []string `json:"predicateTypes"`
	SignedBy       []string `json:"signedBy"`
	// Conditions are the predicate's checks, one sentence each.
	Conditions []string `json:"conditions,omitempty"`
}

// Explain matches image and describes the rule that governs it.
func (p *Policy) Explain(image string) (*Explanation, error) {
	m, err := p.Match(image)
	if err != nil {
		return nil, err
	}
	r := m.Rule
	e := &Explanation{APIVersion: APIVersion, Kind: "Explanation", Repository: m.Repository,
		Rule: ExplainedRule{Index: r.Index, Name: r.Name, Pattern: m.Pattern}, Decision: r.Kind(),
		Mode: m.Mode, PolicyHash: p.Hash}
	switch r.Kind() {
	case RuleDeny:
		e.DenyMessage = r.Deny
		return e, nil
	case RulePinOnly:
		return e, nil
	}
	e.Threshold, e.Platforms = r.Threshold, r.Platforms
	for _, id := range r.SignedBy {
		e.Identities = append(e.Identities, explainIdentity(id))
	}
	if pv := r.Provenance; pv != nil {
		e.Provenance = &ExplainedProvenance{Required: pv.Required, PredicateTypes: pv.PredicateTypes,
			SignedBy: IdentityNames(pv.SignedBy), Conditions: append(provenanceConditions(pv), explainConditions(pv.Conditions)...)}
	}
	for _, a := range r.Attestations {
		e.Attestations = append(e.Attestations, explainAttestation(a))
	}
	e.explainSignatures(r)
	return e, nil
}

func explainIdentity(id *Identity) ExplainedIdentity {
	if k := id.Key; k != nil {
		return ExplainedIdentity{Name: id.Name, Type: "key", KeyID: keyIDOf(k), KMS: k.KMS, TransparencyLog: k.TransparencyLog}
	}
	if n := id.Notation; n != nil {
		return explainNotation(id.Name, n)
	}
	k := id.Keyless
	e := ExplainedIdentity{Name: id.Name, Type: "keyless", Issuer: k.Issuer, CI: k.CI, Subject: k.ExpectedSAN(),
		RunnerEnvironment: k.RunnerEnvironment, Triggers: k.Triggers, SignerRefs: patterns(k.SignerRefs),
		SourceRefs: patterns(k.Refs)}
	if k.SubjectRegexp != nil {
		e.SubjectRegExp = k.SubjectRegexp.String()
	}
	if k.Workflow != "" {
		e.SignerWorkflow = strings.TrimSuffix(k.signerPrefix(), "@")
	}
	if id.Sigstore != nil {
		e.TrustedRoot = id.Sigstore.TrustedRoot
	}
	if k.Repository != nil {
		e.SourceRepository = k.ServerURL + "/" + k.Repository.String()
	}
	return e
}

func keyIDOf(k *Key) string {
	if k.KeyID == "" {
		return ""
	}
	return "sha256:" + k.KeyID
}

func provenanceConditions(pv *Provenance) []string {
	var out []string
	if len(pv.BuilderIDs) > 0 {
		out = append(out, "builder id "+joinGlobs(pv.BuilderIDs, " | "))
	}
	if len(pv.BuildTypes) > 0 {
		out = append(out, "build type "+strings.Join(pv.BuildTypes, " | "))
	}
	if len(pv.SourceRepositories) > 0 {
		out = append(out, "source repository "+joinGlobs(pv.SourceRepositories, " | "))
	}
	if len(pv.SourceRefs) > 0 {
		out = append(out, "source ref "+joinGlobs(pv.SourceRefs, " | "))
	}
	if pv.SourceMatchesSigner {
		out = append(out, "source repository equals the signing certificate's Source Repository URI")
	}
	return out
}

// WriteJSON writes the explanation as `sign policy explain -o json` prints it.
func (e *Explanation) WriteJSON(w io.Writer) error { return writeJSON(w, e) }

// WriteText writes the explanation as `sign policy explain` prints it.
func (e *Explanation) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "image       %s\n", e.Repository)
	fmt.Fprintf(&b, "rule        %s (images[%d], matched %q, %s rule)\n", e.Rule.Name, e.Rule.Index, e.Rule.Pattern, e.Decision)
	switch e.Decision {
	case RuleDeny:
		fmt.Fprintf(&b, "decision    always denied: %s\n", e.DenyMessage)
	case RulePinOnly:
		fmt.Fprintf(&b, "decision    allowed without a signature; the digest is pinned\n")
	default:
		e.writeSignatureRule(&b)
	}
	fmt.Fprintf(&b, "mode        %s\n", e.Mode)
	fmt.Fprintf(&b, "policy      %s\n", e.PolicyHash)
	_, err := io.WriteString(w, b.String())
	return err
}

func (e *Explanation) writeSignatureRule(b *strings.Builder) {
	distinct := ""
	if e.Threshold > 1 {
		distinct = ", each a distinct signer (key or certificate identity),"
	}
	fmt.Fprintf(b, "requires    %d of %d identities%s to sign the digest\n", e.Threshold, len(e.Identities), distinct)
	for _, id := range e.Identities {
		id.writeText(b)
	}
	e.writeSignatures(b)
	if pv := e.Provenance; pv != nil {
		req := "optional"
		if pv.Required {
			req = "required"
		}
		fmt.Fprintf(b, "provenance  %s: %s signed by [%s]\n", req, strings.Join(pv.PredicateTypes, " or "), strings.Join(pv.SignedBy, ", "))
		for _, c := range pv.Conditions {
			fmt.Fprintf(b, "            - %s\n", c)
		}
	}
	for _, a := range e.Attestations {
		a.writeText(b)
	}
	if e.Platforms == PlatformsAll {
		fmt.Fprintf(b, "platforms   every platform of a multi-arch index must be signed\n")
	}
}

func (id ExplainedIdentity) writeText(b *strings.Builder) {
	if id.Type == "notation" {
		id.writeNotation(b)
		return
	}
	if id.Type == "key" {
		key := id.KeyID
		if id.KMS != "" {
			key = id.KMS
		}
		fmt.Fprintf(b, "  - %s: key %s\n", id.Name, key)
		fmt.Fprintf(b, "      transparency log    %s\n", id.TransparencyLog)
		return
	}
	fmt.Fprintf(b, "  - %s: keyless (%s), issuer %s\n", id.Name, id.CI, id.Issuer)
	if id.SubjectRegExp != "" {
		fmt.Fprintf(b, "      subject (SAN) regexp %s\n", id.SubjectRegExp)
	} else {
		fmt.Fprintf(b, "      subject (SAN)       %s\n", id.Subject)
	}
	if id.SignerWorkflow != "" {
		fmt.Fprintf(b, "      signer workflow     %s\n", id.SignerWorkflow)
	}
	if len(id.SignerRefs) > 0 {
		fmt.Fprintf(b, "      signer ref          %s\n", strings.Join(id.SignerRefs, " | "))
	}
	if id.SourceRepository != "" {
		fmt.Fprintf(b, "      source repository   %s\n", id.SourceRepository)
	}
	if len(id.SourceRefs) > 0 {
		fmt.Fprintf(b, "      source ref          %s\n", strings.Join(id.SourceRefs, " | "))
	}
	if id.RunnerEnvironment != "" {
		fmt.Fprintf(b, "      runner environment  %s\n", id.RunnerEnvironment)
	}
	if len(id.Triggers) > 0 {
		fmt.Fprintf(b, "      build trigger       %s\n", strings.Join(id.Triggers, " | "))
	}
	if id.TrustedRoot != "" {
		fmt.Fprintf(b, "      trusted root        %s\n", id.TrustedRoot)
	}
}
