package peer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/policy"
)

// Kyverno's attestation conditions are blocks of any/all checks, each a
// JMESPath key over the predicate ("{{ buildType }}"), an operator and a
// value; every block must hold for every attestation of the type. A check
// becomes a CEL condition over `predicate` when its key is a path and its
// operator a comparison; Kyverno's age check (time_since over the
// predicate's scan time) becomes maxAge. Any other is reported weaker:
// left out only with --allow-weaker.

// kyvernoAttestation reads one verifyImages attestations entry.
func (c *converter) kyvernoAttestation(r *sourceRule, a obj, notary bool) {
	if notary {
		c.ruleNote(r, NotExpressible, a.pos(), "attestations of a Notary entry are artifacts attached to the image and signed with Notation; signet's attestations are signed in-toto statements (cosign attest, sign attest): attach them that way and write an attestations entry")
		r.refused = true
		return
	}
	typ, _ := a.str("type")
	if pt, _ := a.str("predicateType"); pt != "" {
		typ = pt
	}
	if typ == "" {
		c.ruleNote(r, NotExpressible, a.pos(), "an attestation without type or predicateType")
		r.refused = true
		return
	}
	spec := policy.AttestationSpec{Type: typ}
	if name, _ := a.str("name"); name != "" {
		spec.Name = name
	}
	for _, set := range a.list("attestors") {
		cl, ok := c.attestorSet(r, set, false)
		if !ok {
			r.refused = true
			return
		}
		if cl.threshold > 1 {
			c.ruleNote(r, NotExpressible, set.pos(), "%s: an attestation needs one signer of its signedBy in signet; write one attestation entry per required signer", cl)
			r.refused = true
			return
		}
		spec.SignedBy = append(spec.SignedBy, cl.ids...)
	}
	for i, block := range a.list("conditions") {
		c.conditionBlock(r, &spec, block, i)
	}
	r.req.attestations = append(r.req.attestations, spec)
	c.ruleNote(r, Equivalent, a.pos(), "attestation %s becomes an attestations entry (every attestation of the type signed by its signers must satisfy the conditions, as in Kyverno)", typ)
}

// conditionBlock translates one any/all block into one CEL condition.
func (c *converter) conditionBlock(r *sourceRule, spec *policy.AttestationSpec, block obj, i int) {
	var all, any []string
	var msgs []string
	ok := true
	for _, kind := range []string{"all", "any"} {
		for _, check := range block.list(kind) {
			expr, msg, translated := c.check(r, spec, check)
			if !translated {
				ok = false
				continue
			}
			if expr == "" {
				continue // became maxAge
			}
			if msg != "" {
				msgs = append(msgs, msg)
			}
			if kind == "all" {
				all = append(all, expr)
			} else {
				any = append(any, expr)
			}
		}
	}
	if !ok {
		return
	}
	var parts []string
	parts = append(parts, all...)
	if len(any) > 0 {
		parts = append(parts, "("+strings.Join(any, " || ")+")")
	}
	if len(parts) == 0 {
		return
	}
	spec.Conditions = append(spec.Conditions, policy.ConditionSpec{
		Name: fmt.Sprintf("condition-%d", i), Expression: strings.Join(parts, " && "), Message: strings.Join(msgs, "; ")})
}

// timeSince is Kyverno's age check on a predicate time.
var timeSince = regexp.MustCompile(`^\{\{\s*time_since\(\s*'',\s*'\{\{\s*([A-Za-z0-9_.]+)\s*\}\}',\s*''\s*\)\s*\}\}$`)

// check translates one check to a CEL expression ("" with ok when it
// became maxAge).
func (c *converter) check(r *sourceRule, spec *policy.AttestationSpec, o obj) (expr, msg string, ok bool) {
	key, _ := o.str("key")
	op, _ := o.str("operator")
	msg, _ = o.str("message")
	value := o.value("value")
	if m := timeSince.FindStringSubmatch(key); m != nil && (op == "LessThanOrEquals" || op == "LessThan") && value != nil {
		if _, err := policy.New(policy.Spec{Identities: []policy.IdentitySpec{{Name: "k", Key: &policy.KeySpec{KMS: "awskms:///x"}}},
			Images: []policy.RuleSpec{{Match: []string{"**"}, SignedBy: []string{"k"}, Attestations: []policy.AttestationSpec{{Type: spec.Type, MaxAge: value.Value, TrustPredicateTime: true}}}}}); err == nil {
			spec.MaxAge, spec.TrustPredicateTime = value.Value, true
			c.ruleNote(r, Equivalent, o.pos(), "the age check on %s becomes maxAge: %s with trustPredicateTime (the age counts from the predicate's time, or the signature's if earlier)", m[1], value.Value)
			return "", "", true
		}
	}
	path, ok := jmesPath(key)
	if !ok {
		c.ruleNote(r, Weaker, o.pos(), "condition %s %s: the key is a JMESPath expression the importer cannot translate (only field paths are); without it every attestation of the type passes. Write it in CEL (docs/trust-file.md, Conditions)", key, op)
		return "", "", false
	}
	lit, err := celValue(value)
	if err != nil {
		c.ruleNote(r, Weaker, o.pos(), "condition on %s: value %v", key, err)
		return "", "", false
	}
	expr, err = comparison(path, op, lit, value)
	if err != nil {
		c.ruleNote(r, Weaker, o.pos(), "condition on %s: %v", key, err)
		return "", "", false
	}
	return expr, msg, true
}

// jmesPath translates "{{ a.b[0].\"c-d\" }}" to a CEL selection on predicate.
func jmesPath(key string) (string, bool) {
	inner, ok := strings.CutPrefix(strings.TrimSpace(key), "{{")
	if !ok {
		return "", false
	}
	inner, ok = strings.CutSuffix(inner, "}}")
	if !ok {
		return "", false
	}
	inner = strings.TrimSpace(inner)
	var b strings.Builder
	b.WriteString("predicate")
	for inner != "" {
		switch {
		case inner[0] == '"':
			end := strings.IndexByte(inner[1:], '"')
			if end < 0 {
				return "", false
			}
			b.WriteString("[" + strconv.Quote(inner[1:1+end]) + "]")
			inner = inner[end+2:]
		case inner[0] == '[':
			end := strings.IndexByte(inner, ']')
			n, err := strconv.Atoi(inner[1:max(end, 1)])
			if end < 0 || err != nil || n < 0 {
				return "", false
			}
			b.WriteString(fmt.Sprintf("[%d]", n))
			inner = inner[end+1:]
		default:
			end := 0
			for end < len(inner) && (inner[end] == '_' || inner[end] >= 'a' && inner[end] <= 'z' || inner[end] >= 'A' && inner[end] <= 'Z' || end > 0 && inner[end] >= '0' && inner[end] <= '9') {
				end++
			}
			if end == 0 {
				return "", false
			}
			b.WriteString("." + inner[:end])
			inner = inner[end:]
		}
		if strings.HasPrefix(inner, ".") {
			inner = inner[1:]
			if inner == "" {
				return "", false
			}
		} else if inner != "" && inner[0] != '[' {
			return "", false
		}
	}
	return b.String(), true
}

// celValue writes a condition's value as a CEL literal.
func celValue(n *yaml.Node) (string, error) {
	if n == nil {
		return "", fmt.Errorf("missing")
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return "", err
	}
	if s, ok := v.(string); ok && strings.Contains(s, "{{") {
		return "", fmt.Errorf("%q is a variable the importer cannot resolve", s)
	}
	return celLiteral(v)
}

func celLiteral(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, err := celLiteral(e)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	b, _ := json.Marshal(v)
	return "", fmt.Errorf("%s is not a string, number, boolean or list of them", b)
}

// comparison writes key OP value in CEL. String equality with a Kyverno
// wildcard ("v1.*") is a match on the anchored pattern; a key that may be
// a list or one value (the set operators) is taken as a list.
func comparison(key, op, lit string, value *yaml.Node) (string, error) {
	asList := fmt.Sprintf("(type(%s) == list ? %s : [%s])", key, key, key)
	wild := value.Kind == yaml.ScalarNode && value.Tag == "!!str" && strings.ContainsAny(value.Value, "*?")
	switch op {
	case "Equals", "Equal":
		if wild {
			return fmt.Sprintf("string(%s).matches(%s)", key, strconv.Quote("^"+wildcardRegexp(value.Value, false)+"$")), nil
		}
		return fmt.Sprintf("%s == %s", key, lit), nil
	case "NotEquals", "NotEqual":
		if wild {
			return fmt.Sprintf("!string(%s).matches(%s)", key, strconv.Quote("^"+wildcardRegexp(value.Value, false)+"$")), nil
		}
		return fmt.Sprintf("%s != %s", key, lit), nil
	case "GreaterThan":
		return fmt.Sprintf("%s > %s", key, lit), nil
	case "GreaterThanOrEquals":
		return fmt.Sprintf("%s >= %s", key, lit), nil
	case "LessThan":
		return fmt.Sprintf("%s < %s", key, lit), nil
	case "LessThanOrEquals":
		return fmt.Sprintf("%s <= %s", key, lit), nil
	}
	if value.Kind != yaml.SequenceNode {
		lit = "[" + lit + "]"
	}
	switch op {
	case "AnyIn", "In":
		return fmt.Sprintf("%s.exists(e, e in %s)", asList, lit), nil
	case "AllIn":
		return fmt.Sprintf("%s.all(e, e in %s)", asList, lit), nil
	case "AnyNotIn":
		return fmt.Sprintf("%s.exists(e, !(e in %s))", asList, lit), nil
	case "AllNotIn", "NotIn":
		return fmt.Sprintf("%s.all(e, !(e in %s))", asList, lit), nil
	}
	return "", fmt.Errorf("operator %q has no translation", op)
}
