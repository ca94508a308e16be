package peer

import (
	"fmt"
	"slices"
	"strings"
)

// scope adds a source image pattern to r, translated (dialect.go).
func (c *converter) scope(r *sourceRule, d dialect, pattern string, at Pos) {
	sc, err := translate(d, pattern)
	if err != nil {
		c.ruleNote(r, NotExpressible, at, "%v", err)
		r.refused = true
		return
	}
	if sc.Never {
		if validGlob(pattern) {
			r.scopes = append(r.scopes, patternAt{pattern, at})
			c.ruleNote(r, Stricter, at, "%s never matches %q: it compares the pattern with the whole reference, tag or digest included (%s); signet applies the rule to that repository, as the pattern reads", d, pattern, spellingExample(d))
			return
		}
		c.ruleNote(r, Equivalent, at, "%q matches no image reference; left out", pattern)
		return
	}
	for _, g := range sc.Globs {
		r.scopes = append(r.scopes, patternAt{g, at})
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
	sc, err := translate(d, pattern)
	if err != nil {
		c.ruleNote(r, NotExpressible, at, "%v", err)
		r.refused = true
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
		c.ruleNote(r, Weaker, at, "skip %q becomes %s, which signet skips for every reference of those repositories, while the source skipped only some: %s", pattern, quoteList(sc.Globs), strings.Join(sc.Notes, "; "))
		return
	}
	c.ruleNote(r, Equivalent, at, "skip %q becomes a pin-only rule for %s, before the rule", pattern, quoteList(sc.Globs))
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
