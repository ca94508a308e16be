package peer

import "strings"

// Set questions about signet patterns (policy.Glob's language: "*" and
// "?" inside a segment, "**" whole segments, zero or more of them, one or
// more at the end), which ordering translated rules needs: does one
// pattern cover another, and can two match one repository.

// covers reports whether every repository q matches is matched by p. It
// answers false when unsure (it is exact for the shapes translations
// produce: literal prefixes, single-segment wildcards, a trailing "**").
func covers(p, q string) bool {
	if p == q || p == "**" {
		return true
	}
	return coversSegs(strings.Split(p, "/"), strings.Split(q, "/"))
}

func coversSegs(ps, qs []string) bool {
	for len(ps) > 0 {
		if ps[0] == "**" {
			if len(ps) == 1 {
				// trailing **: one or more segments of any shape
				return len(qs) >= 1
			}
			// "**" followed by more: q must reach the rest at some point
			// where only whole ** segments of q are skipped; be exact only
			// when q has no ** itself.
			for k := 0; k <= len(qs); k++ {
				if hasDoubleStar(qs[:k]) {
					return false
				}
				if coversSegs(ps[1:], qs[k:]) {
					return true
				}
			}
			return false
		}
		if len(qs) == 0 || qs[0] == "**" || !segCovers(ps[0], qs[0]) {
			return false
		}
		ps, qs = ps[1:], qs[1:]
	}
	return len(qs) == 0
}

func hasDoubleStar(segs []string) bool {
	for _, s := range segs {
		if s == "**" {
			return true
		}
	}
	return false
}

// segCovers reports whether segment pattern p matches every name segment
// pattern q matches.
func segCovers(p, q string) bool {
	switch {
	case p == q, p == "*":
		return true
	case !strings.ContainsAny(q, "*?"):
		return segMatch(p, q)
	case strings.HasSuffix(p, "*") && !strings.ContainsAny(p[:len(p)-1], "*?"):
		// "pre*" covers q when q's literal prefix starts with pre.
		lit := q[:strings.IndexAny(q, "*?")]
		return strings.HasPrefix(lit, p[:len(p)-1])
	}
	return false
}

// segMatch matches one segment pattern against a literal segment.
func segMatch(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if segMatch(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && segMatch(p[1:], s[1:])
	}
	return s != "" && s[0] == p[0] && segMatch(p[1:], s[1:])
}

// overlap reports whether some repository matches both p and q: a walk
// of both patterns over one name, segment by segment.
func overlap(p, q string) bool {
	ps, qs := zeroOrMore(strings.Split(p, "/")), zeroOrMore(strings.Split(q, "/"))
	type state struct{ i, j int }
	seen := map[state]bool{}
	var walk func(i, j int) bool
	walk = func(i, j int) bool {
		s := state{i, j}
		if seen[s] {
			return false
		}
		seen[s] = true
		if i == len(ps) && j == len(qs) {
			return true
		}
		// A "**" may take no segment.
		if i < len(ps) && ps[i] == "**" && walk(i+1, j) {
			return true
		}
		if j < len(qs) && qs[j] == "**" && walk(i, j+1) {
			return true
		}
		if i == len(ps) || j == len(qs) {
			return false
		}
		// Both take the next segment of the name: a "**" stays where it is.
		ni, nj := i+1, j+1
		if ps[i] == "**" {
			ni = i
		}
		if qs[j] == "**" {
			nj = j
		}
		if ps[i] != "**" && qs[j] != "**" && !segOverlap(ps[i], qs[j]) {
			return false
		}
		return walk(ni, nj)
	}
	return walk(0, 0)
}

// zeroOrMore rewrites a trailing "**" (one or more segments) as "*/**",
// so every "**" left takes zero or more.
func zeroOrMore(segs []string) []string {
	if n := len(segs); n > 0 && segs[n-1] == "**" {
		return append(segs[:n-1:n-1], "*", "**")
	}
	return segs
}

// segOverlap reports whether two segment patterns match a common segment.
func segOverlap(a, b string) bool {
	type st struct{ i, j int }
	memo := map[st]bool{}
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		k := st{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		memo[k] = false
		var r bool
		switch {
		case i == len(a) && j == len(b):
			r = true
		case i < len(a) && a[i] == '*':
			r = rec(i+1, j) || j < len(b) && (b[j] == '*' && rec(i, j+1) || b[j] != '*' && rec(i, j+1))
		case j < len(b) && b[j] == '*':
			r = rec(i, j+1) || i < len(a) && rec(i+1, j)
		case i == len(a) || j == len(b):
			r = false
		default:
			r = (a[i] == '?' || b[j] == '?' || a[i] == b[j]) && rec(i+1, j+1)
		}
		memo[k] = r
		return r
	}
	return rec(0, 0)
}
