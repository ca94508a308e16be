package policy

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// attestations reads a rule's `attestations:` list.
func (l *loader) attestations(o *object, path string, r *Rule) {
	if !o.has("attestations") {
		return
	}
	seen := map[string]bool{}
	for i, n := range l.nonEmpty(o, "attestations", path, "attestation") {
		a, nameN := l.attestation(n, fmt.Sprintf("%s.attestations[%d]", path, i), r)
		if a != nil && l.d.distinct(seen, "attestation", a.Name, nameN, a.Field) {
			r.Attestations = append(r.Attestations, a)
		}
	}
}

// nonEmpty is o's list under key, which, when present, must list at least
// one what.
func (l *loader) nonEmpty(o *object, key, path, what string) []*yaml.Node {
	items := o.list(key)
	if len(items) == 0 {
		l.d.errorf(o.get(key), path+"."+key, "is empty: list at least one %s, or leave %s out", what, key)
	}
	return items
}

// distinct says whether name is the first what of its list so named, and
// records it in seen; a second is an error at n, since decisions and
// reports tell the items apart by name.
func (d *decoder) distinct(seen map[string]bool, what, name string, n *yaml.Node, field string) bool {
	if seen[name] {
		d.errorf(n, field, "a second %s named %q: give each a distinct name", what, name)
		return false
	}
	seen[name] = true
	return true
}

// attestation reads one required attestation; it returns the node that
// names it, for a duplicate's error.
func (l *loader) attestation(n *yaml.Node, path string, r *Rule) (*Attestation, *yaml.Node) {
	o := l.d.object(n, path)
	defer o.done()
	a := &Attestation{Field: path}
	typ, typN := o.str("type")
	name, nameN := o.str("name")
	switch uri, err := ResolvePredicateType(typ); {
	case typ == "":
		l.d.errorf(nodeOr(typN, n), path+".type", "an attestation needs a predicate type: a name (%s) or a URI", strings.Join(PredicateTypeNames(), ", "))
	case err != nil:
		l.d.errorf(typN, path+".type", "%v", err)
	default:
		a.PredicateType = uri
	}
	a.Name = cmp.Or(name, PredicateTypeName(a.PredicateType), typ)
	a.SignedBy = l.identityRefs(o, "signedBy", path)
	if emptyList(o, "signedBy") {
		l.d.errorf(o.get("signedBy"), path+".signedBy", "is empty: name at least one identity, or leave signedBy out to use the rule's")
	}
	if len(a.SignedBy) == 0 {
		a.SignedBy = r.SignedBy
	}
	if v, vn := o.str("maxAge"); v != "" {
		d, err := parseAge(v)
		if err != nil {
			l.d.errorf(vn, path+".maxAge", "%v", err)
		}
		a.MaxAge = d
	}
	if tp, tpN := o.boolean("trustPredicateTime"); tp {
		_, known := PredicateTimeFields[a.PredicateType]
		switch {
		case a.MaxAge == 0:
			l.d.errorf(tpN, path+".trustPredicateTime", "has no effect without maxAge")
		case a.PredicateType != "" && !known:
			l.d.errorf(tpN, path+".trustPredicateTime", "predicate type %s states no time signet reads; it knows the times of %s",
				a.PredicateType, strings.Join(timedTypeNames(), ", "))
		}
		a.TrustPredicateTime = true
	}
	a.Conditions = l.conditions(o, path)
	return a, nodeOr(nameN, nodeOr(typN, n))
}

func timedTypeNames() []string {
	var out []string
	for _, name := range PredicateTypeNames() {
		if _, ok := PredicateTimeFields[predicateTypeNames[name]]; ok && name != "spdxjson" {
			out = append(out, name)
		}
	}
	return out
}

// parseAge reads a maximum age: "7d", "36h", "1d12h", "90m".
func parseAge(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	if i := strings.Index(rest, "d"); i > 0 {
		days, err := strconv.Atoi(rest[:i])
		if err != nil {
			return 0, fmt.Errorf("must be a duration such as 7d, 36h or 1d12h, got %q", s)
		}
		d, rest = time.Duration(days)*24*time.Hour, rest[i+1:]
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("must be a duration such as 7d, 36h or 1d12h, got %q", s)
		}
		d += more
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive, got %q", s)
	}
	return d, nil
}

// conditions reads a `conditions:` list: each item a CEL expression, or a
// mapping with expression and optional name and message.
func (l *loader) conditions(o *object, path string) []*Condition {
	if !o.has("conditions") {
		return nil
	}
	var out []*Condition
	seen := map[string]bool{}
	for i, n := range l.nonEmpty(o, "conditions", path, "condition") {
		c := l.condition(n, fmt.Sprintf("%s.conditions[%d]", path, i), fmt.Sprintf("conditions[%d]", i))
		if c != nil && l.d.distinct(seen, "condition", c.Name, n, c.Field) {
			out = append(out, c)
		}
	}
	return out
}

func (l *loader) condition(n *yaml.Node, path, defaultName string) *Condition {
	exprN, name, msg := n, "", ""
	switch {
	case n.Kind == yaml.MappingNode:
		co := l.d.object(n, path)
		name, _ = co.str("name")
		msg, _ = co.str("message")
		_, exprN = co.str("expression")
		co.done()
		if exprN == nil {
			l.d.errorf(n, path+".expression", "a condition needs an expression")
			return nil
		}
		path += ".expression"
	case n.Kind != yaml.ScalarNode || n.Tag == "!!null":
		l.d.errorf(n, path, "must be a CEL expression, or a mapping with expression (and name, message); got %s", kindName(n))
		return nil
	}
	if strings.TrimSpace(exprN.Value) == "" {
		l.d.errorf(exprN, path, "a condition needs an expression")
		return nil
	}
	c, issues := compileCondition(exprN.Value)
	for _, is := range issues {
		l.exprError(exprN, path, is)
	}
	if c == nil {
		return nil
	}
	c.Name, c.Message, c.Field = cmp.Or(name, defaultName), msg, strings.TrimSuffix(path, ".expression")
	l.constantCondition(c, exprN)
	return c
}

// exprError reports a problem inside an expression at its place in the file.
func (l *loader) exprError(n *yaml.Node, field string, is exprIssue) {
	fe := FieldError{File: l.d.file, Field: field, Msg: "condition: " + is.msg, Line: n.Line, Column: n.Column}
	if pos := exprPositions(l.cfg.src, n); len(pos) > 0 {
		p := pos[min(exprOffset(n.Value, is.line, is.column), len(pos)-1)]
		fe.Line, fe.Column = p.line, p.column
	}
	if n.Line == 0 {
		fe.Line, fe.Column = 0, 0
	}
	l.d.errs = append(l.d.errs, fe)
}

// exprOffset is the index, in code points, of a 1-based line and 0-based
// column of expr.
func exprOffset(expr string, line, column int) int {
	off := 0
	for i, l := range strings.SplitAfter(expr, "\n") {
		if i == line-1 {
			return off + max(column, 0)
		}
		off += len([]rune(l))
	}
	return off
}
