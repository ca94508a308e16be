package policy

import (
	"fmt"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// Condition is one CEL expression an attestation must satisfy, compiled
// and costed when the trust file loads: admission only evaluates it.
type Condition struct {
	// Name names it in reasons: as written, else "conditions[i]".
	Name string
	// Expression is the CEL source, as written.
	Expression string
	// Message, when set, is what a developer should do when it fails (the
	// reason's hint).
	Message string
	// Field is its path in the trust file, for reasons and warnings.
	Field string
	// EstimatedCost is the worst case cel-go estimates for it over the
	// largest predicate signet reads (at most MaxEstimatedCost).
	EstimatedCost uint64

	ast *cel.Ast
	// prg evaluates it within ConditionCostLimit; traced also records every
	// sub-expression's value, and runs only to explain a failure.
	prg, traced cel.Program
	// witnesses find, for an all() or exists() that decided a failure,
	// the elements that made it fail (by the comprehension's expression id).
	witnesses map[int64]condWitness
}

// exprIssue is a problem in an expression, at a 1-based line and 0-based
// column (code points) of the expression's own text.
type exprIssue struct {
	line, column int
	msg          string
}

// compileCondition parses, type-checks and costs expr, and plans its
// programs. A condition must yield a bool (or dyn, checked when it runs).
func compileCondition(expr string) (*Condition, []exprIssue) {
	env, err := celEnv()
	if err != nil {
		return nil, []exprIssue{{msg: err.Error()}}
	}
	checked, iss := env.Compile(expr)
	if iss.Err() != nil {
		var out []exprIssue
		for _, e := range iss.Errors() {
			out = append(out, exprIssue{line: e.Location.Line(), column: e.Location.Column(), msg: e.Message})
		}
		return nil, out
	}
	if t := checked.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
		return nil, []exprIssue{{line: 1, msg: fmt.Sprintf("a condition must be a bool expression, this one is a %s", t)}}
	}
	if is, bad := tooDeep(checked); bad {
		return nil, []exprIssue{is}
	}
	est, err := env.EstimateCost(checked, predicateSizes{})
	if err != nil {
		return nil, []exprIssue{{line: 1, msg: fmt.Sprintf("estimating its cost: %v", err)}}
	}
	if est.Max > MaxEstimatedCost {
		return nil, []exprIssue{{line: 1, msg: fmt.Sprintf("its worst-case cost over the largest predicate signet reads is %s, above the limit of %s: "+
			"it compares predicate values with each other inside two loops, or builds values that grow with each step; "+
			"use packages() or vulnerabilities() for a flat list, or cel.bind() to compute a value once", costString(est.Max), costString(MaxEstimatedCost))}}
	}
	c := &Condition{Expression: expr, EstimatedCost: est.Max, ast: checked}
	if c.prg, err = env.Program(checked, runtimeLimits()...); err == nil {
		c.traced, err = env.Program(checked, append(runtimeLimits(), cel.EvalOptions(cel.OptTrackState))...)
	}
	if err != nil {
		return nil, []exprIssue{{line: 1, msg: fmt.Sprintf("planning its evaluation: %v", err)}}
	}
	c.witnesses = planWitnesses(env, checked)
	return c, nil
}

// runtimeLimits bound one evaluation's cost, strings it builds included
// (stringGrowth).
func runtimeLimits() []cel.ProgramOption {
	return []cel.ProgramOption{cel.CostLimit(ConditionCostLimit), cel.CostTracking(stringGrowth{})}
}

// stringGrowth charges a call that returns a string or bytes one unit per
// byte it holds, so the cost limit also bounds the memory strings take
// (about 1 MB within ConditionCostLimit): cel-go v0.33
// charges `_+_` on dyn operands (every predicate field is dyn) one unit
// whatever it builds, so `cel.bind(a, predicate.s + predicate.s, …)`
// chains could build gigabytes within the cost limit. (cel-go's
// MemoryLimit would bound them too, but it sizes every input value it
// resolves and reports a deep or large predicate, a real SBOM, as over any
// limit.) Lists are not charged here: a comprehension appends to its
// result in place, and each iteration is already charged.
type stringGrowth struct{}

func (stringGrowth) CallCost(_, _ string, _ []ref.Val, result ref.Val) *uint64 {
	var n uint64
	switch r := result.(type) {
	case types.String:
		n = uint64(len(r))
	case types.Bytes:
		n = uint64(len(r))
	default:
		return nil
	}
	n++
	return &n
}

// tooDeep refuses loops nested more than MaxLoopNesting deep (the cost of
// a condition then grows at most with the square of its predicate) and
// binds nested more than MaxBindNesting deep (cel-go's cost estimate takes
// time exponential in them).
func tooDeep(checked *cel.Ast) (exprIssue, bool) {
	info := checked.NativeRep().SourceInfo()
	var bad *exprIssue
	var visit func(e ast.NavigableExpr)
	visit = func(e ast.NavigableExpr) {
		if bad != nil {
			return
		}
		if e.Kind() == ast.ComprehensionKind {
			loops, binds := 0, 0
			for p := ast.NavigableExpr(e); p != nil; {
				if p.Kind() == ast.ComprehensionKind {
					if p.AsComprehension().IterVar() == "#unused" {
						binds++
					} else {
						loops++
					}
				}
				parent, ok := p.Parent()
				if !ok {
					break
				}
				p = parent
			}
			loc := info.GetStartLocation(e.ID())
			switch {
			case loops > MaxLoopNesting:
				bad = &exprIssue{line: loc.Line(), column: loc.Column(), msg: fmt.Sprintf(
					"loops nest %d deep here, more than %d: its cost would grow with the %s power of the predicate's size; "+
						"use packages() or vulnerabilities() for a flat list, or cel.bind() to compute an inner result once", loops, MaxLoopNesting, ordinal(loops))}
			case binds > MaxBindNesting:
				bad = &exprIssue{line: loc.Line(), column: loc.Column(), msg: fmt.Sprintf("cel.bind() nests %d deep here, more than %d", binds, MaxBindNesting)}
			}
		}
		for _, c := range e.Children() {
			visit(c)
		}
	}
	visit(ast.NavigateAST(checked.NativeRep()))
	if bad == nil {
		return exprIssue{}, false
	}
	return *bad, true
}

func ordinal(n int) string {
	switch n {
	case 3:
		return "third"
	case 4:
		return "fourth"
	}
	return fmt.Sprintf("%dth", n)
}

// constantValue is the value expr folds to without any input (true for
// "1 < 2 || predicate.x"), or false when it depends on its input.
func (c *Condition) constantValue() (bool, bool) {
	env, err := celEnv()
	if err != nil {
		return false, false
	}
	folder, err := cel.NewConstantFoldingOptimizer()
	if err != nil {
		return false, false
	}
	opt, err := cel.NewStaticOptimizer(folder)
	if err != nil {
		return false, false
	}
	folded, iss := opt.Optimize(env, c.ast)
	if iss.Err() != nil {
		return false, false
	}
	e := folded.NativeRep().Expr()
	if e.Kind() != ast.LiteralKind {
		return false, false
	}
	b, ok := e.AsLiteral().(types.Bool)
	return bool(b), ok
}

// predicateSizes bounds, for cost estimation, every value a condition
// reads: no list, map or string of a predicate is larger than the largest
// predicate signet reads, and a signer's fields are certificate fields.
type predicateSizes struct{}

func (predicateSizes) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	p := n.Path()
	if len(p) == 0 {
		return nil
	}
	var s cost.SizeEstimate
	switch p[0] {
	case "predicate", "statement":
		s = cost.RangedSizeEstimate(0, MaxPredicateBytes)
	case "signer":
		s = cost.RangedSizeEstimate(0, 4096)
	default:
		return nil
	}
	return &s
}

func (predicateSizes) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

// costString writes a cost for people: 3.4e+13.
func costString(c uint64) string { return fmt.Sprintf("%.2g", float64(c)) }
