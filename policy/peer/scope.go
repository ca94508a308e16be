package peer

import (
	"fmt"
	"slices"
	"strings"
)

// scope adds a source image pattern to r, translated (dialect.go).
func (c *converter) scope(r *sourceRule, d dialect, pattern string, at Pos) {
	sc, ok := c.translated(r, d, pattern, at)
	if !ok {
		return
	}
	if sc.Never {
		if validGlob(pattern) {
			r.scopes = append(r.scopes, patternAt{pattern, at})
			if r.cover == nil {
				r.cover = map[string]cover{}
			}
			r.cover[pattern] = cover{tags: true, digests: true} // said here
			c.ruleNote(r, Stricter, at, "%s never matches %q: it compares the pattern with the whole reference, tag or digest included (%s); signet applies the rule to that repository, as the pattern reads", d, pattern, spellingExample(d))
			return
		}
		c.ruleNote(r, Equivalent, at, "%q matches no image reference; left out", pattern)
		return
	}
	for _, g := range sc.Globs {
		r.scopes = append(r.scopes, patternAt{g, at})
		c := r.cover[g]
		if r.cover == nil {
			r.cover = map[string]cover{}
		}
		r.cover[g] = cover{tags: c.tags || sc.Cover[g].tags, digests: c.digests || sc.Cover[g].digests}
		r.dialect = d
	}
	msg := fmt.Sprintf("%q becomes %s", pattern, quoteList(sc.Globs))
	if len(sc.Notes) > 0 {
		c.ruleNote(r, Stricter, at, "%s: %s", msg, strings.Join(sc.Notes, "; "))
		return
	}
	if d == kyvernoWildcard && len(sc.Globs) > 1 {
		msg += " (Kyverno's \"*\" also matches across \"/\")"
	}
	c.ruleNote(r, Equivalent, at, "%s", msg)
}

// skip adds a pattern of images r does not check. Only a translation
// that skips exactly what the source skipped is equivalent: one that
// skips more (another spelling, other tags) is weaker.
func (c *converter) skip(r *sourceRule, d dialect, pattern string, at Pos) {
	sc, ok := c.translated(r, d, pattern, at)
	if !ok {
		return
	}
	if sc.Never {
		c.ruleNote(r, Equivalent, at, "skip %q matches no image reference; left out", pattern)
		return
	}
	var kept []patternAt
	for _, s := range r.scopes {
		if slices.ContainsFunc(sc.Globs, func(g string) bool { return covers(g, s.glob) }) {
			continue // the whole pattern is skipped
		}
		kept = append(kept, s)
	}
	r.scopes = kept
	for _, g := range sc.Globs {
		r.skips = append(r.skips, patternAt{g, at})
	}
	if !sc.Exact {
		why := sc.Notes
		for _, g := range sc.Globs {
			if w := sc.Cover[g].restriction(d); w != "" {
				why = append(why, w)
			}
		}
		c.ruleNote(r, Weaker, at, "skip %q becomes %s, which signet skips for every reference of those repositories, while the source skipped only some: %s", pattern, quoteList(sc.Globs), strings.Join(compact(why), "; "))
		return
	}
	c.ruleNote(r, Equivalent, at, "skip %q becomes a pin-only rule for %s, before the rule", pattern, quoteList(sc.Globs))
}

// translated translates pattern (dialect.go); a pattern signet cannot
// express is noted and refuses r.
func (c *converter) translated(r *sourceRule, d dialect, pattern string, at Pos) (scope, bool) {
	sc, err := translate(d, pattern)
	if err != nil {
		c.ruleNote(r, NotExpressible, at, "%v", err)
		r.refused = true
		return scope{}, false
	}
	return sc, true
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// finishScopes reports, once every pattern of r is read, the repositories
// whose references the source patterns did not all take (a tag pattern,
// tags but not digests): signet checks every reference of them.
func (c *converter) finishScopes(r *sourceRule) {
	var notes []string
	for _, s := range r.scopes {
		if why := r.cover[s.glob].restriction(r.dialect); why != "" && !slices.Contains(notes, s.glob) {
			notes = append(notes, s.glob)
			c.ruleNote(r, Stricter, s.at, "%s: %s", s.glob, why)
		}
	}
}
