package peer

import (
	"fmt"
	"maps"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/policy"
)

// A keyless identity in a peer is an issuer and a subject (the SAN), each
// exact, a wildcard glob (Kyverno ClusterPolicy) or a regexp (unanchored,
// as cosign matches it), plus, in Kyverno, certificate extensions. signet
// pins an issuer exactly and the rest by structured fields: a subject
// pattern that is one (a repository, a workflow, a ref) becomes them, any
// other an anchored regexp.

// matchKind is how a peer compares a string.
type matchKind int

const (
	exact    matchKind = iota
	wildcard           // Kyverno's: * any run, ? one character
	unanchoredRegexp
)

// keylessSource is a peer's keyless identity.
type keylessSource struct {
	issuer, subject         string
	issuerKind, subjectKind matchKind
	// extensions are Kyverno's additionalExtensions; ignoredExtensions
	// says the peer accepts but never checks them (ImageValidatingPolicy).
	extensions        map[string]string
	ignoredExtensions bool
}

// translation is what a peer construct became, with what the report says.
type translation struct {
	class   Class
	message string
}

// keyless translates a peer keyless identity; the notes are its
// differences (a not-expressible one means no identity).
func keyless(src keylessSource) (*policy.KeylessSpec, []translation) {
	var notes []translation
	issuer, note := literal(src.issuer, src.issuerKind)
	switch {
	case src.issuer == "":
		return nil, []translation{{NotExpressible, "no issuer: the peer accepts certificates of every OIDC issuer, and signet pins one issuer per identity; add the issuer"}}
	case issuer == "":
		return nil, []translation{{NotExpressible, fmt.Sprintf("issuer %q is a pattern: signet pins one issuer per identity (list each issuer as its own attestor)", src.issuer)}}
	case note != "":
		notes = append(notes, translation{Stricter, "issuer " + note})
	}
	k := &policy.KeylessSpec{Issuer: issuer}
	subj, sn := subject(k, src)
	notes = append(notes, sn...)
	if subj == nil {
		return nil, notes
	}
	notes = append(notes, extensions(subj, src)...)
	return subj, notes
}

// literal is s as one exact string: s itself, or the string a wildcard
// without wildcards or a regexp that is a literal matches (note says
// when that is stricter). "" when s is a pattern.
func literal(s string, kind matchKind) (value, note string) {
	switch kind {
	case wildcard:
		if strings.ContainsAny(s, "*?") {
			return "", ""
		}
		return s, ""
	case unanchoredRegexp:
		lit, anchored, ok := regexpLiteral(s)
		if !ok {
			return "", ""
		}
		if !anchored {
			return lit, fmt.Sprintf("regexp %q is unanchored (it also matches longer strings containing it); signet requires exactly %q", s, lit)
		}
		return lit, ""
	}
	return s, ""
}

// regexpLiteral reports whether re matches one literal string (anchored:
// only it; unanchored: any string containing it).
func regexpLiteral(re string) (lit string, anchored, ok bool) {
	t, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return "", false, false
	}
	t = t.Simplify()
	subs := []*syntax.Regexp{t}
	if t.Op == syntax.OpConcat {
		subs = t.Sub
	}
	begin, end := false, false
	var b strings.Builder
	for i, s := range subs {
		switch {
		case s.Op == syntax.OpBeginText || s.Op == syntax.OpBeginLine && i == 0:
			begin = i == 0
		case s.Op == syntax.OpEndText || s.Op == syntax.OpEndLine && i == len(subs)-1:
			end = i == len(subs)-1
		case s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0:
			b.WriteString(string(s.Rune))
		default:
			return "", false, false
		}
	}
	return b.String(), begin && end, b.Len() > 0
}

// subject sets k's subject fields from the peer's subject.
func subject(k *policy.KeylessSpec, src keylessSource) (*policy.KeylessSpec, []translation) {
	s := src.subject
	if s == "" {
		if len(src.extensions) > 0 && !src.ignoredExtensions {
			return k, nil // the extensions pin it (extensions below)
		}
		return nil, []translation{{NotExpressible, fmt.Sprintf("no subject: the peer accepts every identity of issuer %s, which signet refuses (anyone with an account there could sign); pin the subject", k.Issuer)}}
	}
	if lit, note := literal(s, src.subjectKind); lit != "" {
		k.Subject = lit
		setCI(k, lit)
		if note != "" {
			return k, []translation{{Stricter, "subject " + note}}
		}
		return k, nil
	}
	if src.subjectKind == wildcard {
		if structured(k, s) {
			if src.pinsSource() {
				return k, []translation{{Equivalent, fmt.Sprintf("subject %q is the signing workflow's: %s (additionalExtensions pin the source repository, below)", s, describeKeyless(k))}}
			}
			return k, []translation{{Stricter, fmt.Sprintf("subject %q becomes %s: the source repository must match as well as the signing workflow's, so a reusable workflow of that repository called from another repository is refused", s, describeKeyless(k))}}
		}
		k.SubjectRegExp = "^" + wildcardRegexp(s, false) + "$"
		setCI(k, s)
		return k, []translation{{Equivalent, fmt.Sprintf("subject %q becomes subjectRegExp %q", s, k.SubjectRegExp)}}
	}
	var stricter bool
	k.SubjectRegExp, stricter = anchor(s)
	setCI(k, strings.TrimPrefix(s, "^"))
	switch {
	case stricter:
		return k, []translation{{Stricter, fmt.Sprintf("subjectRegExp %q: the peer matches it anywhere in the subject (a ref name can spell the text); signet anchors it at the start: %q", s, k.SubjectRegExp)}}
	case k.SubjectRegExp != s:
		return k, []translation{{Equivalent, fmt.Sprintf("subjectRegExp %q: the peer matches it unanchored at the end; signet writes the same as %q", s, k.SubjectRegExp)}}
	}
	return k, nil
}

// anchor writes a regexp cosign matches unanchored as an anchored one.
// An open end keeps its meaning (".*$"); an open start becomes "^", which
// is stricter: unanchored, the peer accepted any subject that merely
// contains the text, and a ref name can spell any text
// (refs/heads/https://github.com/acme/...).
func anchor(re string) (string, bool) {
	core, begin := strings.CutPrefix(re, "^")
	end := strings.HasSuffix(core, "$") && !strings.HasSuffix(core, `\$`)
	core = strings.TrimSuffix(core, "$")
	if begin && end && !strings.Contains(core, "|") {
		return re, false
	}
	out := "^(?:" + core + ")"
	if !end {
		out += ".*"
	}
	return out + "$", !begin
}

// wildcardRegexp is a wildcard as a regexp body: "*" any run of
// characters and "?" one, across "/" (a Kyverno wildcard) or, inSegment,
// within a path segment (a signet glob's segment, globRegexp).
func wildcardRegexp(s string, inSegment bool) string {
	run, one := ".*", "."
	if inSegment {
		run, one = "[^/]*", "[^/]"
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*':
			b.WriteString(run)
		case '?':
			b.WriteString(one)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return b.String()
}

// setCI names the CI whose certificate layout a subject URL has.
func setCI(k *policy.KeylessSpec, subject string) {
	switch {
	case strings.HasPrefix(subject, ci.GitHubServer+"/") && k.Issuer != ci.GitHubIssuer:
		k.CI = policy.CIGitHub
	case strings.HasPrefix(subject, ci.GitLabServer+"/") && k.Issuer != ci.GitLabIssuer:
		k.CI = policy.CIGitLab
	}
}

// structured recognizes a subject wildcard over one repository's (or one
// owner's) workflows, on github.com or gitlab.com:
//
//	https://github.com/acme/*                                  repository acme/*, signer repository acme/*
//	https://github.com/acme/app/*                              repository acme/app, signer repository acme/app
//	https://github.com/acme/app/.github/workflows/r.yml@*      repository acme/app, workflow, any ref
//	https://github.com/acme/app/.github/workflows/r.yml@refs/tags/v*   ... signerRefs [refs/tags/v**]
//	https://gitlab.com/acme/*   (groups nest: repository acme/**)
func structured(k *policy.KeylessSpec, s string) bool {
	system, sep := policy.CIGitHub, "/"
	rest, ok := strings.CutPrefix(s, ci.GitHubServer+"/")
	if !ok {
		if rest, ok = strings.CutPrefix(s, ci.GitLabServer+"/"); !ok {
			return false
		}
		system, sep = policy.CIGitLab, "//"
	}
	setSystem := func() {
		if issuerCI(k.Issuer) != system {
			k.CI = system
		}
	}
	// owner/* or owner/repo/* (or group/.../* on GitLab)
	if prefix, found := strings.CutSuffix(rest, "/*"); found && !strings.ContainsAny(prefix, "*?@") {
		segs := strings.Split(prefix, "/")
		switch {
		case system == policy.CIGitHub && len(segs) == 1:
			setRepo(k, segs[0]+"/*", system)
		case system == policy.CIGitHub && len(segs) == 2:
			setRepo(k, prefix, system)
		case system == policy.CIGitLab && !strings.Contains(prefix, "//"):
			setRepo(k, prefix+"/**", system)
		default:
			return false
		}
		k.SignerRepository = k.Repository + k.Project
		setSystem()
		return true
	}
	// repo + workflow file + ref pattern
	repoAndFile, ref, found := strings.Cut(rest, "@")
	if !found || strings.ContainsAny(repoAndFile, "*?") {
		return false
	}
	var repo, file string
	if system == policy.CIGitLab {
		repo, file, found = strings.Cut(repoAndFile, sep)
	} else {
		parts := strings.SplitN(repoAndFile, "/", 3)
		found = len(parts) == 3
		if found {
			repo, file = parts[0]+"/"+parts[1], parts[2]
		}
	}
	if !found || repo == "" || file == "" {
		return false
	}
	refGlob, ok := refPattern(ref)
	if !ok {
		return false
	}
	setRepo(k, repo, system)
	k.Workflow = file
	if refGlob != "**" {
		k.SignerRefs = []string{refGlob}
	}
	setSystem()
	k.SignerRepository = ""
	return true
}

// refPattern writes a Kyverno wildcard over a ref as a signet glob: a
// trailing "*" may span "/" ("refs/tags/*" takes "refs/tags/a/b").
func refPattern(ref string) (string, bool) {
	if ref == "*" {
		return "**", true
	}
	body, trailing := strings.CutSuffix(ref, "*")
	if strings.ContainsAny(body, "*?") {
		return "", false
	}
	if !trailing {
		return ref, true
	}
	if strings.HasSuffix(body, "/") {
		return body + "**", true
	}
	// "refs/tags/v*": the rest of this segment, and any below it
	return body + "*", !strings.Contains(body[strings.LastIndexByte(body, '/')+1:], "/")
}

func setRepo(k *policy.KeylessSpec, repo string, system policy.CI) {
	if system == policy.CIGitLab {
		k.Project = repo
		return
	}
	k.Repository = repo
}

func issuerCI(issuer string) policy.CI {
	switch issuer {
	case ci.GitHubIssuer:
		return policy.CIGitHub
	case ci.GitLabIssuer:
		return policy.CIGitLab
	}
	return policy.CIOther
}

// extensions maps Kyverno's additionalExtensions to structured fields.
func extensions(k *policy.KeylessSpec, src keylessSource) []translation {
	if len(src.extensions) == 0 {
		return nil
	}
	var notes []translation
	var dropped []string
	for _, name := range slices.Sorted(maps.Keys(src.extensions)) {
		v := src.extensions[name]
		switch name {
		case "githubWorkflowRepository":
			sourceRepository(k, v, policy.CIGitHub)
		case "sourceRepositoryURI":
			repo, ok := strings.CutPrefix(v, ci.GitHubServer+"/")
			if !ok {
				if repo, ok = strings.CutPrefix(v, ci.GitLabServer+"/"); ok {
					sourceRepository(k, repo, policy.CIGitLab)
					continue
				}
				dropped = append(dropped, name+"="+v)
				continue
			}
			sourceRepository(k, repo, policy.CIGitHub)
		case "githubWorkflowRef", "sourceRepositoryRef":
			k.Refs = compact(append(k.Refs, v))
		case "githubWorkflowTrigger", "buildTrigger":
			k.Triggers = compact(append(k.Triggers, v))
		case "runnerEnvironment":
			k.RunnerEnvironment = v
		case "buildSignerURI":
			if k.Subject == "" && k.SubjectRegExp == "" {
				k.Subject = v
			} else if k.Subject != v {
				dropped = append(dropped, name+"="+v)
			}
		default:
			dropped = append(dropped, name+"="+v)
		}
	}
	if k.Repository != "" && k.CI == "" && issuerCI(k.Issuer) == policy.CIOther {
		k.CI = policy.CIGitHub
	}
	if src.ignoredExtensions {
		notes = append(notes, translation{Stricter, "additionalExtensions: ImageValidatingPolicy accepts them but never checks them (a migrated policy loses its repository and ref pins); signet enforces those it can express"})
		if len(dropped) > 0 {
			notes = append(notes, translation{Equivalent, fmt.Sprintf("additionalExtensions %s have no trust-file field; left out, as Kyverno ignores them", strings.Join(dropped, ", "))})
		}
		return notes
	}
	notes = append(notes, translation{Equivalent, "additionalExtensions become structured fields (repository, refs, triggers, runnerEnvironment)"})
	if len(dropped) > 0 {
		notes = append(notes, translation{Weaker, fmt.Sprintf("additionalExtensions %s have no trust-file field (signet pins repositories, workflows, refs, triggers and runners, not commits or IDs): without them the identity accepts any value", strings.Join(dropped, ", "))})
	}
	return notes
}

// sourceRepository pins the repository the build ran for (an extension's).
// A different repository the subject named is the signing workflow's (a
// reusable workflow, as the SLSA generator's): it becomes signerRepository,
// so the certificate must name both, as the peer checks them.
func sourceRepository(k *policy.KeylessSpec, repo string, system policy.CI) {
	if subj := k.Repository + k.Project; subj != "" && subj != repo && k.SignerRepository == "" {
		k.SignerRepository = subj
	}
	k.Repository, k.Project = "", ""
	setRepo(k, repo, system)
}

// pinsSource says whether the extensions name the source repository.
func (src keylessSource) pinsSource() bool {
	if src.ignoredExtensions {
		return false
	}
	_, gh := src.extensions["githubWorkflowRepository"]
	_, uri := src.extensions["sourceRepositoryURI"]
	return gh || uri
}

// describeKeyless names a keyless identity's structured pins.
func describeKeyless(k *policy.KeylessSpec) string {
	var parts []string
	add := func(field, v string) {
		if v != "" {
			parts = append(parts, fmt.Sprintf("%s %q", field, v))
		}
	}
	add("repository", k.Repository+k.Project)
	add("signerRepository", k.SignerRepository)
	add("workflow", k.Workflow)
	if len(k.SignerRefs) > 0 {
		add("signerRefs", strings.Join(k.SignerRefs, ", "))
	}
	return strings.Join(parts, ", ")
}

// exactIdentity reads an identity as ImageValidatingPolicy and
// policy-controller write it: issuer and subject exact, or as regexps
// (matched unanchored, as cosign does).
func exactIdentity(o obj) keylessSource {
	var src keylessSource
	src.issuer, _ = o.str("issuer")
	src.subject, _ = o.str("subject")
	if re, _ := o.str("issuerRegExp"); re != "" {
		src.issuer, src.issuerKind = re, unanchoredRegexp
	}
	if re, _ := o.str("subjectRegExp"); re != "" {
		src.subject, src.subjectKind = re, unanchoredRegexp
	}
	return src
}
