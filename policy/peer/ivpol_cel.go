package peer

import (
	"fmt"
	"slices"
	"strconv"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"

	"github.com/signet-dev/signet/policy"
)

// An ImageValidatingPolicy says what it requires in CEL validations. The
// importer reads the shapes Kyverno documents, each over every image of
// the workload (images.<list>), joined by &&:
//
//	images.containers.map(i, verifyImageSignatures(i, [attestors.a, ...])).all(e, e > 0)
//	images.containers.all(i, verifyImageSignatures(i, [attestors.a]) >= 1)
//	images.containers.map(i, verifyAttestationSignatures(i, attestations.x, [attestors.a])).all(e, e > 0)
//	images.containers.map(i, <condition over extractPayload(i, attestations.x)>).all(e, e)
//
// A signature count becomes signedBy and threshold, an attestation an
// attestations entry, a condition on the payload a CEL condition over
// the in-toto statement. Anything else is reported, with its position.

// celParser parses without macros, so map() and all() stay calls.
var celParser = func() *cel.Env {
	env, err := cel.NewEnv(cel.ClearMacros())
	if err != nil {
		panic(err)
	}
	return env
}()

// ivpolValidation reads one validation.
func (c *converter) ivpolValidation(p *ivpol, v obj) {
	r := p.r
	expr, n := v.str("expression")
	at := v.posOf(n, v.path+".expression")
	tree, iss := celParser.Parse(expr)
	if iss != nil && iss.Err() != nil {
		c.ruleNote(r, NotExpressible, at, "the expression does not parse: %v", iss.Err())
		r.refused = true
		return
	}
	msg, _ := v.str("message")
	for _, part := range conjuncts(tree.NativeRep().Expr()) {
		if !c.ivpolRequirement(p, part, tree.NativeRep().SourceInfo(), msg, at) {
			r.refused = true
		}
	}
}

// conjuncts splits a && b && c.
func conjuncts(e ast.Expr) []ast.Expr {
	if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == "_&&_" {
		var out []ast.Expr
		for _, a := range e.AsCall().Args() {
			out = append(out, conjuncts(a)...)
		}
		return out
	}
	return []ast.Expr{e}
}

// ivpolRequirement reads one conjunct into the rule's requirement.
func (c *converter) ivpolRequirement(p *ivpol, e ast.Expr, info *ast.SourceInfo, msg string, at Pos) bool {
	r := p.r
	unknown := func(why string) bool {
		text, _ := cel.ExprToString(e, info)
		c.ruleNote(r, NotExpressible, at, "%s: %s (the importer reads signature counts, attestations and conditions on their payload over images.<list>; see the package documentation)", text, why)
		return false
	}
	iter, body, pred, list, ok := overImages(e)
	if !ok {
		return unknown("not a check over every image of the workload")
	}
	if list != "containers" && list != "" || !p.allContainers {
		p.allContainers = true // say it once
		c.ruleNote(r, Stricter, at, "the validation checks images.%s; signet verifies the images of every container (init and ephemeral ones too)", list)
	}
	// The value each image gives: a count from verify*, or a boolean.
	if body.Kind() == ast.CallKind {
		call := body.AsCall()
		switch call.FunctionName() {
		case "verifyImageSignatures":
			need, ok := countPredicate(pred)
			if !ok || len(call.Args()) != 2 {
				return unknown("a signature count compared otherwise than with > 0, >= N or == N")
			}
			names, ok := attestorList(call.Args()[1])
			if !ok {
				return unknown("the attestors are not a list of attestors.<name>")
			}
			return c.ivpolSignatures(p, names, need, at)
		case "verifyAttestationSignatures":
			need, ok := countPredicate(pred)
			if !ok || len(call.Args()) != 3 || need != 1 {
				return unknown("an attestation check other than one signer (> 0)")
			}
			att, ok := selectOf(call.Args()[1], "attestations")
			names, ok2 := attestorList(call.Args()[2])
			if !ok || !ok2 {
				return unknown("not attestations.<name> and a list of attestors.<name>")
			}
			return c.ivpolAttestation(p, att, names, at)
		}
	}
	// A condition: pred is the identity (all(e, e)) and body a boolean
	// over extractPayload(iter, attestations.x).
	if pred != nil && !identityPredicate(pred) {
		return unknown("a condition compared with something other than true")
	}
	att, ok := payloadCondition(body, iter)
	if !ok {
		return unknown("a condition that does not read one attestation's payload (extractPayload)")
	}
	typ, declared := p.attestations[att]
	if !declared || typ == "" {
		return unknown(fmt.Sprintf("attestation %q is not an in-toto attestation (a referrer's payload has no signet counterpart)", att))
	}
	text, err := cel.ExprToString(body, info)
	if err != nil {
		return unknown(err.Error())
	}
	i := slices.IndexFunc(r.req.attestations, func(a policy.AttestationSpec) bool { return a.Name == att })
	if i < 0 {
		return unknown(fmt.Sprintf("a condition on attestation %q, which no verifyAttestationSignatures requires", att))
	}
	a := &r.req.attestations[i]
	if slices.ContainsFunc(a.Conditions, func(c policy.ConditionSpec) bool { return c.Expression == text }) {
		return true // the same condition over another image list
	}
	a.Conditions = append(a.Conditions, policy.ConditionSpec{Name: fmt.Sprintf("validation-%d", len(a.Conditions)), Expression: text, Message: msg})
	c.ruleNote(r, Equivalent, at, "the condition on attestation %s becomes the CEL condition %s over the in-toto statement", att, strconv.Quote(text))
	return true
}

// overImages recognizes images.<list>.map(i, body).all(e, pred) and
// images.<list>.all(i, body), returning the iteration variable, body and
// the predicate on body's value (nil for all(i, body)).
func overImages(e ast.Expr) (iter string, body, pred ast.Expr, list string, ok bool) {
	if e.Kind() != ast.CallKind || e.AsCall().FunctionName() != "all" || !e.AsCall().IsMemberFunction() || len(e.AsCall().Args()) != 2 {
		return "", nil, nil, "", false
	}
	all := e.AsCall()
	target := all.Target()
	if target.Kind() == ast.CallKind && target.AsCall().FunctionName() == "map" && len(target.AsCall().Args()) == 2 {
		m := target.AsCall()
		list, isImages := selectOf(m.Target(), "images")
		if !isImages || m.Args()[0].Kind() != ast.IdentKind || all.Args()[0].Kind() != ast.IdentKind {
			return "", nil, nil, "", false
		}
		return m.Args()[0].AsIdent(), m.Args()[1], all.Args()[1], list, true
	}
	list, isImages := selectOf(target, "images")
	if !isImages || all.Args()[0].Kind() != ast.IdentKind {
		return "", nil, nil, "", false
	}
	// all(i, verify…(i, …) > 0): split the comparison off the call.
	b := all.Args()[1]
	if b.Kind() == ast.CallKind && len(b.AsCall().Args()) == 2 && isComparison(b.AsCall().FunctionName()) {
		lhs := b.AsCall().Args()[0]
		if lhs.Kind() == ast.CallKind && (lhs.AsCall().FunctionName() == "verifyImageSignatures" || lhs.AsCall().FunctionName() == "verifyAttestationSignatures") {
			return all.Args()[0].AsIdent(), lhs, b, list, true
		}
	}
	return all.Args()[0].AsIdent(), b, nil, list, true
}

// selectOf is the field name of <ident>.<field>.
func selectOf(e ast.Expr, ident string) (string, bool) {
	if e.Kind() != ast.SelectKind {
		return "", false
	}
	s := e.AsSelect()
	if s.Operand().Kind() != ast.IdentKind || s.Operand().AsIdent() != ident {
		return "", false
	}
	return s.FieldName(), true
}

// attestorList reads [attestors.a, attestors.b].
func attestorList(e ast.Expr) ([]string, bool) {
	if e.Kind() != ast.ListKind {
		return nil, false
	}
	var names []string
	for _, el := range e.AsList().Elements() {
		n, ok := selectOf(el, "attestors")
		if !ok {
			return nil, false
		}
		names = append(names, n)
	}
	return names, len(names) > 0
}

func isComparison(fn string) bool {
	switch fn {
	case "_>_", "_>=_", "_==_":
		return true
	}
	return false
}

// countPredicate reads "x > N", "x >= N", "x == N" as the count needed.
func countPredicate(pred ast.Expr) (int, bool) {
	if pred == nil || pred.Kind() != ast.CallKind || len(pred.AsCall().Args()) != 2 {
		return 0, false
	}
	call := pred.AsCall()
	lit := call.Args()[1]
	if lit.Kind() != ast.LiteralKind {
		return 0, false
	}
	n, ok := lit.AsLiteral().Value().(int64)
	if !ok {
		return 0, false
	}
	switch call.FunctionName() {
	case "_>_":
		return int(n) + 1, n >= 0
	case "_>=_", "_==_":
		return int(n), n >= 1
	}
	return 0, false
}

// identityPredicate reads all(e, e) and all(e, e == true).
func identityPredicate(pred ast.Expr) bool {
	if pred.Kind() == ast.IdentKind {
		return true
	}
	if pred.Kind() == ast.CallKind && pred.AsCall().FunctionName() == "_==_" && len(pred.AsCall().Args()) == 2 {
		l := pred.AsCall().Args()[1]
		return l.Kind() == ast.LiteralKind && l.AsLiteral().Value() == true
	}
	return false
}

// payloadCondition checks that body reads only extractPayload(iter,
// attestations.x) (of one x) and replaces each such call with the
// statement: it returns x.
func payloadCondition(body ast.Expr, iter string) (string, bool) {
	att := ""
	ok := true
	fac := ast.NewExprFactory()
	var walk func(e ast.Expr)
	walk = func(e ast.Expr) {
		switch e.Kind() {
		case ast.CallKind:
			call := e.AsCall()
			if call.FunctionName() == "extractPayload" && len(call.Args()) == 2 {
				name, isAtt := selectOf(call.Args()[1], "attestations")
				arg := call.Args()[0]
				if !isAtt || arg.Kind() != ast.IdentKind || arg.AsIdent() != iter || att != "" && att != name {
					ok = false
					return
				}
				att = name
				e.SetKindCase(fac.NewIdent(e.ID(), "statement"))
				return
			}
			if call.IsMemberFunction() {
				walk(call.Target())
			}
			for _, a := range call.Args() {
				walk(a)
			}
		case ast.SelectKind:
			walk(e.AsSelect().Operand())
		case ast.IdentKind:
			if e.AsIdent() == iter || e.AsIdent() == "images" || e.AsIdent() == "attestors" || e.AsIdent() == "attestations" {
				ok = false
			}
		case ast.ListKind:
			for _, el := range e.AsList().Elements() {
				walk(el)
			}
		case ast.MapKind, ast.StructKind, ast.ComprehensionKind:
			ok = false
		}
	}
	walk(body)
	return att, ok && att != ""
}

// ivpolSignatures: need of the named attestors must verify.
func (c *converter) ivpolSignatures(p *ivpol, names []string, need int, at Pos) bool {
	r := p.r
	sets, err := p.attestorIDs(names)
	if err != nil {
		c.ruleNote(r, NotExpressible, at, "%v", err)
		return false
	}
	var ids []string
	for _, s := range sets {
		if len(s) > 1 && need > 1 {
			c.ruleNote(r, NotExpressible, at, "%d of the attestors %s, one of which has several identities: signet's threshold counts identities", need, joinNames(names))
			return false
		}
		ids = append(ids, s...)
	}
	if need > len(sets) {
		c.ruleNote(r, NotExpressible, at, "needs %d of %d attestors: no image can pass", need, len(sets))
		return false
	}
	cl := clause{ids: compact(ids), threshold: need}
	r.req.clauses = append(r.req.clauses, cl)
	simplified, err := simplifyClauses(r.req.clauses)
	if err != nil {
		c.ruleNote(r, NotExpressible, at, "%v", err)
		return false
	}
	r.req.clauses = simplified
	c.ruleNote(r, Equivalent, at, "signatures by %s become signedBy (threshold %d)", cl, need)
	return true
}

// ivpolAttestation: an in-toto attestation signed by one of the attestors.
func (c *converter) ivpolAttestation(p *ivpol, att string, names []string, at Pos) bool {
	r := p.r
	typ, declared := p.attestations[att]
	if !declared {
		c.ruleNote(r, NotExpressible, at, "attestation %q is not declared", att)
		return false
	}
	if typ == "" {
		c.ruleNote(r, NotExpressible, at, "attestation %q is a referrer (a separately signed artifact, such as a Notation-signed SBOM): signet requires in-toto attestations", att)
		return false
	}
	sets, err := p.attestorIDs(names)
	if err != nil {
		c.ruleNote(r, NotExpressible, at, "%v", err)
		return false
	}
	var ids []string
	for _, s := range sets {
		ids = append(ids, s...)
	}
	spec := policy.AttestationSpec{Name: att, Type: typ, SignedBy: compact(ids)}
	if i := slices.IndexFunc(r.req.attestations, func(a policy.AttestationSpec) bool { return a.Name == att }); i >= 0 {
		if !slices.Equal(r.req.attestations[i].SignedBy, spec.SignedBy) {
			c.ruleNote(r, NotExpressible, at, "attestation %q is checked with different attestors; signet has one signer list per attestation", att)
			return false
		}
		return true // the same check over another image list
	}
	r.req.attestations = append(r.req.attestations, spec)
	c.ruleNote(r, Equivalent, at, "attestation %s (%s) signed by one of %s becomes an attestations entry", att, typ, joinNames(names))
	return true
}
