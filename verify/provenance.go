package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// slsa is what signet reads from a SLSA provenance predicate, v1 or v0.2.
type slsa struct {
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
		ev.d.denyf("%s has no %s attestation; rule %q requires provenance signed by [%s]: attest it in CI with `sign attest`",
			ev.digest.DigestStr(), strings.Join(pv.PredicateTypes, " or "), ev.rule.Name, strings.Join(policy.IdentityNames(pv.SignedBy), ", "))
		return
	}
	ev.d.denyf("no provenance attestation on %s satisfies rule %q: %s", ev.digest.DigestStr(), ev.rule.Name, strings.Join(dedupe(why), "; "))
}

func checkProvenance(pv *policy.Provenance, s *slsa, m match) string {
	if len(pv.BuilderIDs) > 0 && !anyMatch(pv.BuilderIDs, s.BuilderID) {
		return fmt.Sprintf("builder id %q is not one of %s", s.BuilderID, globsString(pv.BuilderIDs))
	}
	if len(pv.BuildTypes) > 0 && !slices.Contains(pv.BuildTypes, s.BuildType) {
		return fmt.Sprintf("build type %q is not one of %s", s.BuildType, strings.Join(pv.BuildTypes, ", "))
	}
	if len(pv.SourceRepositories) > 0 && !anyMatch(pv.SourceRepositories, s.SourceRepository) {
		return fmt.Sprintf("source repository %q is not one of %s", s.SourceRepository, globsString(pv.SourceRepositories))
	}
	if len(pv.SourceRefs) > 0 && !anyMatch(pv.SourceRefs, s.SourceRef) {
		return fmt.Sprintf("source ref %q is not one of %s", s.SourceRef, globsString(pv.SourceRefs))
	}
	if pv.SourceMatchesSigner {
		var signer string
		if m.result.Signature != nil && m.result.Signature.Certificate != nil {
			signer = m.result.Signature.Certificate.SourceRepositoryURI
		}
		if signer == "" || normalizeRepoURI(s.SourceRepository) != normalizeRepoURI(signer) {
			return fmt.Sprintf("provenance source %q is not the signer's repository %q (sourceMatchesSigner)", s.SourceRepository, signer)
		}
	}
	return ""
}

func parseSLSA(predicateType string, raw json.RawMessage) (*slsa, error) {
	switch predicateType {
	case policy.SLSAProvenanceV1:
		return parseSLSAv1(raw)
	case policy.SLSAProvenanceV02:
		return parseSLSAv02(raw)
	}
	// Another predicate type the rule accepts: no SLSA fields to check.
	return &slsa{}, nil
}

func parseSLSAv1(raw json.RawMessage) (*slsa, error) {
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
	s := &slsa{BuilderID: p.RunDetails.Builder.ID, BuildType: p.BuildDefinition.BuildType}
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

func parseSLSAv02(raw json.RawMessage) (*slsa, error) {
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
	s := &slsa{BuilderID: p.Builder.ID, BuildType: p.BuildType}
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
