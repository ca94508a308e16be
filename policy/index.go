package policy

import "strings"

// ruleIndex finds the first matching rule without testing every pattern.
// Patterns are filed in a trie under their literal leading segments
// ("ghcr.io/acme/*" under ghcr.io -> acme); a lookup walks the repository's
// segments and only tests patterns on that path. First-match-wins is kept by
// comparing rule indices, so the index never changes a decision, only its cost.
type ruleIndex struct {
	root trieNode
}

type trieNode struct {
	children map[string]*trieNode
	entries  []indexEntry // ascending rule index
}

type indexEntry struct {
	rule *Rule
	glob Glob
}

func buildIndex(rules []*Rule) ruleIndex {
	var ix ruleIndex
	for _, r := range rules {
		for _, g := range r.Match {
			n := &ix.root
			for _, s := range g.segs {
				if s.wild || s.anyDepth {
					break
				}
				if n.children == nil {
					n.children = map[string]*trieNode{}
				}
				c := n.children[s.text]
				if c == nil {
					c = &trieNode{}
					n.children[s.text] = c
				}
				n = c
			}
			n.entries = append(n.entries, indexEntry{rule: r, glob: g})
		}
	}
	return ix
}

func (ix *ruleIndex) lookup(repo string) (*Rule, string) {
	var best *Rule
	var pattern string
	check := func(n *trieNode) {
		for _, e := range n.entries {
			if best != nil && e.rule.Index >= best.Index {
				return
			}
			if e.glob.Match(repo) {
				best, pattern = e.rule, e.glob.String()
				return
			}
		}
	}
	n, rest := &ix.root, repo
	check(n)
	for rest != "" && n.children != nil {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		if n = n.children[seg]; n == nil {
			break
		}
		check(n)
	}
	return best, pattern
}
