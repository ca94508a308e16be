package verify

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signet-dev/signet/policy"
)

// attestations checks each attestation the rule requires besides its
// signatures (policy.Attestation): among the attestations of its predicate
// type on the digest, those that verify, are about this digest (the
// statement's subject), are signed by one of its identities and are young
// enough qualify; at least one must, and every one that does must satisfy
// every condition. The attestations were read in the same pass as the
// signatures (Collect); nothing here reads a registry.
func (e *evaluation) attestations() {
	for _, req := range e.rule.Attestations {
		e.attestation(req)
	}
}

// qualified is an attestation that counts for a requirement: verified,
// signed by an accepted identity, young enough.
type qualified struct {
	c  *candidate
	m  match
	at *time.Time // its trusted time, if it has one
}

func (e *evaluation) attestation(req *policy.Attestation) {
	var why []Reason
	var found []qualified
	seen := map[[32]byte]bool{}
	for _, c := range e.ev.atts {
		if c.statement.PredicateType != req.PredicateType {
			continue
		}
		matches, reasons := e.verifyCandidate(c, req.SignedBy)
		if len(matches) == 0 {
			for _, r := range reasons {
				r.Attestation = e.ref(req, c, nil, "")
				e.reject(c, r)
				why = append(why, r)
			}
			continue
		}
		q := qualified{c: c, m: matches[0], at: e.trustedTime(c, matches[0])}
		if r, ok := e.young(req, q); !ok {
			e.reject(c, r)
			why = append(why, r)
			continue
		}
		// Both layouts carry the same envelope: one statement counts once.
		if key := sha256.Sum256(c.statement.payload); !seen[key] {
			seen[key] = true
			found = append(found, q)
		}
	}
	if len(found) == 0 {
		e.d.deny(e.missing(req, why))
		return
	}
	denied := false
	for _, q := range found {
		for _, r := range e.conditions(req.Conditions, req, q) {
			e.d.deny(r)
			denied = true
		}
	}
	if !denied {
		e.accept(req, found)
	}
}

// trustedTime is when c was signed, as its verified log entry or
// timestamps say (the earliest of them), or now for the attestation a
// preflight predicts; nil when nothing dates it.
func (e *evaluation) trustedTime(c *candidate, m match) *time.Time {
	if c.predicted != nil {
		return &e.now
	}
	var at *time.Time
	for _, ts := range m.sig.Timestamps {
		if at == nil || ts.Time.Before(*at) {
			at = &ts.Time
		}
	}
	return at
}

// young checks req's maxAge against q's age, and for trustPredicateTime
// moves q's time back to what the predicate states.
func (e *evaluation) young(req *policy.Attestation, q qualified) (Reason, bool) {
	if req.MaxAge == 0 {
		return Reason{}, true
	}
	at := q.at
	if req.TrustPredicateTime {
		if f, err := e.facts(q); err == nil {
			if claimed, ok := policy.PredicateTime(req.PredicateType, f.Predicate()); ok && (at == nil || claimed.Before(*at)) {
				at = &claimed
			}
		}
	}
	field := req.Field + ".maxAge"
	if at == nil {
		return NewReason(CodeNoTrustedTime, "%s %q signed by %s has no trusted time (no transparency log entry and no RFC 3161 timestamp) to measure its age; rule %q accepts it only younger than %s",
			q.c.what(), req.Name, q.m.identity.Name, e.rule.Name, policy.FormatAge(req.MaxAge)).
			With(&policy.Mismatch{Identity: q.m.identity.Name, Field: field, Expected: "a log entry or timestamp younger than " + policy.FormatAge(req.MaxAge), Actual: "none"}).
			WithHint("sign attestations with a transparency log (the default) or a timestamp authority (--timestamp-url)").
			about(e.ref(req, q.c, nil, "")), false
	}
	if old := e.now.Sub(*at); old > req.MaxAge {
		oldest := e.now.Add(-req.MaxAge).UTC().Format(time.RFC3339)
		return NewReason(CodeAttestationTooOld, "%s %q signed by %s at %s is %s old; rule %q accepts it only younger than %s",
			q.c.what(), req.Name, q.m.identity.Name, at.UTC().Format(time.RFC3339), policy.FormatAge(old.Round(time.Minute)), e.rule.Name, policy.FormatAge(req.MaxAge)).
			With(&policy.Mismatch{Identity: q.m.identity.Name, Field: field, Expected: "signed after " + oldest, Actual: at.UTC().Format(time.RFC3339)}).
			WithHint("a newer one is needed; " + policy.AttestationHint(req.PredicateType)).
			about(e.ref(req, q.c, at, "")), false
	}
	return Reason{}, true
}

// missing is the denial when no attestation qualifies: none of the type is
// attached (how to attach one), or why those that are do not count.
func (e *evaluation) missing(req *policy.Attestation, why []Reason) Reason {
	signers := strings.Join(policy.IdentityNames(req.SignedBy), ", ")
	name := policy.PredicateTypeName(req.PredicateType)
	ref := &AttestationRef{Requirement: req.Name, PredicateType: req.PredicateType}
	if len(why) == 0 {
		return NewReason(CodeNoAttestation, "%s has no %s attestation (%s); rule %q requires one signed by [%s]",
			shortDigest(e.digest), name, req.PredicateType, e.rule.Name, signers).
			With(&policy.Mismatch{Field: req.Field, Expected: fmt.Sprintf("a %s attestation signed by [%s]", name, signers), Actual: "none"}).
			WithHint(policy.AttestationHint(req.PredicateType)).about(ref)
	}
	first := why[0]
	return Reason{Code: first.Code, Mismatch: first.Mismatch, Hint: first.Hint, Attestation: ref,
		Message: fmt.Sprintf("no %s attestation on %s satisfies rule %q (%s): %s", name, shortDigest(e.digest), e.rule.Name, req.Name, joinMessages(why))}
}

// accept records the attestations that satisfied req and how long the
// decision may rely on them: until the youngest becomes too old.
func (e *evaluation) accept(req *policy.Attestation, found []qualified) {
	var until *time.Time
	for _, q := range found {
		res := AttestationResult{Requirement: req.Name, Identity: q.m.identity.Name, Layout: q.c.layout, PredicateType: req.PredicateType,
			Subject: q.m.sig.Subject, LogIndex: q.m.sig.LogIndex, SignedAt: utc(q.at)}
		if req.MaxAge > 0 && q.at != nil {
			v := q.at.Add(req.MaxAge).UTC()
			res.ValidUntil = &v
			if until == nil || v.After(*until) {
				until = &v
			}
		}
		e.d.Attestations = append(e.d.Attestations, res)
	}
	if until != nil && (e.d.ValidUntil == nil || until.Before(*e.d.ValidUntil)) {
		e.d.ValidUntil = until
	}
}

// ref names c as the attestation a reason is about.
func (e *evaluation) ref(req *policy.Attestation, c *candidate, at *time.Time, condition string) *AttestationRef {
	r := &AttestationRef{Requirement: req.Name, PredicateType: req.PredicateType, Layout: c.layout, SignedAt: utc(at), Condition: condition}
	if c.predicted == nil {
		r.LogIndex = logIndex(c)
	}
	return r
}

// requiredTypes are the predicate types the rule's attestations read: the
// provenance check leaves them alone.
func requiredTypes(r *policy.Rule) []string {
	var out []string
	for _, a := range r.Attestations {
		out = append(out, a.PredicateType)
	}
	return slices.Compact(out)
}

func (r Reason) about(ref *AttestationRef) Reason {
	r.Attestation = ref
	return r
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// joinMessages is the reasons' messages, each once, for one sentence.
func joinMessages(rs []Reason) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Message
	}
	return strings.Join(dedupe(parts), "; ")
}
