package policy

import (
	"net/url"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
)

// An identity must pin who signs. Anyone can create an owner (a GitHub user
// or organization, a GitLab group) with any free name, so a matcher that
// still accepts a repository after its owner is replaced by a name nobody
// wrote into the trust file accepts every repository of the issuer, however
// it is spelled: "*/*", "**", "*/app", "^.*$", "^https://github.com/.*$".
// The checks below probe the compiled matcher instead of listing spellings.

// probeOwner is an owner no trust file names.
const probeOwner = "signet-probe-owner"

// probeRepositories are repository paths that share nothing.
var probeRepositories = []string{"signet-probe-owner/signet-probe-repo", "zz9other/qq8thing"}

// ownerWideGlob reports whether a repository glob accepts repositories of
// any owner, with an example it accepts.
func ownerWideGlob(g Glob) (bool, string) {
	if g.Match(probeRepositories[0]) && g.Match(probeRepositories[1]) {
		return true, probeRepositories[1]
	}
	w := globWitness(g)
	owner, rest, _ := strings.Cut(w, "/")
	if owner == probeOwner {
		return false, ""
	}
	probe := probeOwner
	if rest != "" {
		probe += "/" + rest
	}
	if g.Match(probe) {
		return true, probe
	}
	return false, ""
}

// globWitness is a name the glob matches: each wildcard replaced by "x".
func globWitness(g Glob) string {
	r := strings.NewReplacer("**", "x", "*", "x", "?", "x")
	return r.Replace(g.raw)
}

// probeSubjects are certificate subjects that share nothing, in the shapes
// SANs take: pairs of URIs and pairs of e-mail addresses.
var probeSubjects = [][2]string{
	{"https://github.com/signet-probe-owner/signet-probe-repo/.github/workflows/p.yml@refs/heads/p",
		"https://gitlab.example/zz9other/qq8thing//.gitlab-ci.yml@refs/tags/v9"},
	{"signet-probe@probe.example", "zz9other@qq8thing.invalid"},
}

// ownerWideRegexp reports whether a subject regexp accepts the subjects of
// any owner, with an example it accepts: either it matches unrelated probe
// subjects, or it still matches one of its own URIs after the URI's owner
// (first path segment) is replaced.
func ownerWideRegexp(re *regexp.Regexp) (bool, string) {
	for _, pair := range probeSubjects {
		if re.MatchString(pair[0]) && re.MatchString(pair[1]) {
			return true, pair[1]
		}
	}
	w, ok := regexpWitness(re)
	if !ok {
		return false, ""
	}
	u, err := url.Parse(w)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return false, ""
	}
	path := strings.TrimPrefix(u.Path, "/")
	owner, rest, _ := strings.Cut(path, "/")
	if owner == "" || owner == probeOwner {
		return false, ""
	}
	probe := u.Scheme + "://" + u.Host + "/" + probeOwner + "/" + rest
	if re.MatchString(probe) {
		return true, probe
	}
	return false, ""
}

// regexpWitness builds a string the regexp matches, in which every
// wildcard stands for a plausible path ("x/x/x" for ".*"), so that a URI
// pattern yields a URI with owner and repository segments to probe.
func regexpWitness(re *regexp.Regexp) (string, bool) {
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	witness(&b, parsed.Simplify())
	w := b.String()
	return w, re.MatchString(w)
}

func witness(b *strings.Builder, r *syntax.Regexp) {
	switch r.Op {
	case syntax.OpLiteral:
		b.WriteString(string(r.Rune))
	case syntax.OpCharClass:
		b.WriteRune(classRune(r.Rune))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('.') // a lone "." most often stands for a dot
	case syntax.OpCapture:
		witness(b, r.Sub[0])
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		sub := r.Sub[0]
		if spansPath(sub) {
			b.WriteString("x/x/x")
			return
		}
		witness(b, sub)
	case syntax.OpRepeat:
		for range max(r.Min, 1) {
			witness(b, r.Sub[0])
		}
	case syntax.OpConcat:
		for _, s := range r.Sub {
			witness(b, s)
		}
	case syntax.OpAlternate:
		witness(b, r.Sub[0])
	}
}

// spansPath reports whether a repeated sub-expression can produce both
// letters and slashes (".", "[^@]", "[a-z/]"...).
func spansPath(r *syntax.Regexp) bool {
	switch r.Op {
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return true
	case syntax.OpCharClass:
		return inClass(r.Rune, '/') && inClass(r.Rune, 'x')
	}
	return false
}

// classRune picks a representative of a character class: 'x' if the class
// has it, else a lower-case letter, else its first rune.
func classRune(ranges []rune) rune {
	if inClass(ranges, 'x') {
		return 'x'
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for c := ranges[i]; c <= ranges[i+1] && c < unicode.MaxASCII; c++ {
			if unicode.IsLower(c) {
				return c
			}
		}
	}
	if len(ranges) > 0 {
		return ranges[0]
	}
	return 'x'
}

func inClass(ranges []rune, c rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= c && c <= ranges[i+1] {
			return true
		}
	}
	return false
}

// unescapedDots returns the byte offsets of "." in expr that match any
// character on their own (not escaped, not in a class, not repeated): in an
// identity pattern such a dot is almost always a literal dot written
// without its backslash ("github.com", "/.github/").
func unescapedDots(expr string) []int {
	var out []int
	inClass := false
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\\':
			i++
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
			if i+1 < len(expr) && expr[i+1] == ']' {
				i++ // "[]...]": a leading ] is a member
			}
		case c == '.':
			if i+1 < len(expr) && strings.IndexByte("*+?{", expr[i+1]) >= 0 {
				continue
			}
			out = append(out, i)
		}
	}
	return out
}

// catchAllProbes are repositories on unrelated registries: a pattern that
// matches both matches every image.
var catchAllProbes = []string{"signet-probe.example/aa/bb", "zz9.invalid:5000/qq8"}

func catchAll(g Glob) bool {
	return g.Match(catchAllProbes[0]) && g.Match(catchAllProbes[1])
}

// anySubject reports a Notation subject pin written as a wildcard ("*",
// "x509.subject:*"): Notation's trusted identity "*" accepts every
// certificate its trust store certifies, which signet refuses as it
// refuses an issuer-wide keyless identity. A DN has no wildcards, so a
// "*" in it can only mean that.
func anySubject(s string) bool {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "x509.subject:"))
	return strings.Trim(s, "*") == ""
}
