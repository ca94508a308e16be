package policy

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// emptyList reports whether key is present with no items ([], null or "").
func emptyList(o *object, key string) bool {
	n, ok := o.keys[key]
	if !ok {
		return false
	}
	switch {
	case n.Kind == yaml.SequenceNode:
		return len(n.Content) == 0
	case n.Kind == yaml.ScalarNode:
		return n.Tag == "!!null" || n.Value == ""
	}
	return false
}

// catchAllOptional warns about a pin-only rule that matches every image:
// every unsigned image would be admitted, which a trust file rarely means.
func (l *loader) catchAllOptional(r *Rule, nodes []*yaml.Node, path string) {
	for i, g := range r.Match {
		if catchAll(g) {
			l.d.warnf(nodes[i], fmt.Sprintf("%s.match[%d]", path, i), WarnCatchAllOptional,
				"%s admits every image without a signature (%q matches any registry); list the third-party registries it is for, and end with a deny rule", ruleRef(r), g.String())
		}
	}
}

// shadowed warns about a rule no image can reach: an earlier rule (first
// match wins) takes everything each of its patterns matches. Then r joins
// the rules later ones are checked against.
func (l *loader) shadowed(r *Rule, n *yaml.Node) {
	defer l.earlier.add(r)
	if len(r.Match) == 0 {
		return
	}
	var by *Rule
	for _, g := range r.Match {
		e := l.earlier.shadowing(g)
		if e == nil {
			return
		}
		by = later(by, e)
	}
	l.d.warnf(n, fmt.Sprintf("images[%d]", r.Index), WarnUnreachableRule,
		"%s can never match: %s comes first and matches every image it does (the first matching rule decides); move it up or remove it", ruleRef(r), ruleRef(by))
}

// ruleRef names a rule in a message: "rule images[2]", or
// "rule \"acme\" (images[0])" when it has a name.
func ruleRef(r *Rule) string {
	if path := fmt.Sprintf("images[%d]", r.Index); r.Name != path {
		return fmt.Sprintf("rule %q (%s)", r.Name, path)
	}
	return "rule " + r.Name
}

// later returns the rule that comes last of a and b (the latest one that a
// message must name for the fix to work), a may be nil.
func later(a, b *Rule) *Rule {
	if a == nil || b.Index > a.Index {
		return b
	}
	return a
}

// shadows are the rules loaded so far, filed for the question shadowed
// asks of each new pattern g: which is the first of them with a pattern
// that subsumes g? Asked of every rule, a scan of the earlier ones makes
// loading quadratic (8 s for 10,000 rules); these answer it exactly, in
// the cases subsumes accepts, with a few lookups.
type shadows struct {
	// catchAll is the first rule with a catch-all pattern.
	catchAll *Rule
	// prefixes holds, by its literal segments, the first rule with each
	// pattern of the form "literal/segments/**".
	prefixes map[string]*Rule
	// rules finds the first rule matching a literal pattern.
	rules ruleIndex
}

func newShadows() shadows { return shadows{prefixes: map[string]*Rule{}, rules: newIndex()} }

func (s *shadows) add(r *Rule) {
	for _, p := range r.Match {
		if s.catchAll == nil && catchAll(p) {
			s.catchAll = r
		}
		if k := len(p.segs) - 1; k >= 1 && p.segs[k].anyDepth && literalSegs(p.segs[:k]) {
			key := p.raw[:len(p.raw)-len("/**")]
			if s.prefixes[key] == nil {
				s.prefixes[key] = r
			}
		}
	}
	s.rules.add(r)
}

// shadowing returns the first rule added with a pattern that subsumes g.
func (s *shadows) shadowing(g Glob) *Rule {
	first := s.catchAll
	earlier := func(r *Rule) {
		if r != nil && (first == nil || r.Index < first.Index) {
			first = r
		}
	}
	if g.literal {
		r, _ := s.rules.lookup(g.raw)
		earlier(r)
		return first
	}
	// "p/**" subsumes g when g starts with p's literal segments and has
	// more segments than they.
	end := 0
	for k := 1; k < len(g.segs) && literalSegs(g.segs[k-1:k]); k++ {
		end += len(g.segs[k-1].text) + min(end, 1)
		earlier(s.prefixes[g.raw[:end]])
	}
	return first
}

func literalSegs(segs []segment) bool {
	for _, s := range segs {
		if s.wild || s.anyDepth {
			return false
		}
	}
	return true
}

// subsumes reports whether every repository q matches is matched by p. It
// is exact for the cases it accepts and says false when unsure: p matches
// everything; q is a literal p matches; or p is a literal prefix followed by
// "**" and q starts with that prefix and has more segments.
func subsumes(p, q Glob) bool {
	switch {
	case catchAll(p):
		return true
	case q.literal:
		return p.Match(q.raw)
	}
	k := len(p.segs) - 1
	if k < 1 || !p.segs[k].anyDepth || len(q.segs) <= k {
		return false
	}
	for i := range k {
		if p.segs[i].wild || p.segs[i].anyDepth || q.segs[i].wild || q.segs[i].anyDepth || p.segs[i].text != q.segs[i].text {
			return false
		}
	}
	return true
}

// unusedIdentities warns about identities no rule (or provenance) names.
func (l *loader) unusedIdentities() {
	used := map[*Identity]bool{}
	for _, r := range l.p.Rules {
		for _, id := range r.SignedBy {
			used[id] = true
		}
		if r.Provenance != nil {
			for _, id := range r.Provenance.SignedBy {
				used[id] = true
			}
		}
		for _, a := range r.Attestations {
			for _, id := range a.SignedBy {
				used[id] = true
			}
		}
	}
	for i, id := range l.p.Identities {
		if !used[id] {
			l.d.warnf(l.idNodes[id], fmt.Sprintf("identities[%d].name", i), WarnUnusedIdentity,
				"identity %q is not in any rule's signedBy: nothing it signs is accepted; add it to a rule or remove it", id.Name)
		}
	}
}

// thresholdOneRepository warns about a rule whose threshold two keyless
// identities of one repository can meet: whoever can run that repository's
// workflows on two refs (or two workflows) is two signers.
func (l *loader) thresholdOneRepository(r *Rule, n *yaml.Node, path string) {
	if r.Threshold < 2 {
		return
	}
	for i, a := range r.SignedBy {
		for _, b := range r.SignedBy[i+1:] {
			if repo, ok := sameRepository(a, b); ok {
				l.d.warnf(n, path+".threshold", WarnThresholdOneRepository,
					"%s needs %d distinct signers, but identities %q and %q both accept repository %s: whoever can run its workflows on two refs counts twice; pin them to different repositories, or use a key for one",
					ruleRef(r), r.Threshold, a.Name, b.Name, repo)
				return
			}
		}
	}
}

// sameRepository reports whether one source repository could satisfy both
// keyless identities (same issuer and server, overlapping repository globs).
func sameRepository(a, b *Identity) (string, bool) {
	ka, kb := a.Keyless, b.Keyless
	if ka == nil || kb == nil || ka.Issuer != kb.Issuer || ka.ServerURL != kb.ServerURL || ka.Repository == nil || kb.Repository == nil {
		return "", false
	}
	ga, gb := *ka.Repository, *kb.Repository
	switch wa, wb := globWitness(ga), globWitness(gb); {
	case gb.Match(wa):
		return ka.ServerURL + "/" + wa, true
	case ga.Match(wb):
		return ka.ServerURL + "/" + wb, true
	}
	return "", false
}

// namespaceNameLabel is set by the apiserver to the namespace's name and
// cannot be changed: a selector on it selects by name.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// labelExemption warns about a label selector that takes namespaces out of
// enforcement (exemptLabels) or into audit mode (auditLabels): anyone who
// may update a namespace's labels (namespace admins, often tenants, or a
// GitOps repository they write to) can select their own namespace and run
// unsigned images. Namespace names are set once, by whoever may create
// namespaces.
func (l *loader) labelExemption(n *yaml.Node, field, key string, selector map[string]string) {
	if _, byName := selector[namespaceNameLabel]; byName {
		return
	}
	effect := "exempts it from verification"
	list := "exempt"
	if key == "auditLabels" {
		effect, list = "puts it in audit mode (unsigned images are admitted and only reported)", "audit"
	}
	l.d.warnf(n, field, WarnLabelExemption,
		"a namespace carrying these labels %s, and whoever may label a namespace can add them to their own; list namespaces by name under namespaces.%s (or select %s), and keep namespace label updates to cluster admins",
		effect, list, namespaceNameLabel)
}
