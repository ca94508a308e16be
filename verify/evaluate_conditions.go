package verify

import (
	"fmt"
	"time"

	"github.com/signet-dev/signet/policy"
)

// Conditions are evaluated on an attestation that verified, with what is
// known of it: its statement, who signed it, when. The evaluation is
// policy's (compiled at load, pure); this file turns its results into
// Reasons that name the attestation, the condition, and what it saw.

// facts is q's statement decoded for conditions (once per candidate) and
// its signer as conditions see it.
func (e *evaluation) facts(q qualified) (*policy.Facts, error) {
	f, ok := e.statements[q.c]
	if !ok {
		var err error
		if f, err = policy.NewFacts(q.c.statement.payload, policy.SignerFacts{}); err != nil {
			return nil, err
		}
		if e.statements == nil {
			e.statements = map[*candidate]*policy.Facts{}
		}
		e.statements[q.c] = f
	}
	out := *f
	out.Signer = signerFacts(q.m)
	return &out, nil
}

func signerFacts(m match) policy.SignerFacts {
	s := policy.SignerFacts{Identity: m.identity.Name, KeyID: m.sig.KeyID}
	if c := m.cert; c != nil {
		s.Subject, s.Issuer, s.SourceRepository, s.SourceRef = c.SubjectAlternativeName, c.Issuer, c.SourceRepositoryURI, c.SourceRepositoryRef
	}
	return s
}

// conditions evaluates conds on q and returns a reason for each that does
// not hold (none: all hold). req names what the attestation is for.
func (e *evaluation) conditions(conds []*policy.Condition, req *policy.Attestation, q qualified) []Reason {
	if len(conds) == 0 {
		return nil
	}
	what := fmt.Sprintf("%s %q signed by %s", q.c.what(), req.Name, q.m.identity.Name)
	if q.at != nil {
		what += " at " + q.at.UTC().Format(time.RFC3339)
	}
	f, err := e.facts(q)
	if err != nil {
		return []Reason{NewReason(CodeConditionError, "%s: its conditions cannot be evaluated: %v (fails closed)", what, err).
			With(&policy.Mismatch{Identity: q.m.identity.Name, Field: req.Field + ".conditions", Actual: err.Error()}).
			about(e.ref(req, q.c, q.at, ""))}
	}
	var out []Reason
	for _, res := range policy.CheckConditions(conds, f, e.budget) {
		out = append(out, conditionReason(what, e.rule.Name, q.m.identity.Name, res).about(e.ref(req, q.c, q.at, res.Condition.Name)))
	}
	return out
}

// conditionReason is the reason for one condition that did not hold.
func conditionReason(what, rule, identity string, res policy.ConditionResult) Reason {
	c := res.Condition
	mm := &policy.Mismatch{Identity: identity, Field: c.Field, Expected: c.Expression}
	var r Reason
	switch res.Outcome {
	case policy.ConditionFailed:
		mm.Actual = res.Observed.String()
		saw := ""
		if len(res.Observed) > 0 {
			saw = "; saw " + mm.Actual
		}
		r = NewReason(CodeConditionFailed, "%s fails condition %q of rule %q: %s%s", what, c.Name, rule, c.Expression, saw)
	case policy.ConditionCostExceeded:
		mm.Actual = res.Err
		r = NewReason(CodeConditionCostExceeded, "%s: condition %q of rule %q was %s (fails closed)", what, c.Name, rule, res.Err)
	default:
		mm.Actual = res.Err
		r = NewReason(CodeConditionError, "%s: condition %q of rule %q could not be evaluated: %s (fails closed)", what, c.Name, rule, res.Err)
	}
	r = r.With(mm)
	if c.Message != "" {
		r = r.WithHint(c.Message)
	}
	return r
}

// provenanceConditions checks the provenance's CEL conditions on a
// candidate that met its structured fields.
func (e *evaluation) provenanceConditions(c *candidate, m match) []Reason {
	pv := e.rule.Provenance
	req := &policy.Attestation{Name: "provenance", PredicateType: c.statement.PredicateType, Field: "provenance"}
	return e.conditions(pv.Conditions, req, qualified{c: c, m: m, at: e.trustedTime(c, m)})
}
