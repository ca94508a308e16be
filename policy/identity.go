package policy

import (
	"crypto"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// Identity is a named signer: keyless (an OIDC issuer plus Fulcio
// certificate extensions), a key, or a Notation signer (an X.509 subject
// under trust anchors). Exactly one is set.
type Identity struct {
	Name     string
	Keyless  *Keyless
	Key      *Key
	Notation *Notation

	// Sigstore is the identity's own Sigstore section (trusted root and
	// required proofs), or nil for the policy's (Policy.SigstoreOf).
	Sigstore *Sigstore
}

// CI names the CI system whose Fulcio extension conventions apply.
type CI string

const (
	CIGitHub CI = "github"
	CIGitLab CI = "gitlab"
	CIOther  CI = "other"
)

// Keyless matches a Fulcio certificate by structured fields, never by a
// free-form pattern over the whole SAN: repository, workflow and refs are
// compared against the certificate extensions Fulcio derives from the CI's
// OIDC token.
type Keyless struct {
	Issuer string
	CI     CI
	// ServerURL is the CI's web origin used in certificate URIs
	// (https://github.com, https://gitlab.com, or a self-hosted instance).
	ServerURL string
	// Repository matches the Source Repository URI's path ("acme/app").
	Repository *Glob
	// SignerRepository and Workflow pin the Build Signer URI: the workflow
	// file that ran the signing job ({server}/{signerRepository}/{workflow}@ref
	// on GitHub, with "//" before the file on GitLab). SignerRepository
	// defaults to Repository; it differs for a reusable workflow.
	SignerRepository string
	Workflow         string
	// SignerRefs constrain the ref of the signer workflow (reusable workflows).
	SignerRefs []Glob
	// SignerRepositoryPattern is signerRepository written without workflow:
	// the signing workflow (the SAN's repository) must live in a repository
	// it matches, whichever file it is (signer.go).
	SignerRepositoryPattern *Glob
	// Refs match the Source Repository Ref ("refs/heads/main", "refs/tags/v*").
	Refs []Glob
	// RunnerEnvironment matches exactly ("github-hosted", "gitlab-hosted", "self-hosted").
	RunnerEnvironment string
	// Triggers match the Build Trigger (event_name / pipeline_source).
	Triggers []string
	// Subject is an exact SAN; SubjectRegexp an anchored SAN pattern. Escape
	// hatches for issuers without structured extensions.
	Subject       string
	SubjectRegexp *regexp.Regexp
}

// Key is a public key identity. Exactly one of PublicKey (from inline PEM or
// a file) or KMS is set.
type Key struct {
	PublicKey crypto.PublicKey
	// KeyID is the sha256 of the PKIX DER public key, hex, for decisions.
	KeyID string
	// KMS is a cosign-style KMS URI (awskms://, gcpkms://, azurekms://,
	// hashivault://); the key is fetched by verify.
	KMS string
	// TransparencyLog: whether a Rekor entry is required. Default optional:
	// a key's trust does not depend on a signing time.
	TransparencyLog Requirement
}

// MatchCertificate checks a verified certificate's summary against the
// identity. It returns nil on a match and a *Mismatch naming the first
// differing field otherwise.
func (id *Identity) MatchCertificate(s certificate.Summary) *Mismatch {
	k := id.Keyless
	miss := func(field, expected, actual string) *Mismatch {
		return certificateMismatch(id.Name, field, expected, actual)
	}
	if k == nil {
		return miss("kind", "a key signature", "a certificate")
	}
	if s.Issuer != k.Issuer {
		return miss("issuer", quote(k.Issuer), s.Issuer)
	}
	if k.Subject != "" && s.SubjectAlternativeName != k.Subject {
		return miss("subject", quote(k.Subject), s.SubjectAlternativeName)
	}
	if k.SubjectRegexp != nil && !k.SubjectRegexp.MatchString(s.SubjectAlternativeName) {
		return miss("subjectRegExp", k.SubjectRegexp.String(), s.SubjectAlternativeName)
	}
	if k.Repository != nil {
		path, ok := strings.CutPrefix(s.SourceRepositoryURI, k.ServerURL+"/")
		if !ok || !k.Repository.Match(path) {
			return miss("repository", quote(k.ServerURL+"/"+k.Repository.String()), s.SourceRepositoryURI)
		}
	}
	if k.Workflow != "" {
		prefix := k.signerPrefix()
		signerRef, ok := strings.CutPrefix(s.BuildSignerURI, prefix)
		if !ok || signerRef == "" {
			return miss("workflow", quote(prefix+"<ref>"), s.BuildSignerURI)
		}
		if len(k.SignerRefs) > 0 && !matchAny(k.SignerRefs, signerRef) {
			return miss("signerRefs", globList(k.SignerRefs), signerRef)
		}
	}
	if m := k.matchSigner(id.Name, s.BuildSignerURI); m != nil {
		return m
	}
	if len(k.Refs) > 0 && !matchAny(k.Refs, s.SourceRepositoryRef) {
		return miss("refs", globList(k.Refs), s.SourceRepositoryRef)
	}
	if k.RunnerEnvironment != "" && s.RunnerEnvironment != k.RunnerEnvironment {
		return miss("runnerEnvironment", quote(k.RunnerEnvironment), s.RunnerEnvironment)
	}
	if len(k.Triggers) > 0 && !slices.Contains(k.Triggers, s.BuildTrigger) {
		return miss("triggers", "one of "+strings.Join(k.Triggers, ", "), s.BuildTrigger)
	}
	return nil
}

// signerPrefix is the Build Signer URI up to and including the "@" before
// the signer's ref.
func (k *Keyless) signerPrefix() string {
	sep := "/"
	if k.CI == CIGitLab {
		sep = "//"
	}
	return k.ServerURL + "/" + k.SignerRepository + sep + k.Workflow + "@"
}

// ExpectedSAN describes the SAN this identity accepts, for messages and for
// `sign policy explain`.
func (k *Keyless) ExpectedSAN() string {
	switch {
	case k.Subject != "":
		return k.Subject
	case k.SubjectRegexp != nil:
		return k.SubjectRegexp.String()
	case k.Workflow != "":
		return k.signerPrefix() + refDescription(k)
	case k.SignerRepositoryPattern != nil:
		return k.ServerURL + "/" + k.SignerRepositoryPattern.String() + "/<any workflow>@" + refDescription(k)
	case k.Repository != nil:
		return k.ServerURL + "/" + k.Repository.String() + "/<any workflow>@" + refDescription(k)
	}
	return "<any>"
}

// refDescription is the ref part of an expected SAN: the ref itself when
// exactly one literal ref is allowed, a placeholder otherwise.
func refDescription(k *Keyless) string {
	refs := k.SignerRefs
	if len(refs) == 0 {
		refs = k.Refs
	}
	if len(refs) == 1 && refs[0].literal {
		return refs[0].String()
	}
	return "<ref>"
}

func globList(gs []Glob) string {
	if len(gs) == 1 {
		return quote(gs[0].String())
	}
	return "one of " + joinGlobs(gs, ", ")
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
