package policy

import (
	"encoding/json"
	"errors"
	"fmt"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// Facts is what the conditions on one attestation read: its in-toto
// statement, decoded, and who signed it. Evaluating conditions over Facts
// is pure: no clock, no network, the same verdict every time.
type Facts struct {
	// Statement is the statement as encoding/json decodes it; its
	// "predicate" is the predicate.
	Statement map[string]any
	Signer    SignerFacts
}

// NewFacts decodes an in-toto statement (a DSSE payload) for conditions.
// A statement larger than the largest predicate signet evaluates is
// refused: its evaluation would not be bounded.
func NewFacts(statement []byte, signer SignerFacts) (*Facts, error) {
	if len(statement) > MaxPredicateBytes {
		return nil, fmt.Errorf("the statement is %d bytes, more than the %d signet evaluates conditions on", len(statement), MaxPredicateBytes)
	}
	var st map[string]any
	if err := json.Unmarshal(statement, &st); err != nil {
		return nil, fmt.Errorf("the statement is not a JSON object: %w", err)
	}
	return &Facts{Statement: st, Signer: signer}, nil
}

// Predicate is the statement's predicate.
func (f *Facts) Predicate() any { return f.Statement["predicate"] }

func (f *Facts) activation() map[string]any {
	return map[string]any{"predicate": f.Predicate(), "statement": f.Statement, "signer": f.Signer}
}

// Budget is what one decision may still spend on conditions, in cel-go
// cost units (DecisionCostLimit in all).
type Budget struct{ left uint64 }

// NewBudget is the budget of one decision.
func NewBudget() *Budget { return &Budget{left: DecisionCostLimit} }

func (b *Budget) spend(c uint64) { b.left -= min(c, b.left) }

// ConditionOutcome is how a condition's evaluation ended.
type ConditionOutcome string

const (
	ConditionPassed ConditionOutcome = "passed"
	ConditionFailed ConditionOutcome = "failed"
	// ConditionError: the expression could not be evaluated on this
	// attestation (a missing field, a type mismatch): it fails closed.
	ConditionError ConditionOutcome = "error"
	// ConditionCostExceeded: the evaluation was stopped by a budget (its
	// own or the decision's): it fails closed.
	ConditionCostExceeded ConditionOutcome = "cost-exceeded"
)

// ConditionResult is the verdict of one condition on one attestation.
type ConditionResult struct {
	Condition *Condition
	Outcome   ConditionOutcome
	// Err says why an error or a stopped evaluation did not decide.
	Err string
	// Observed are values the expression saw, for a failure (bounded:
	// MaxObservations, each value at most MaxObservedValue bytes).
	Observed Observations
	// Cost is what the evaluation spent.
	Cost uint64
}

// Eval evaluates c on f, spending from b.
func (c *Condition) Eval(f *Facts, b *Budget) ConditionResult {
	r := ConditionResult{Condition: c}
	if b.left == 0 {
		r.Outcome, r.Err = ConditionCostExceeded, fmt.Sprintf("not evaluated: the decision's budget for conditions (%s cost units) is spent", costString(DecisionCostLimit))
		return r
	}
	act := f.activation()
	out, det, err := c.prg.Eval(act)
	if det != nil && det.ActualCost() != nil {
		r.Cost = *det.ActualCost()
	}
	b.spend(r.Cost)
	var cancelled interpreter.EvalCancelledError
	switch {
	case errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded:
		r.Outcome, r.Err = ConditionCostExceeded, fmt.Sprintf("stopped: it exceeded its budget of %s cost units", costString(ConditionCostLimit))
	case err != nil:
		r.Outcome, r.Err = ConditionError, err.Error()
	case out == types.True:
		r.Outcome = ConditionPassed
	case out == types.False:
		r.Outcome = ConditionFailed
		r.Observed = c.explain(act, b)
	default:
		r.Outcome, r.Err = ConditionError, fmt.Sprintf("it evaluated to %s, not a bool", out.Type().TypeName())
	}
	return r
}

// CheckConditions evaluates conds on f in order and returns the results
// of those that did not pass: none when all hold.
func CheckConditions(conds []*Condition, f *Facts, b *Budget) []ConditionResult {
	var out []ConditionResult
	for _, c := range conds {
		if r := c.Eval(f, b); r.Outcome != ConditionPassed {
			out = append(out, r)
		}
	}
	return out
}
