package policy

import (
	"fmt"
	"strings"
)

// Glob matches slash-separated names (image repositories, git refs, URIs)
// segment by segment, so that a pattern can never match across a boundary it
// does not name: "ghcr.io/acme/*" matches "ghcr.io/acme/app" but neither
// "ghcr.io/acme-evil/app" nor "ghcr.io/acme/app/sub".
//
//   - any run of characters inside one segment (never "/")
//     ?   one character inside one segment
//     **  a whole segment only: zero or more segments; as the last segment,
//     one or more (so "ghcr.io/acme/**" does not match "ghcr.io/acme")
//
// Character classes, braces and escapes are rejected at load time: they are
// rarely needed for identities and easy to get wrong.
type Glob struct {
	raw  string
	segs []segment
	// literal is set when the pattern has no wildcard: matching is then a
	// plain string comparison.
	literal bool
	// prefix is the literal text before the first wildcard, a cheap
	// rejection test on the hot path.
	prefix string
}

type segment struct {
	text     string
	anyDepth bool // "**"
	wild     bool // contains * or ?
}

// CompileGlob validates and compiles a pattern. Empty segments ("a//b") are
// malformed: they never occur in image repositories or git refs.
func CompileGlob(pattern string) (Glob, error) { return compileGlob(pattern, false) }

// CompileURIGlob compiles a pattern over a URI such as a builder ID or a
// GitLab build config URI, where "//" is meaningful.
func CompileURIGlob(pattern string) (Glob, error) { return compileGlob(pattern, true) }

func compileGlob(pattern string, allowEmpty bool) (Glob, error) {
	if pattern == "" {
		return Glob{}, fmt.Errorf("empty pattern")
	}
	if i := strings.IndexAny(pattern, "[]{}\\"); i >= 0 {
		return Glob{}, fmt.Errorf("pattern %q: %q is not supported (only *, ? and ** are)", pattern, pattern[i])
	}
	g := Glob{raw: pattern, literal: !strings.ContainsAny(pattern, "*?")}
	if i := strings.IndexAny(pattern, "*?"); i >= 0 {
		g.prefix = pattern[:i]
	} else {
		g.prefix = pattern
	}
	for _, s := range strings.Split(pattern, "/") {
		switch {
		case s == "" && !allowEmpty:
			return Glob{}, fmt.Errorf("pattern %q has an empty segment", pattern)
		case s == "**":
			g.segs = append(g.segs, segment{text: s, anyDepth: true})
		case strings.Contains(s, "**"):
			return Glob{}, fmt.Errorf("pattern %q: ** must be a whole segment", pattern)
		default:
			g.segs = append(g.segs, segment{text: s, wild: strings.ContainsAny(s, "*?")})
		}
	}
	return g, nil
}

// MustGlob is CompileGlob for patterns known to be valid (tests, defaults).
func MustGlob(pattern string) Glob {
	g, err := CompileGlob(pattern)
	if err != nil {
		panic(err)
	}
	return g
}

// String returns the pattern as written.
func (g Glob) String() string { return g.raw }

// matchAny reports whether any of gs matches s.
func matchAny(gs []Glob, s string) bool {
	for _, g := range gs {
		if g.Match(s) {
			return true
		}
	}
	return false
}

// patterns are the patterns of gs as written.
func patterns(gs []Glob) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.String()
	}
	return out
}

// joinGlobs lists the patterns as written, separated by sep.
func joinGlobs(gs []Glob, sep string) string { return strings.Join(patterns(gs), sep) }

// Match reports whether name matches the whole pattern.
func (g Glob) Match(name string) bool {
	if g.literal {
		return name == g.raw
	}
	if !strings.HasPrefix(name, g.prefix) {
		return false
	}
	return matchSegs(g.segs, name)
}

// matchSegs matches segments against the rest of name without allocating.
func matchSegs(segs []segment, name string) bool {
	for len(segs) > 0 {
		s := segs[0]
		if s.anyDepth {
			rest := segs[1:]
			if len(rest) == 0 {
				return name != "" // trailing **: one or more segments
			}
			// Try the rest at every segment boundary, including here.
			for {
				if matchSegs(rest, name) {
					return true
				}
				i := strings.IndexByte(name, '/')
				if i < 0 {
					return false
				}
				name = name[i+1:]
			}
		}
		var head string
		i := strings.IndexByte(name, '/')
		if i < 0 {
			head, name = name, ""
			if len(segs) > 1 {
				// Only a trailing run of ** could still match nothing,
				// and trailing ** needs at least one segment.
				return false
			}
		} else {
			head, name = name[:i], name[i+1:]
			if len(segs) == 1 {
				return false
			}
		}
		if s.wild {
			if !matchSegment(s.text, head) {
				return false
			}
		} else if s.text != head {
			return false
		}
		segs = segs[1:]
	}
	return name == ""
}

// matchSegment matches one segment pattern with * and ? against text that
// contains no '/'. Iterative with single backtracking point: linear time.
func matchSegment(pat, text string) bool {
	p, t := 0, 0
	star, mark := -1, 0
	for t < len(text) {
		switch {
		case p < len(pat) && (pat[p] == '?' || pat[p] == text[t]):
			p++
			t++
		case p < len(pat) && pat[p] == '*':
			star, mark = p, t
			p++
		case star >= 0:
			p = star + 1
			mark++
			t = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}
