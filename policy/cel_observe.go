package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
)

// A failed condition says what it saw: the values of the parts of the
// expression that decided the failure, found by evaluating it once more
// with every sub-expression's value recorded (only on the failure path).
// For `R.all(x, P)` that was false, and `R.exists(x, P)` that should not
// have been true, it names the elements of R that decided it, through a
// witness expression planned at load (`R.filter(x, !(P))`, `R.filter(x, P)`).

// Bounds on what a reason carries.
const (
	MaxObservations  = 4
	MaxObservedValue = 300 // bytes of one rendered value
	maxWitnessItems  = 3
	maxWitnesses     = 8
)

// Observation is one value a failed condition saw.
type Observation struct {
	// Expression is the part of the condition, as CEL source.
	Expression string `json:"expression"`
	Value      string `json:"value"`
}

// Observations render as "expr = value; expr = value".
type Observations []Observation

func (os Observations) String() string {
	parts := make([]string, len(os))
	for i, o := range os {
		parts[i] = o.Expression + " = " + o.Value
	}
	return strings.Join(parts, "; ")
}

// condWitness finds the elements of a comprehension's range that decided it.
type condWitness struct {
	// wantTrue: the comprehension is an all(): it explains a false result;
	// else an exists(): it explains a true one.
	wantTrue bool
	label    string
	prg      cel.Program
}

func planWitnesses(env *cel.Env, checked *cel.Ast) map[int64]condWitness {
	info := checked.NativeRep().SourceInfo()
	out := map[int64]condWitness{}
	ids := slices.Sorted(func(yield func(int64) bool) {
		for id := range info.MacroCalls() {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		if len(out) == maxWitnesses {
			break
		}
		call := info.MacroCalls()[id].AsCall()
		fn, args := call.FunctionName(), call.Args()
		if !call.IsMemberFunction() || len(args) != 2 || args[0].Kind() != ast.IdentKind ||
			(fn != "all" && fn != "exists" && fn != "exists_one") {
			continue
		}
		rng, err1 := cel.ExprToString(call.Target(), info)
		pred, err2 := cel.ExprToString(args[1], info)
		if err1 != nil || err2 != nil {
			continue
		}
		x := args[0].AsIdent()
		w := condWitness{wantTrue: fn == "all"}
		src := fmt.Sprintf("(%s).filter(%s, %s)", rng, x, pred)
		w.label = fmt.Sprintf("%s where %s", rng, pred)
		if w.wantTrue {
			src = fmt.Sprintf("(%s).filter(%s, !(%s))", rng, x, pred)
			w.label = fmt.Sprintf("%s where !(%s)", rng, pred)
		}
		a, iss := env.Compile(src)
		if iss.Err() != nil {
			continue // it reads an enclosing loop's variable: nothing to evaluate alone
		}
		if w.prg, err1 = env.Program(a, runtimeLimits()...); err1 == nil {
			out[id] = w
		}
	}
	return out
}

// explain evaluates c again, tracing, and returns what decided its failure.
func (c *Condition) explain(act map[string]any, b *Budget) Observations {
	if b.left == 0 {
		return nil
	}
	_, det, _ := c.traced.Eval(act)
	if det == nil || det.State() == nil {
		return nil
	}
	if det.ActualCost() != nil {
		b.spend(*det.ActualCost())
	}
	o := &observer{c: c, state: det.State(), act: act, budget: b, info: c.ast.NativeRep().SourceInfo()}
	o.walk(c.ast.NativeRep().Expr(), true)
	return o.out
}

type observer struct {
	c      *Condition
	state  interpreter.EvalState
	act    map[string]any
	budget *Budget
	info   *ast.SourceInfo
	out    Observations
}

// walk explains why e did not evaluate to want.
func (o *observer) walk(e ast.Expr, want bool) {
	if len(o.out) >= MaxObservations {
		return
	}
	v, seen := o.state.Value(e.ID())
	if !seen {
		return // short-circuited: it did not decide
	}
	if b, ok := v.(types.Bool); ok && bool(b) == want {
		return
	}
	switch e.Kind() {
	case ast.CallKind:
		call := e.AsCall()
		switch call.FunctionName() {
		case operators.LogicalNot:
			o.walk(call.Args()[0], !want)
			return
		case operators.LogicalAnd, operators.LogicalOr:
			for _, a := range call.Args() {
				o.walk(a, want)
			}
			return
		case operators.Equals, operators.NotEquals, operators.Less, operators.LessEquals,
			operators.Greater, operators.GreaterEquals, operators.In:
			for _, a := range call.Args() {
				o.leaf(a)
			}
			return
		}
	case ast.ComprehensionKind:
		if w, ok := o.c.witnesses[e.ID()]; ok && w.wantTrue == want {
			o.witness(w)
			return
		}
	}
	o.leaf(e)
}

func (o *observer) leaf(e ast.Expr) {
	if e.Kind() == ast.LiteralKind || len(o.out) >= MaxObservations {
		return
	}
	v, ok := o.state.Value(e.ID())
	if !ok {
		return
	}
	src, err := cel.ExprToString(e, o.info)
	if err != nil {
		return
	}
	o.out = append(o.out, Observation{Expression: clip(src, 160), Value: renderValue(v)})
}

func (o *observer) witness(w condWitness) {
	if o.budget.left == 0 {
		return
	}
	v, det, err := w.prg.Eval(o.act)
	if det != nil && det.ActualCost() != nil {
		o.budget.spend(*det.ActualCost())
	}
	if err != nil {
		return
	}
	o.out = append(o.out, Observation{Expression: clip(w.label, 160), Value: renderValue(v)})
}

// renderValue writes a CEL value compactly, as JSON would, within
// MaxObservedValue bytes: long lists show their first elements and their
// length.
func renderValue(v ref.Val) string {
	var b strings.Builder
	writeValue(&b, v, 0)
	return clip(b.String(), MaxObservedValue)
}

func writeValue(b *strings.Builder, v ref.Val, depth int) {
	if b.Len() > MaxObservedValue {
		return
	}
	switch x := v.(type) {
	case types.String:
		b.WriteString(strconv.Quote(string(x)))
	case types.Double:
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 64))
	case traits.Lister:
		n, _ := x.Size().(types.Int)
		b.WriteString("[")
		for i := types.Int(0); i < n && i < maxWitnessItems; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, x.Get(i), depth+1)
		}
		if n > maxWitnessItems {
			fmt.Fprintf(b, ", … (%d in all)", n)
		}
		b.WriteString("]")
	case traits.Mapper:
		var keys []string
		vals := map[string]ref.Val{}
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			ks := fmt.Sprint(k.Value())
			keys = append(keys, ks)
			vals[ks] = x.Get(k)
		}
		slices.Sort(keys)
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			if depth > 1 {
				b.WriteString("…")
				break
			}
			fmt.Fprintf(b, "%s: ", strconv.Quote(k))
			writeValue(b, vals[k], depth+1)
		}
		b.WriteString("}")
	case *types.Err:
		b.WriteString("error: " + x.Error())
	default:
		fmt.Fprint(b, v.Value())
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
