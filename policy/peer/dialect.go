package peer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// Each peer matches image patterns in its own dialect, against its own
// spelling of the reference, tag or digest included; signet matches a
// glob against the normalized repository. A source pattern becomes the
// signet patterns that cover every repository it reaches under any
// spelling (never fewer: an image the source verified must not fall to
// the final rule), and the translation says when it covers more.
//
//	Kyverno ClusterPolicy imageReferences  `*` any run (across "/" and ":"), `?` one character;
//	                                       matched against "registry/path:tag" or "@digest",
//	                                       "docker.io/" added to a name without a registry
//	ImageValidatingPolicy glob             the same, plus [classes] and {alternatives};
//	                                       matched against the reference as the pod spec writes it
//	policy-controller glob                 `*` inside one segment, `**` any run;
//	                                       matched against the normalized reference with its tag

type dialect int

const (
	kyvernoWildcard dialect = iota
	kyvernoGlob
	pcGlob
)

func (d dialect) String() string {
	switch d {
	case kyvernoWildcard:
		return "Kyverno"
	case kyvernoGlob:
		return "ImageValidatingPolicy"
	}
	return "policy-controller"
}

type tokKind int

const (
	tLit     tokKind = iota
	tStar            // any run of characters, "/" included
	tSegStar         // any run of characters but "/"
	tOne             // one character, "/" included
	tClass           // one character of a class
)

type token struct {
	kind tokKind
	text string
}

// maxAlternatives bounds how many signet patterns one source pattern may
// become (each wildcard that may cross "/" doubles them).
const maxAlternatives = 64

// scope is a source pattern translated.
type scope struct {
	// Globs are the signet patterns: every repository some reference of
	// which the source pattern matches.
	Globs []string
	// Exact: for every repository of Globs, the source pattern matched all
	// of its references under every spelling (no tag, digest or spelling
	// it left out).
	Exact bool
	// Notes say what Globs cover that the source did not check (besides
	// Cover).
	Notes []string
	// Cover says, per glob, whether the pattern took every tag and every
	// digest of its repositories (scope.go reports the rest, once all the
	// patterns of a rule are read).
	Cover map[string]cover
	// Never: the source pattern matches no reference at all.
	Never bool
}

// cover is which references of a repository a pattern takes.
type cover struct{ tags, digests bool }

// restriction says what a cover leaves out, or "" when nothing.
func (c cover) restriction(d dialect) string {
	switch {
	case c.tags && c.digests:
		return ""
	case c.tags:
		return fmt.Sprintf("%s never matched these repositories' references by digest (repo@sha256:...), only by tag; signet checks every reference", d)
	case c.digests:
		return fmt.Sprintf("%s matched these repositories' references by digest only; signet checks every reference", d)
	}
	return "the pattern restricts the tag or digest, which signet never does: every reference of the repository is checked"
}

// translate turns one source pattern into signet patterns.
func translate(d dialect, pattern string) (scope, error) {
	if pattern == "" {
		return scope{Never: true}, nil
	}
	if d == pcGlob {
		// policy-controller's own aliases for Docker Hub's official images.
		switch pattern {
		case "*":
			pattern = "index.docker.io/library/*"
		case "*/*":
			pattern = "index.docker.io/*/*"
		}
	}
	alts, classes, err := tokenize(d, pattern)
	if err != nil {
		return scope{}, err
	}
	var out scope
	out.Exact = !classes
	out.Cover = map[string]cover{}
	for _, toks := range alts {
		for _, pl := range repositories(d, toks) {
			globs, err := expand(pl.toks)
			if err != nil {
				return scope{}, fmt.Errorf("pattern %q: %w", pattern, err)
			}
			for _, g := range globs {
				for _, n := range spellings(d, g) {
					if !validGlob(n) {
						continue
					}
					c, seen := out.Cover[n]
					if !seen {
						out.Globs = append(out.Globs, n)
					}
					out.Cover[n] = cover{tags: c.tags || pl.tags, digests: c.digests || pl.digests}
				}
			}
		}
	}
	if len(out.Globs) > maxAlternatives {
		return scope{}, fmt.Errorf("pattern %q becomes %d signet patterns (at most %d): write it with fewer wildcards", pattern, len(out.Globs), maxAlternatives)
	}
	if classes {
		out.Notes = append(out.Notes, "a character class becomes \"?\" (any one character)")
	}
	if d == kyvernoWildcard && dockerHub(pattern) || d == kyvernoGlob && (dockerHub(pattern) || !isRegistry(firstSegment(pattern))) {
		out.Exact = false
		out.Notes = append(out.Notes, fmt.Sprintf("%s matches the reference as written (%s); signet matches every spelling of the repository", d, spellingExample(d)))
	}
	out.simplify()
	out.Never = len(out.Globs) == 0
	out.Exact = out.Exact && !out.Never
	for _, g := range out.Globs {
		if c := out.Cover[g]; !c.tags || !c.digests {
			out.Exact = false
		}
	}
	out.Notes = compact(out.Notes)
	return out, nil
}

func spellingExample(d dialect) string {
	if d == kyvernoWildcard {
		return `"nginx" is "docker.io/nginx:latest", "library/nginx" is "docker.io/library/nginx:latest"`
	}
	return `"nginx:1.25" and "docker.io/library/nginx:1.25" differ`
}

func firstSegment(p string) string { s, _, _ := strings.Cut(p, "/"); return s }

func dockerHub(p string) bool {
	switch strings.ToLower(firstSegment(p)) {
	case "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return true
	}
	return false
}

// tokenize splits a pattern into tokens; an ImageValidatingPolicy glob's
// {a,b} alternatives each become one token list. classes reports whether
// a character class was read.
func tokenize(d dialect, p string) (alts [][]token, classes bool, err error) {
	switch d {
	case kyvernoWildcard:
		return [][]token{scan(p, func(c byte) (tokKind, bool) {
			switch c {
			case '*':
				return tStar, true
			case '?':
				return tOne, true
			}
			return tLit, false
		})}, false, nil
	case pcGlob:
		for _, c := range p {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_:/*.@", c)) {
				return nil, false, fmt.Errorf("invalid glob %q (policy-controller refuses it too): %q", p, c)
			}
		}
		var toks []token
		for i := 0; i < len(p); {
			switch {
			case strings.HasPrefix(p[i:], "**"):
				toks = append(toks, token{kind: tStar})
				i += 2
			case p[i] == '*':
				toks = append(toks, token{kind: tSegStar})
				i++
			default:
				j := i
				for j < len(p) && p[j] != '*' {
					j++
				}
				toks = append(toks, token{kind: tLit, text: p[i:j]})
				i = j
			}
		}
		return [][]token{toks}, false, nil
	}
	expanded, err := braces(p)
	if err != nil {
		return nil, false, err
	}
	for _, e := range expanded {
		toks, c, err := gobwas(e)
		if err != nil {
			return nil, false, fmt.Errorf("glob %q: %w", p, err)
		}
		classes = classes || c
		alts = append(alts, toks)
	}
	return alts, classes, nil
}

// scan splits p into literal runs and the wildcards kind names.
func scan(p string, kind func(byte) (tokKind, bool)) []token {
	var toks []token
	lit := strings.Builder{}
	for i := 0; i < len(p); i++ {
		k, wild := kind(p[i])
		if !wild {
			lit.WriteByte(p[i])
			continue
		}
		if lit.Len() > 0 {
			toks = append(toks, token{kind: tLit, text: lit.String()})
			lit.Reset()
		}
		if k == tStar && len(toks) > 0 && toks[len(toks)-1].kind == tStar {
			continue // "**" is "*"
		}
		toks = append(toks, token{kind: k})
	}
	if lit.Len() > 0 {
		toks = append(toks, token{kind: tLit, text: lit.String()})
	}
	return toks
}

// gobwas tokenizes one brace-free gobwas/glob pattern (no separators, as
// Kyverno compiles it): * and ** any run, ? one character, [..] a class,
// \ escapes.
func gobwas(p string) ([]token, bool, error) {
	var toks []token
	classes := false
	lit := strings.Builder{}
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, token{kind: tLit, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 < len(p) {
				i++
				lit.WriteByte(p[i])
			}
		case '*':
			flush()
			if len(toks) == 0 || toks[len(toks)-1].kind != tStar {
				toks = append(toks, token{kind: tStar})
			}
		case '?':
			flush()
			toks = append(toks, token{kind: tOne})
		case '[':
			end := strings.IndexByte(p[i+1:], ']')
			if end < 0 {
				return nil, false, fmt.Errorf("unterminated character class")
			}
			flush()
			toks = append(toks, token{kind: tClass, text: p[i+1 : i+1+end]})
			classes = true
			i += end + 1
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return toks, classes, nil
}

// braces expands {a,b} alternatives (nested ones too), at most
// maxAlternatives of them.
func braces(p string) ([]string, error) {
	start := -1
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' {
			i++
			continue
		}
		if p[i] == '{' {
			start = i
			break
		}
	}
	if start < 0 {
		return []string{p}, nil
	}
	depth, end := 0, -1
	var cuts []int
	for i := start; i < len(p) && end < 0; i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				end = i
			}
		case ',':
			if depth == 1 {
				cuts = append(cuts, i)
			}
		}
	}
	if end < 0 {
		return nil, fmt.Errorf("glob %q: unterminated {", p)
	}
	var out []string
	prev := start + 1
	for _, c := range append(cuts, end) {
		rest, err := braces(p[:start] + p[prev:c] + p[end+1:])
		if err != nil {
			return nil, err
		}
		out = append(out, rest...)
		if len(out) > maxAlternatives {
			return nil, fmt.Errorf("glob %q has more than %d alternatives", p, maxAlternatives)
		}
		prev = c + 1
	}
	return out, nil
}

// placement is where a reference's repository may end in a match of a
// pattern: the tokens of the repository part, and which references of it
// the rest of the pattern takes (every tag, every digest).
type placement struct {
	toks          []token
	tags, digests bool
}

// repositories finds where the reference's repository may end in a match
// of toks: at a ":" or "@" the pattern spells, inside a wildcard that may
// span the separator, or (for references written without a tag, which
// ImageValidatingPolicy and policy-controller also match) at the end.
func repositories(d dialect, toks []token) []placement {
	var out []placement
	// add records a repository part rt followed by rest after separator
	// sep (':' or '@', 1 either, or 0 when a wildcard of rt takes it, and
	// with it every tag and digest when rest is empty).
	add := func(rt []token, rest []token, sep byte) {
		if !suffix(rest, sep) || !repositoryPart(rt) {
			return
		}
		p := placement{toks: rt}
		if anything(rest) || sep == 0 && len(rest) == 0 {
			p.tags, p.digests = sep != '@', sep != ':'
		}
		out = append(out, p)
	}
	for i, t := range toks {
		head := slices.Clip(toks[:i])
		switch t.kind {
		case tLit:
			for j := 0; j < len(t.text); j++ {
				if t.text[j] != ':' && t.text[j] != '@' {
					continue
				}
				rt := head
				if j > 0 {
					rt = append(head, token{kind: tLit, text: t.text[:j]})
				}
				rest := toks[i+1:]
				if j+1 < len(t.text) {
					rest = append([]token{{kind: tLit, text: t.text[j+1:]}}, rest...)
				}
				if len(rt) > 0 {
					add(rt, rest, t.text[j])
				}
			}
		case tStar, tSegStar:
			add(append(head, t), toks[i+1:], 0)
		case tOne, tClass:
			if len(head) > 0 {
				add(head, toks[i+1:], 1)
			}
		}
	}
	if d != kyvernoWildcard && repositoryPart(toks) {
		// A reference written without tag or digest ends with the pattern.
		out = append(out, placement{toks: toks})
	}
	return out
}

// repositoryPart reports whether rt could spell a repository: after its
// host, no ":" or "@" (those begin a tag or digest).
func repositoryPart(rt []token) bool {
	host := true
	for _, t := range rt {
		if t.kind != tLit {
			if t.kind == tStar || t.kind == tOne {
				host = false // may already have crossed into the path
			}
			continue
		}
		text := t.text
		if host {
			i := strings.IndexByte(text, '/')
			if i < 0 {
				continue
			}
			host, text = false, text[i:]
		}
		if strings.ContainsAny(text, ":@") {
			return false
		}
	}
	return true
}

// suffix reports whether rest, after separator sep (':' a tag, '@' a
// digest, 0 or 1 either), could match a tag or a digest: neither holds a
// "/", a tag no ":" or "@", a digest starts with its algorithm.
func suffix(rest []token, sep byte) bool {
	tag, digest := sep != '@', sep != ':'
	for i, t := range rest {
		if t.kind != tLit {
			continue
		}
		if strings.Contains(t.text, "/") {
			return false
		}
		if strings.ContainsAny(t.text, ":@") {
			tag = false
		}
		if i == 0 && !digestStart(t.text) {
			digest = false
		}
	}
	return tag || digest
}

// digestStart reports whether a digest ("sha256:<hex>") can begin with lit.
func digestStart(lit string) bool {
	for _, algo := range []string{"sha256:", "sha384:", "sha512:"} {
		if strings.HasPrefix(algo, lit) || strings.HasPrefix(lit, algo) && strings.Trim(lit[len(algo):], "0123456789abcdef") == "" {
			return true
		}
	}
	return false
}

// anything reports whether rest matches every tag and digest: it is only
// wildcards that run.
func anything(rest []token) bool {
	if len(rest) == 0 {
		return false // the separator itself ends the pattern: "app:" matches nothing
	}
	for _, t := range rest {
		if t.kind != tStar && t.kind != tSegStar {
			return false
		}
	}
	return true
}

// expand writes repository tokens as signet globs: a wildcard that may
// span "/" is two alternatives (within one segment, or across several).
func expand(rt []token) ([]string, error) {
	out := []string{""}
	for i, t := range rt {
		var parts []string
		last := i == len(rt)-1
		switch t.kind {
		case tLit:
			parts = []string{t.text}
		case tSegStar:
			parts = []string{"*"}
		case tStar:
			if last {
				parts = []string{"*", "*/**"}
			} else {
				parts = []string{"*", "*/**/*"}
			}
		case tOne:
			parts = []string{"?", "/"}
		case tClass:
			parts = []string{"?"}
		}
		var next []string
		for _, o := range out {
			for _, p := range parts {
				next = append(next, o+p)
			}
		}
		if len(next) > maxAlternatives {
			return nil, fmt.Errorf("more than %d signet patterns: write it with fewer wildcards", maxAlternatives)
		}
		out = next
	}
	return out, nil
}

// spellings adds, for a glob over the source's spelling, the globs over
// normalized repositories of the Docker Hub spellings it may match: a
// name without a registry (ImageValidatingPolicy and policy-controller
// match the reference as written), and "docker.io/x" for an official
// image ("index.docker.io/library/x" normalized).
func spellings(d dialect, g string) []string {
	out := []string{g}
	first, rest, hasRest := strings.Cut(g, "/")
	wildHost := strings.ContainsAny(first, "*?")
	if d != kyvernoWildcard && (wildHost || !isRegistry(first)) {
		out = append(out, policy.DockerHub+"/library/"+g, policy.DockerHub+"/"+g)
	}
	if wildHost && hasRest {
		out = append(out, policy.DockerHub+"/library/"+rest, policy.DockerHub+"/"+rest)
	}
	return out
}

func isRegistry(segment string) bool {
	return strings.ContainsAny(segment, ".:") || segment == "localhost"
}

// validGlob reports whether g is a signet pattern.
func validGlob(g string) bool {
	_, err := policy.CompileGlob(g)
	return err == nil
}

// simplify drops patterns another one covers, and spells a catch-all
// "**"; a pattern that replaces others takes the coverage they share.
func (sc *scope) simplify() {
	gs := sc.Globs
	for _, g := range gs {
		if g == "**" || g == "*/**" || g == "**/**" {
			sc.Cover["**"] = sc.Cover[g]
			sc.Globs = []string{"**"}
			return
		}
	}
	for i, g := range gs {
		if p, ok := strings.CutSuffix(g, "/*"); ok && slices.Contains(gs, g+"/**") {
			a, b := sc.Cover[g], sc.Cover[g+"/**"]
			gs[i] = p + "/**"
			sc.Cover[gs[i]] = cover{tags: a.tags && b.tags, digests: a.digests && b.digests}
		}
	}
	var out []string
	for i, g := range gs {
		covered := false
		for j, h := range gs {
			if i != j && covers(h, g) && !(covers(g, h) && j > i) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, g)
		}
	}
	sc.Globs = out
}

func compact(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
