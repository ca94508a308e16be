package policy

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// linearMatch is the reference semantics of rule selection: the first rule,
// in file order, with a pattern that matches, and its first such pattern.
func linearMatch(rules []*Rule, repo string) (*Rule, string) {
	for _, r := range rules {
		for _, g := range r.Match {
			if g.Match(repo) {
				return r, g.String()
			}
		}
	}
	return nil, ""
}

// Pattern and repository segments drawn from a small alphabet, so random
// rule sets overlap a lot: literals, wildcards inside a segment with and
// without literal heads and tails, "?", and "**".
var (
	patternSegs = []string{"a", "b", "ab", "x.io", "*", "a*", "*b", "*.io", "?", "a?", "**", "**"}
	repoSegs    = []string{"a", "b", "ab", "aab", "x.io", "y.io", "bb"}
)

func randomPath(rng *rand.Rand, from []string) string {
	parts := make([]string, 1+rng.IntN(4))
	for i := range parts {
		parts[i] = from[rng.IntN(len(from))]
	}
	return strings.Join(parts, "/")
}

// randomRules is a rule set of up to 12 rules of 1-3 patterns each.
func randomRules(t testing.TB, rng *rand.Rand) []*Rule {
	var rules []*Rule
	for i := range 1 + rng.IntN(12) {
		r := &Rule{Index: i, Name: "r"}
		for range 1 + rng.IntN(3) {
			g, err := CompileGlob(randomPath(rng, patternSegs))
			if err != nil {
				continue // "**" inside a segment cannot be drawn; nothing else fails
			}
			r.Match = append(r.Match, g)
		}
		rules = append(rules, r)
	}
	return rules
}

func checkIndex(t *testing.T, rng *rand.Rand) {
	rules := randomRules(t, rng)
	ix := buildIndex(rules)
	for range 50 {
		repo := randomPath(rng, repoSegs)
		wantRule, wantPattern := linearMatch(rules, repo)
		gotRule, gotPattern := ix.lookup(repo)
		if gotRule != wantRule || gotPattern != wantPattern {
			var pats []string
			for _, r := range rules {
				pats = append(pats, joinGlobs(r.Match, ","))
			}
			t.Fatalf("%s under rules %q: index chose rule %v pattern %q, the linear scan rule %v pattern %q",
				repo, pats, gotRule, gotPattern, wantRule, wantPattern)
		}
	}
}

// TestIndexAgreesWithLinearScanOnRandomRules: on thousands of random rule
// sets and repositories, the index picks exactly the rule and the pattern a
// linear first-match scan picks.
func TestIndexAgreesWithLinearScanOnRandomRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		checkIndex(t, rng)
	}
}

// FuzzIndex explores more rule sets from fuzzed seeds.
func FuzzIndex(f *testing.F) {
	for i := range uint64(8) {
		f.Add(i, i*7919)
	}
	f.Fuzz(func(t *testing.T, a, b uint64) {
		checkIndex(t, rand.New(rand.NewPCG(a, b)))
	})
}

// TestShadowsAgreeWithLinearScan: the loader's shadow index names exactly
// the rule a scan of the earlier rules with subsumes names, for every
// pattern of random rule sets (the unreachable-rule warning depends on it).
func TestShadowsAgreeWithLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		rules := randomRules(t, rng)
		s := newShadows()
		for i, r := range rules {
			for _, g := range r.Match {
				var want *Rule
			scan:
				for _, e := range rules[:i] {
					for _, p := range e.Match {
						if subsumes(p, g) {
							want = e
							break scan
						}
					}
				}
				if got := s.shadowing(g); got != want {
					t.Fatalf("pattern %q of rule %d: shadow index names %v, the scan %v", g, i, got, want)
				}
			}
			s.add(r)
		}
	}
}
