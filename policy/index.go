package policy

import "strings"

// ruleIndex finds the first matching rule without testing every pattern.
// Each pattern is filed once, under a literal that every repository it
// matches must contain at a place the lookup can find without matching:
//
//   - literal leading segments, in a trie ("ghcr.io/acme/*" under
//     ghcr.io -> acme);
//   - else the first literal segment before any "**", by its position
//     ("*/team1/**": segment 1 is "team1");
//   - else the last literal segment after every "**", by its position from
//     the end ("**/tools/kubectl": the last segment is "kubectl");
//   - else a wildcard segment before any "**" with a literal tail, by
//     position and tail ("*.acme.dev/**": segment 0 ends in ".acme.dev");
//   - else any literal segment ("**/acme/**": some segment is "acme");
//   - else nowhere: the few patterns with no literal ("**", "*/*") are
//     tested for every lookup.
//
// A lookup visits only the buckets the repository's own segments name, so
// its cost depends on how many patterns share those literals, not on how
// many rules there are. First-match-wins is kept by comparing (rule index,
// pattern position) across buckets: the index never changes a decision or
// the pattern it reports, only its cost (TestIndexAgreesWithLinearScan,
// FuzzIndex).
type ruleIndex struct {
	root     trieNode
	at       map[segKey][]indexEntry // literal segment at a position from the start
	fromEnd  map[segKey][]indexEntry // literal segment at a position from the end
	tails    map[segKey][]indexEntry // wildcard segment's literal tail, at a position
	anywhere map[string][]indexEntry // literal segment somewhere between "**"
	rest     []indexEntry            // no literal to file under
	// maxTailPos is the last position tails holds (-1: none).
	maxTailPos int
}

type segKey struct {
	pos  int
	text string
}

type trieNode struct {
	children map[string]*trieNode
	entries  []indexEntry // ascending (rule index, pattern position)
}

type indexEntry struct {
	rule  *Rule
	order int // the pattern's position in rule.Match
	glob  Glob
}

// before reports whether e precedes a match found earlier (nil: none).
func (e *indexEntry) before(best *indexEntry) bool {
	return best == nil || e.rule.Index < best.rule.Index || e.rule.Index == best.rule.Index && e.order < best.order
}

func buildIndex(rules []*Rule) ruleIndex {
	ix := newIndex()
	for _, r := range rules {
		ix.add(r)
	}
	return ix
}

func newIndex() ruleIndex {
	return ruleIndex{at: map[segKey][]indexEntry{}, fromEnd: map[segKey][]indexEntry{}, tails: map[segKey][]indexEntry{},
		anywhere: map[string][]indexEntry{}, maxTailPos: -1}
}

// add files r's patterns. Rules must be added in file order.
func (ix *ruleIndex) add(r *Rule) {
	for i, g := range r.Match {
		e := indexEntry{rule: r, order: i, glob: g}
		switch key, where := indexKey(g); where {
		case inTrie:
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
			n.entries = append(n.entries, e)
		case atPosition:
			ix.at[key] = append(ix.at[key], e)
		case fromEnd:
			ix.fromEnd[key] = append(ix.fromEnd[key], e)
		case atTail:
			ix.tails[key] = append(ix.tails[key], e)
			ix.maxTailPos = max(ix.maxTailPos, key.pos)
		case anywhere:
			ix.anywhere[key.text] = append(ix.anywhere[key.text], e)
		default:
			ix.rest = append(ix.rest, e)
		}
	}
}

type bucket int

const (
	inRest bucket = iota
	inTrie
	atPosition
	fromEnd
	atTail
	anywhere
)

// indexKey chooses where g is filed (see ruleIndex).
func indexKey(g Glob) (segKey, bucket) {
	segs := g.segs
	if len(segs) > 0 && !segs[0].wild && !segs[0].anyDepth {
		return segKey{}, inTrie
	}
	tail := segKey{pos: -1}
	for i, s := range segs {
		if s.anyDepth {
			break
		}
		if !s.wild {
			return segKey{pos: i, text: s.text}, atPosition
		}
		if t := s.text[strings.LastIndexAny(s.text, "*?")+1:]; t != "" && tail.pos < 0 {
			tail = segKey{pos: i, text: t}
		}
	}
	for j := range segs {
		s := segs[len(segs)-1-j]
		if s.anyDepth {
			break
		}
		if !s.wild {
			return segKey{pos: j, text: s.text}, fromEnd
		}
	}
	if tail.pos >= 0 {
		return tail, atTail
	}
	for _, s := range segs {
		if !s.wild && !s.anyDepth {
			return segKey{text: s.text}, anywhere
		}
	}
	return segKey{}, inRest
}

// lookup returns the first rule (and its first pattern) that matches repo.
func (ix *ruleIndex) lookup(repo string) (*Rule, string) {
	var best *indexEntry
	check := func(entries []indexEntry) {
		for i := range entries {
			e := &entries[i]
			if !e.before(best) {
				return
			}
			if e.glob.Match(repo) {
				best = e
				return
			}
		}
	}
	n, rest := &ix.root, repo
	check(n.entries)
	for rest != "" && n.children != nil {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		if n = n.children[seg]; n == nil {
			break
		}
		check(n.entries)
	}
	var buf [16]string
	segs := splitSegments(repo, buf[:0])
	for i, s := range segs {
		if len(ix.at) > 0 {
			check(ix.at[segKey{i, s}])
		}
		if len(ix.fromEnd) > 0 {
			check(ix.fromEnd[segKey{len(segs) - 1 - i, s}])
		}
		if len(ix.anywhere) > 0 {
			check(ix.anywhere[s])
		}
		if i <= ix.maxTailPos {
			for k := range len(s) {
				check(ix.tails[segKey{i, s[k:]}])
			}
		}
	}
	check(ix.rest)
	if best == nil {
		return nil, ""
	}
	return best.rule, best.glob.String()
}

// splitSegments appends the "/"-separated segments of s to buf.
func splitSegments(s string, buf []string) []string {
	for {
		seg, rest, more := strings.Cut(s, "/")
		buf = append(buf, seg)
		if !more {
			return buf
		}
		s = rest
	}
}
