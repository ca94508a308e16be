package peer

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/policy"
)

// sourceRule is one rule of a source policy, read: the repositories it
// governs (translated patterns, with where each was written), those it
// skips, and what it requires of them.
type sourceRule struct {
	at     Pos
	source string // "ClusterPolicy/check-images"
	name   string // the signet rule name it suggests
	scopes []patternAt
	skips  []patternAt
	req    requirement
	// refused: the rule could not be read into a requirement (a
	// not-expressible difference says why); it is left out.
	refused bool
	// ns is what the rule says of namespaces (namespaces.go).
	ns nsScope
	// became are the trust-file rules it became; diffs the report's
	// differences about it (their Rules are set once assembled).
	became []string
	diffs  []int
	// ids counts the identities named after the rule.
	ids int
	// cover is which references the source patterns took, per glob, in
	// the dialect they were written in (scope.go).
	cover   map[string]cover
	dialect dialect
}

// identityBase is the name of the rule's next identity.
func (r *sourceRule) identityBase() string {
	r.ids++
	return fmt.Sprintf("%s-%d", r.name, r.ids)
}

type patternAt struct {
	glob string
	at   Pos
}

// requirement is what a source rule asks of an image, in trust-file terms.
// Two rules that govern one image both apply in the peers (every matching
// rule must pass); requirements combine with and.
type requirement struct {
	// deny refuses every image ("static: fail").
	deny string
	// none admits without checking anything (static pass, a skip).
	none bool
	// clauses must all hold: each "threshold of ids".
	clauses []clause
	// attestations are required besides the signatures.
	attestations []policy.AttestationSpec
	mode         policy.Mode
	noPin        bool
	ifPresent    bool
	sigRepo      string
	annotations  map[string]string
}

// clause is "threshold distinct signers of ids".
type clause struct {
	ids       []string
	threshold int
}

func (c clause) String() string {
	if c.threshold == len(c.ids) && c.threshold == 1 {
		return c.ids[0]
	}
	if c.threshold == len(c.ids) {
		return "all of [" + strings.Join(c.ids, ", ") + "]"
	}
	return fmt.Sprintf("%d of [%s]", c.threshold, strings.Join(c.ids, ", "))
}

// and is a then b on one image: both must hold. It errs when the trust
// file cannot say it (one signer list and threshold per rule, one place
// for signatures).
func and(a, b requirement) (requirement, error) {
	switch {
	case a.deny != "":
		return a, nil
	case b.deny != "":
		return b, nil
	case a.none:
		return b, nil
	case b.none:
		return a, nil
	}
	out := a
	out.clauses = append(slices.Clip(a.clauses), b.clauses...)
	cl, err := simplifyClauses(out.clauses)
	if err != nil {
		return out, err
	}
	out.clauses = cl
	for _, at := range b.attestations {
		if !slices.ContainsFunc(out.attestations, func(x policy.AttestationSpec) bool { return sameYAML(x, at) }) {
			out.attestations = append(out.attestations, at)
		}
	}
	if a.mode == policy.ModeAudit && b.mode == policy.ModeAudit {
		out.mode = policy.ModeAudit
	} else {
		out.mode = ""
	}
	out.noPin = a.noPin && b.noPin
	out.ifPresent = a.ifPresent && b.ifPresent
	switch {
	case a.sigRepo == b.sigRepo:
	default:
		return out, fmt.Errorf("one reads signatures from %s, the other from %s: a trust-file rule reads them from one place", repoOrBeside(a.sigRepo), repoOrBeside(b.sigRepo))
	}
	if len(b.annotations) > 0 {
		out.annotations = maps.Clone(a.annotations)
		if out.annotations == nil {
			out.annotations = map[string]string{}
		}
		for k, v := range b.annotations {
			if have, ok := out.annotations[k]; ok && have != v {
				return out, fmt.Errorf("they require annotation %s to be %q and %q", k, have, v)
			}
			out.annotations[k] = v
		}
	}
	return out, nil
}

func repoOrBeside(r string) string {
	if r == "" {
		return "beside the image"
	}
	return r
}

// simplifyClauses writes clauses as one when the trust file can: equal
// clauses are one; "all of" clauses over distinct signers are one "all of"
// their union.
func simplifyClauses(cs []clause) ([]clause, error) {
	var out []clause
	for _, c := range cs {
		if !slices.ContainsFunc(out, func(o clause) bool {
			return o.threshold == c.threshold && slices.Equal(sortedCopy(o.ids), sortedCopy(c.ids))
		}) {
			out = append(out, c)
		}
	}
	if len(out) <= 1 {
		return out, nil
	}
	union := clause{}
	for _, c := range out {
		if c.threshold != len(c.ids) {
			return nil, fmt.Errorf("both apply to one image and each needs its own signers (%s): a trust-file rule has one signer list and threshold", joinClauses(out))
		}
		for _, id := range c.ids {
			if slices.Contains(union.ids, id) {
				return nil, fmt.Errorf("both apply to one image and need the same signer %q in different sets (%s)", id, joinClauses(out))
			}
			union.ids = append(union.ids, id)
		}
	}
	union.threshold = len(union.ids)
	return []clause{union}, nil
}

func joinClauses(cs []clause) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return strings.Join(s, " and ")
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// ruleSpec is the trust-file rule for r over match.
func (r requirement) ruleSpec(name string, match []string) policy.RuleSpec {
	rs := policy.RuleSpec{Name: name, Match: match, Mode: r.mode}
	if rs.Mode == policy.ModeEnforce {
		rs.Mode = "" // the trust file's default
	}
	switch {
	case r.deny != "":
		rs.Deny, rs.Mode = r.deny, ""
		return rs
	case r.none || len(r.clauses) == 0:
		rs.Signature = policy.Optional
		return rs
	}
	c := r.clauses[0]
	rs.SignedBy = c.ids
	if c.threshold > 1 {
		rs.Threshold = c.threshold
	}
	rs.Attestations = r.attestations
	if r.noPin {
		f := false
		rs.Pin = &f
	}
	if r.ifPresent {
		rs.Signature = policy.IfPresent
	}
	rs.SignatureRepository = r.sigRepo
	rs.SignatureAnnotations = r.annotations
	return rs
}

func yamlString(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		panic("peer: marshalling plain values: " + err.Error())
	}
	return string(out)
}

func sameYAML(a, b any) bool { return yamlString(a) == yamlString(b) }

// identityKey is an identity's content without its name.
func identityKey(id policy.IdentitySpec) string {
	id.Name = ""
	return yamlString(id)
}
