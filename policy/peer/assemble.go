package peer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// The peers apply every rule that matches an image (all must pass) and
// let an image no rule matches through (Kyverno) or deny it
// (policy-controller's default no-match policy); in a trust file the
// first matching rule decides, and nothing is decided by omission. So the
// rules are ordered narrower first, a narrower pattern carries the
// requirements of every broader one that also matches it, and a final
// rule says in the open what the sources did with everything else.

// unit is one signet pattern and the source rules whose requirements
// apply to the repositories it matches.
type unit struct {
	glob string
	at   Pos
	// from are the source rules (indexes into converter.rules) that apply.
	from []int
	// skipOf is the rule this pattern is a skip of (-1 for none): that
	// rule does not apply here, even where its broader patterns match.
	skipOf int
}

// assemble orders the source rules' patterns into the trust file's rules
// and adds the final rule.
func (c *converter) assemble() {
	if len(c.rules) == 0 {
		c.note(NotExpressible, Pos{File: "(input)"}, "(all)", "no Kyverno or policy-controller image verification policy in the input: nothing to import")
		return
	}
	var units []*unit
	for i, r := range c.rules {
		if r.refused {
			continue
		}
		c.finishScopes(r)
		for _, s := range r.skips {
			units = append(units, &unit{glob: s.glob, at: s.at, skipOf: i})
		}
		for _, p := range r.scopes {
			units = append(units, &unit{glob: p.glob, at: p.at, from: []int{i}, skipOf: -1})
		}
	}
	units = c.mergeEqual(units)
	c.inherit(units)
	units = order(units)
	c.emit(units)
	c.finalRule(units)
	c.applyNamespaces()
	for _, r := range c.rules {
		if r.refused {
			continue
		}
		if len(r.became) == 0 {
			c.ruleNote(r, Equivalent, r.at, "matches no image: nothing to verify")
		}
		for _, i := range r.diffs {
			c.report.Differences[i].Rules = compact(r.became)
		}
	}
}

// mergeEqual makes one unit of units with the same pattern.
func (c *converter) mergeEqual(units []*unit) []*unit {
	var out []*unit
	for _, u := range units {
		i := slices.IndexFunc(out, func(o *unit) bool { return o.glob == u.glob })
		if i < 0 {
			out = append(out, u)
			continue
		}
		o := out[i]
		switch {
		case u.skipOf >= 0 && o.skipOf < 0:
			o.from = slices.DeleteFunc(o.from, func(r int) bool { return r == u.skipOf })
		case o.skipOf >= 0 && u.skipOf < 0:
			o.from = slices.DeleteFunc(append(o.from, u.from...), func(r int) bool { return r == o.skipOf })
			o.skipOf = -1
		default:
			o.from = union(o.from, u.from)
		}
	}
	return out
}

// inherit gives each unit the rules of every broader unit that covers it
// (a rule skipped there excepted), and refuses units that partly overlap
// with different rules: no order of the two says what the peers do.
func (c *converter) inherit(units []*unit) {
	for _, u := range units {
		for _, v := range units {
			if u == v || !overlap(u.glob, v.glob) {
				continue
			}
			switch {
			case covers(v.glob, u.glob) && !covers(u.glob, v.glob):
				for _, r := range v.from {
					if r != u.skipOf {
						u.from = union(u.from, []int{r})
					}
				}
			case covers(u.glob, v.glob):
			case sameRules(u.from, v.from):
			default:
				if u.at.Line < v.at.Line || u.at.Line == v.at.Line && u.glob < v.glob {
					c.note(NotExpressible, v.at, c.rules[firstOr(v.from, u.from)].source,
						"pattern %q overlaps %q (%s) without either covering the other: an image both match must pass both rules in the peer, and the trust file decides by the first match; write them so one covers the other, or disjoint", v.glob, u.glob, u.at)
				}
			}
		}
	}
}

func firstOr(a, b []int) int {
	if len(a) > 0 {
		return a[0]
	}
	if len(b) > 0 {
		return b[0]
	}
	return 0
}

func sameRules(a, b []int) bool { return slices.Equal(sortedInts(a), sortedInts(b)) }

func sortedInts(a []int) []int {
	out := slices.Clone(a)
	slices.Sort(out)
	return out
}

func union(a, b []int) []int {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

// order puts every unit before the units that cover it, otherwise keeping
// source order.
func order(units []*unit) []*unit {
	var out []*unit
	placed := map[*unit]bool{}
	var place func(u *unit)
	place = func(u *unit) {
		if placed[u] {
			return
		}
		placed[u] = true
		for _, v := range units {
			if v != u && covers(u.glob, v.glob) && !covers(v.glob, u.glob) {
				place(v)
			}
		}
		out = append(out, u)
	}
	for _, u := range units {
		place(u)
	}
	return out
}

// emit writes the units as rules: consecutive units with the same rules
// are one rule.
func (c *converter) emit(units []*unit) {
	type group struct {
		from  []int
		globs []string
		req   requirement
	}
	var groups []*group
	for _, u := range units {
		req, ok := c.combined(u)
		if !ok {
			continue
		}
		if n := len(groups); n > 0 && sameRules(groups[n-1].from, u.from) {
			groups[n-1].globs = append(groups[n-1].globs, u.glob)
			continue
		}
		groups = append(groups, &group{from: u.from, globs: []string{u.glob}, req: req})
	}
	names := map[string]int{}
	for _, g := range groups {
		name := c.ruleName(g.from)
		if names[name]++; names[name] > 1 {
			name = fmt.Sprintf("%s-%d", name, names[name])
		}
		c.spec.Images = append(c.spec.Images, g.req.ruleSpec(name, g.globs))
		for _, r := range g.from {
			c.rules[r].became = append(c.rules[r].became, name)
		}
	}
}

// combined is the requirement of the rules that apply to u, and false
// when they cannot be one trust-file rule (reported).
func (c *converter) combined(u *unit) (requirement, bool) {
	if len(u.from) == 0 {
		return requirement{none: true}, true
	}
	req := c.rules[u.from[0]].req
	for _, r := range u.from[1:] {
		next, err := and(req, c.rules[r].req)
		if err != nil {
			c.note(NotExpressible, u.at, c.rules[r].source, "rules %s and %s both apply to %q: %v", c.rules[u.from[0]].name, c.rules[r].name, u.glob, err)
			return req, false
		}
		if (req.mode == policy.ModeAudit) != (c.rules[r].req.mode == policy.ModeAudit) {
			c.note(Stricter, u.at, c.rules[r].source, "rules %s and %s both apply to %q, one in audit mode: signet enforces both (the peer denied on the enforcing rule's failures only)", c.rules[u.from[0]].name, c.rules[r].name, u.glob)
		}
		req = next
	}
	return req, true
}

func (c *converter) ruleName(from []int) string {
	if len(from) == 0 {
		return "skipped"
	}
	var parts []string
	for _, r := range from {
		parts = append(parts, c.rules[r].name)
	}
	return strings.Join(compact(parts), "+")
}

// Names of the final rule, by what the sources did with an image none of
// their rules matched.
const (
	FinalUnchecked = "not-checked-by-source"
	FinalNoMatch   = "no-matching-policy"
)

// pcOptIn: policy-controller's scope is the namespaces that opt in.
const pcOptIn = "policy-controller checks only namespaces labelled policy.sigstore.dev/include=true (pods elsewhere " +
	"were never checked); signet checks every namespace enforcement.namespaces does not exempt: to keep the old " +
	"scope while you migrate, list the namespaces that did not opt in under enforcement.namespaces.exempt (or audit)"

// finalRule ends the trust file with what the sources did with an image
// none of their rules matched: Kyverno admits it unverified (a pin-only
// rule, named so the report and decisions say it), policy-controller
// denies it (its default no-match policy).
func (c *converter) finalRule(units []*unit) {
	if c.pc {
		c.note(Stricter, Pos{File: "(scope)"}, "(all)", "%s", pcOptIn)
	}
	for _, u := range units {
		if u.glob == "**" {
			return // the sources already govern every image
		}
	}
	at := Pos{File: "(scope)"}
	switch {
	case c.pc && c.kyverno:
		c.note(NotExpressible, at, "(all)", "Kyverno policies and policy-controller ClusterImagePolicies were imported together: policy-controller denies every image none of its policies matches, Kyverno admits those its rules do not name, and one trust file cannot be both; import each peer's policies on their own")
	case c.pc:
		c.spec.Images = append(c.spec.Images, policy.RuleSpec{Name: FinalNoMatch, Match: []string{"**"},
			Deny: "no ClusterImagePolicy matched this image (policy-controller's no-match-policy: deny)"})
		c.note(Equivalent, at, "(all)", "rule %s denies every image no ClusterImagePolicy matches, as policy-controller does by default (no-match-policy: deny); if your config-image-policies says warn or allow, those images were admitted there", FinalNoMatch)
	case c.kyverno:
		c.spec.Images = append(c.spec.Images, policy.RuleSpec{Name: FinalUnchecked, Match: []string{"**"}, Signature: policy.Optional})
		c.note(Equivalent, at, "(all)", "rule %s admits, unverified but pinned to a digest, every image no Kyverno rule names, as Kyverno does (it never checked them); to refuse them instead, replace it with: {match: [\"**\"], deny: \"...\"}", FinalUnchecked)
	}
}
