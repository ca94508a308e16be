package verify

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// provenance checks the rule's attestation requirement: an in-toto
// statement of an accepted predicate type, about this digest, signed by a
// permitted identity, whose content satisfies every condition.
func (e *evaluation) provenance() {
	pv := e.rule.Provenance
	var why []Reason
	others := requiredTypes(e.rule)
	for _, c := range e.ev.atts {
		pt := c.statement.PredicateType
		if !slices.Contains(pv.PredicateTypes, pt) && slices.Contains(others, pt) {
			continue // an attestation the rule requires for itself (attestations.go)
		}
		if !slices.Contains(pv.PredicateTypes, pt) {
			// Decided by the signed statement, never by an annotation or a
			// referrer's artifactType (the CVE-2022-35930 class of bug).
			want := strings.Join(pv.PredicateTypes, ", ")
			e.reject(c, NewReason(CodeWrongPredicateType, "predicate type %q is not one the rule accepts (%s)", pt, want).
				With(&policy.Mismatch{Field: "provenance.predicateTypes", Expected: want, Actual: pt}))
			continue
		}
		matches, reasons := e.verifyCandidate(c, pv.SignedBy)
		if len(matches) == 0 {
			for _, r := range reasons {
				e.reject(c, r)
			}
			why = append(why, reasons...)
			continue
		}
		prov, err := parseSLSA(pt, c.statement.Predicate)
		if err != nil {
			r := NewReason(CodeProvenanceMismatch, "%v", err).With(&policy.Mismatch{Field: "provenance"})
			e.reject(c, r)
			why = append(why, r)
			continue
		}
		m := matches[0]
		signerRepo := ""
		if m.cert != nil {
			signerRepo = m.cert.SourceRepositoryURI
		}
		if mm := pv.Check(*prov, signerRepo); mm != nil {
			e.reject(c, NewReason(CodeProvenanceMismatch, "provenance signed by %s: %s", m.identity.Name, mm).With(mm))
			why = append(why, NewReason(CodeProvenanceMismatch, "%s", mm).With(mm))
			continue
		}
		if failed := e.provenanceConditions(c, m); len(failed) > 0 {
			for _, r := range failed {
				e.reject(c, r)
			}
			why = append(why, failed...)
			continue
		}
		e.d.Attestations = append(e.d.Attestations, AttestationResult{
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
	signers := strings.Join(policy.IdentityNames(pv.SignedBy), ", ")
	if len(why) == 0 {
		types := strings.Join(pv.PredicateTypes, " or ")
		e.d.deny(NewReason(CodeNoProvenance, "it has no %s attestation; rule %q requires provenance signed by [%s]", types, e.rule.Name, signers).
			With(&policy.Mismatch{Field: "provenance", Expected: fmt.Sprintf("a %s attestation signed by [%s]", types, signers), Actual: "none"}).
			WithHint("attest it in CI with `sign attest`"))
		return
	}
	code := CodeProvenanceMismatch
	if c := why[0].Code; c == CodeConditionFailed || c == CodeConditionError || c == CodeConditionCostExceeded {
		code = c
	}
	e.d.deny(Reason{Code: code, Mismatch: why[0].Mismatch, Attestation: why[0].Attestation,
		Message: fmt.Sprintf("no provenance attestation satisfies rule %q: %s", e.rule.Name, joinReasons(why))})
}

// parseSLSA reads the fields a rule's conditions are checked against
// (policy.Provenance.Check) from a predicate of the given type.
func parseSLSA(predicateType string, raw json.RawMessage) (*policy.SLSA, error) {
	switch predicateType {
	case policy.SLSAProvenanceV1:
		return parseSLSAv1(raw)
	case policy.SLSAProvenanceV02:
		return parseSLSAv02(raw)
	}
	// Another predicate type the rule accepts: no SLSA fields to check.
	return &policy.SLSA{}, nil
}

func parseSLSAv1(raw json.RawMessage) (*policy.SLSA, error) {
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
	s := &policy.SLSA{BuilderID: p.RunDetails.Builder.ID, BuildType: p.BuildDefinition.BuildType}
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
		if policy.SameRepositoryURI(repo, s.SourceRepository) {
			s.SourceDigest = cmp.Or(dep.Digest["gitCommit"], dep.Digest["sha1"])
		}
		break
	}
	return s, nil
}

func parseSLSAv02(raw json.RawMessage) (*policy.SLSA, error) {
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
	s := &policy.SLSA{BuilderID: p.Builder.ID, BuildType: p.BuildType}
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
