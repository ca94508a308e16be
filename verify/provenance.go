package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// SLSA is what signet reads from a SLSA provenance predicate, v1 or v0.2,
// and what a rule's provenance conditions are checked against.
type SLSA struct {
	BuilderID        string
	BuildType        string
	SourceRepository string // "https://github.com/acme/app"
	SourceRef        string // "refs/heads/main"
	SourceDigest     string
}

// provenance checks the rule's attestation requirement: an in-toto
// statement of an accepted predicate type, about this digest, signed by a
// permitted identity, whose content satisfies every condition.
func (ev *evaluation) provenance(ctx context.Context) {
	pv := ev.rule.Provenance
	var why []string
	for _, c := range ev.atts {
		pt := c.statement.PredicateType
		if !slices.Contains(pv.PredicateTypes, pt) {
			// Decided by the signed statement, never by an annotation or a
			// referrer's artifactType (the CVE-2022-35930 class of bug).
			ev.d.reject(c.layout, c.kind, "predicate type %q is not one the rule accepts (%s)", pt, strings.Join(pv.PredicateTypes, ", "))
			continue
		}
		matches, reasons := ev.verifyCandidate(ctx, c, pv.SignedBy)
		if len(matches) == 0 {
			for _, r := range reasons {
				ev.d.reject(c.layout, c.kind, "%s", r)
			}
			why = append(why, reasons...)
			continue
		}
		prov, err := parseSLSA(pt, c.statement.Predicate)
		if err != nil {
			ev.d.reject(c.layout, c.kind, "%v", err)
			why = append(why, err.Error())
			continue
		}
		m := matches[0]
		if reason := checkProvenance(pv, prov, m); reason != "" {
			ev.d.reject(c.layout, c.kind, "provenance signed by %s: %s", m.identity.Name, reason)
			why = append(why, reason)
			continue
		}
		ev.d.Attestations = append(ev.d.Attestations, AttestationResult{
			Identity: m.identity.Name, Layout: c.layout, PredicateType: pt,
			BuilderID: prov.BuilderID, BuildType: prov.BuildType,
			SourceRepository: prov.SourceRepository, SourceRef: prov.SourceRef, SourceDigest: prov.SourceDigest,
			Subject: m.sig.Subject, LogIndex: m.sig.LogIndex,
		})
		return
	}
	if !pv.Required {
		return
	}
	if len(why) == 0 {
		ev.d.denyf("it has no %s attestation; rule %q requires provenance signed by [%s]: attest it in CI with `sign attest`",
			strings.Join(pv.PredicateTypes, " or "), ev.rule.Name, strings.Join(policy.IdentityNames(pv.SignedBy), ", "))
		return
	}
	ev.d.denyf("no provenance attestation satisfies rule %q: %s", ev.rule.Name, strings.Join(dedupe(why), "; "))
}

func checkProvenance(pv *policy.Provenance, s *SLSA, m match) string {
	var signer string
	if m.result.Signature != nil && m.result.Signature.Certificate != nil {
		signer = m.result.Signature.Certificate.SourceRepositoryURI
	}
	if mm := CheckProvenance(pv, *s, signer); mm != nil {
		return mm.Error()
	}
	return ""
}

// ProvenanceMismatch is the first condition of a rule's provenance that a
// predicate fails: the field, what the rule expects and what the predicate
// says. Error is the sentence a decision gives.
type ProvenanceMismatch struct {
	Field    string `json:"field"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
	reason   string
}

func (m *ProvenanceMismatch) Error() string { return m.reason }

// CheckProvenance checks the content conditions of pv (builder ids, build
// types, source repositories and refs, sourceMatchesSigner) against p, the
// provenance of an attestation signed by a certificate whose Source
// Repository URI is signerRepositoryURI ("" for a key). It is the one
// definition of those conditions: the cluster's engine and sign's preflight
// both call it, so CI cannot accept what the cluster refuses. Predicate
// types and signers are the caller's to check.
func CheckProvenance(pv *policy.Provenance, p SLSA, signerRepositoryURI string) *ProvenanceMismatch {
	mismatch := func(field, expected, actual, format string, args ...any) *ProvenanceMismatch {
		return &ProvenanceMismatch{Field: field, Expected: expected, Actual: actual, reason: fmt.Sprintf(format, args...)}
	}
	if len(pv.BuilderIDs) > 0 && !anyMatch(pv.BuilderIDs, p.BuilderID) {
		return mismatch("provenance.builderIDs", globsString(pv.BuilderIDs), p.BuilderID,
			"builder id %q is not one of %s", p.BuilderID, globsString(pv.BuilderIDs))
	}
	if len(pv.BuildTypes) > 0 && !slices.Contains(pv.BuildTypes, p.BuildType) {
		return mismatch("provenance.buildTypes", strings.Join(pv.BuildTypes, ", "), p.BuildType,
			"build type %q is not one of %s", p.BuildType, strings.Join(pv.BuildTypes, ", "))
	}
	if len(pv.SourceRepositories) > 0 && !anyMatch(pv.SourceRepositories, p.SourceRepository) {
		return mismatch("provenance.sourceRepositories", globsString(pv.SourceRepositories), p.SourceRepository,
			"source repository %q is not one of %s", p.SourceRepository, globsString(pv.SourceRepositories))
	}
	if len(pv.SourceRefs) > 0 && !anyMatch(pv.SourceRefs, p.SourceRef) {
		return mismatch("provenance.sourceRefs", globsString(pv.SourceRefs), p.SourceRef,
			"source ref %q is not one of %s", p.SourceRef, globsString(pv.SourceRefs))
	}
	if pv.SourceMatchesSigner {
		signer := signerRepositoryURI
		if signer == "" || normalizeRepoURI(p.SourceRepository) != normalizeRepoURI(signer) {
			want := "<a keyless signer's source repository>"
			if signer != "" {
				want = fmt.Sprintf("source repository = signer's %q", signer)
			}
			return mismatch("provenance.sourceMatchesSigner", want, p.SourceRepository,
				"provenance source %q is not the signer's repository %q (sourceMatchesSigner)", p.SourceRepository, signer)
		}
	}
	return nil
}

// ParseSLSA reads the fields CheckProvenance needs from a predicate of the
// given type, as the engine reads them from a verified attestation.
func ParseSLSA(predicateType string, raw json.RawMessage) (*SLSA, error) {
	return parseSLSA(predicateType, raw)
}

func parseSLSA(predicateType string, raw json.RawMessage) (*SLSA, error) {
	switch predicateType {
	case policy.SLSAProvenanceV1:
		return parseSLSAv1(raw)
	case policy.SLSAProvenanceV02:
		return parseSLSAv02(raw)
	}
	// Another predicate type the rule accepts: no SLSA fields to check.
	return &SLSA{}, nil
}

func parseSLSAv1(raw json.RawMessage) (*SLSA, error) {
	var p struct {
		BuildDefinition struct {
			BuildType          string `json:"buildType"`
			ExternalParameters struct {
				Workflow struct {
					Ref        string `json:"ref"`
					Repository string `json:"repository"`
				} `json:"workflow"`
			} `json:"externalParameters"`
			ResolvedDependencies []struct {
				URI    string            `json:"uri"`
				Digest map[string]string `json:"digest"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
		} `json:"runDetails"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("SLSA v1 predicate is malformed: %w", err)
	}
	s := &SLSA{BuilderID: p.RunDetails.Builder.ID, BuildType: p.BuildDefinition.BuildType}
	if w := p.BuildDefinition.ExternalParameters.Workflow; w.Repository != "" {
		s.SourceRepository, s.SourceRef = w.Repository, w.Ref
	}
	for _, dep := range p.BuildDefinition.ResolvedDependencies {
		repo, ref, ok := parseGitURI(dep.URI)
		if !ok {
			continue
		}
		if s.SourceRepository == "" {
			s.SourceRepository, s.SourceRef = repo, ref
		}
		if normalizeRepoURI(repo) == normalizeRepoURI(s.SourceRepository) {
			s.SourceDigest = cmpOr(dep.Digest["gitCommit"], dep.Digest["sha1"])
		}
		break
	}
	return s, nil
}

func parseSLSAv02(raw json.RawMessage) (*SLSA, error) {
	var p struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		BuildType  string `json:"buildType"`
		Invocation struct {
			ConfigSource struct {
				URI    string            `json:"uri"`
				Digest map[string]string `json:"digest"`
			} `json:"configSource"`
		} `json:"invocation"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("SLSA v0.2 predicate is malformed: %w", err)
	}
	s := &SLSA{BuilderID: p.Builder.ID, BuildType: p.BuildType}
	if repo, ref, ok := parseGitURI(p.Invocation.ConfigSource.URI); ok {
		s.SourceRepository, s.SourceRef = repo, ref
		s.SourceDigest = p.Invocation.ConfigSource.Digest["sha1"]
	}
	return s, nil
}

// parseGitURI splits "git+https://github.com/acme/app@refs/heads/main".
func parseGitURI(uri string) (repo, ref string, ok bool) {
	rest, ok := strings.CutPrefix(uri, "git+")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, "@")
	if i < 0 {
		return rest, "", true
	}
	return rest[:i], rest[i+1:], true
}

func normalizeRepoURI(s string) string {
	s = strings.TrimPrefix(s, "git+")
	s = strings.TrimSuffix(s, "/")
	return strings.TrimSuffix(s, ".git")
}

func anyMatch(gs []policy.Glob, s string) bool {
	for _, g := range gs {
		if g.Match(s) {
			return true
		}
	}
	return false
}

func globsString(gs []policy.Glob) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = g.String()
	}
	return strings.Join(parts, ", ")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
