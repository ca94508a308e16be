package policy

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Habits a Kyverno or policy-controller user brings to a trust file that
// load but never do what they say: a tag in a pattern (signet matches
// repositories, so the pattern matches nothing), a segment "*" where the
// file itself names deeper repositories (Kyverno's "*" crosses "/",
// signet's does not), and a "*" in an exact subject (taken literally).

const (
	// WarnPatternTag: a match pattern with a tag or digest, which matches
	// no image (rules select repositories).
	WarnPatternTag WarningCode = "pattern-with-tag"
	// WarnSegmentStar: a pattern ending in "/*" while the file names
	// repositories below that level, which "*" does not reach.
	WarnSegmentStar WarningCode = "segment-star"
	// WarnLiteralStarSubject: a keyless subject with "*", which is compared
	// exactly.
	WarnLiteralStarSubject WarningCode = "literal-star-subject"
)

// patternTag warns about a pattern whose last segment names a tag or a
// digest ("ghcr.io/acme/app:v1", "ghcr.io/acme/*:*").
func (l *loader) patternTag(pattern string, n *yaml.Node, field string) {
	_, path, hasPath := strings.Cut(pattern, "/")
	if !hasPath {
		return
	}
	last := path[strings.LastIndexByte(path, '/')+1:]
	i := strings.IndexAny(last, ":@")
	if i < 0 {
		return
	}
	fix := strings.TrimSuffix(pattern[:len(pattern)-len(last)+i], "/")
	l.d.warnf(n, field, WarnPatternTag, "pattern %q names a tag or digest, so it matches no image: rules select repositories and govern every tag and digest of them; write %q", pattern, fix)
}

// segmentStars warns, once the rules are loaded, about a pattern ending
// in "/*" (one more segment) where another pattern of the file names a
// repository deeper under the same prefix: the "*" does not reach it, as
// Kyverno's "*" would. "**" is one or more segments.
func (l *loader) segmentStars(nodes map[*Rule][]*yaml.Node) {
	var deep []string
	for _, r := range l.p.Rules {
		for _, g := range r.Match {
			deep = append(deep, g.raw)
		}
	}
	for _, r := range l.p.Rules {
		for i, g := range r.Match {
			prefix, ok := strings.CutSuffix(g.raw, "/*")
			if !ok || strings.ContainsAny(prefix, "*?") || i >= len(nodes[r]) {
				continue
			}
			for _, other := range deep {
				below, ok := strings.CutPrefix(other, prefix+"/")
				if !ok || !strings.Contains(below, "/") {
					continue
				}
				l.d.warnf(nodes[r][i], fmt.Sprintf("images[%d].match[%d]", r.Index, i), WarnSegmentStar,
					"pattern %q matches one segment below %s, but this file names %q deeper under it: \"*\" never crosses \"/\" (Kyverno's does); write %q if the rule is for every repository below %s",
					g.raw, prefix, other, prefix+"/**", prefix)
				break
			}
		}
	}
}

// literalStarSubject warns about a keyless subject with "*": it is
// compared exactly, so only a SAN with that asterisk matches.
func (l *loader) literalStarSubject(k *Keyless, n *yaml.Node, field string) {
	if !strings.Contains(k.Subject, "*") {
		return
	}
	l.d.warnf(n, field, WarnLiteralStarSubject, "subject %q is compared exactly, so \"*\" matches only an asterisk; pin the repository, workflow and refs (repository: owner/repo, workflow: .github/workflows/x.yml, refs: [refs/tags/*]) or use an anchored subjectRegExp", k.Subject)
}
