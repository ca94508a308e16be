package policy

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/ci"
)

func (l *loader) keyless(n *yaml.Node, path string) *Keyless {
	o := l.d.object(n, path)
	defer o.done()
	k := &Keyless{}
	var issuerN *yaml.Node
	k.Issuer, issuerN = o.str("issuer")
	if k.Issuer == "" {
		l.d.errorf(nodeOr(issuerN, n), path+".issuer", "a keyless identity needs the OIDC issuer")
	} else if err := httpsURL(k.Issuer); err != nil {
		l.d.errorf(issuerN, path+".issuer", "%v", err)
	}

	system, ciN := o.str("ci")
	switch CI(system) {
	case CIGitHub, CIGitLab, CIOther:
		k.CI = CI(system)
	case "":
		// Compare hosts so a wrong scheme is reported once, as a scheme error.
		switch issuerHost(k.Issuer) {
		case issuerHost(ci.GitHubIssuer):
			k.CI = CIGitHub
		case issuerHost(ci.GitLabIssuer):
			k.CI = CIGitLab
		default:
			k.CI = CIOther
		}
	default:
		l.d.errorf(ciN, path+".ci", "must be github, gitlab or other, got %q", system)
	}

	server, serverN := o.str("serverURL")
	switch {
	case server != "":
		if err := httpsURL(server); err != nil {
			l.d.errorf(serverN, path+".serverURL", "%v", err)
		}
		k.ServerURL = strings.TrimSuffix(server, "/")
	case k.CI == CIGitHub:
		k.ServerURL = ci.GitHubServer
	case k.CI == CIGitLab:
		k.ServerURL = ci.GitLabServer
	}

	repo, repoN := o.str("repository")
	if project, projectN := o.str("project"); project != "" {
		if repo != "" {
			l.d.errorf(projectN, path+".project", "set repository or project (GitLab's name for it), not both")
		}
		repo, repoN = project, projectN
	}
	if repo != "" {
		if k.ServerURL == "" {
			l.d.errorf(repoN, path+".repository", "needs serverURL (or ci: github|gitlab) to know the repository's host")
		}
		if g, err := CompileGlob(strings.Trim(repo, "/")); err != nil {
			l.d.errorf(repoN, path+".repository", "%v", err)
		} else {
			k.Repository = &g
		}
	}

	var wfN *yaml.Node
	k.Workflow, wfN = o.str("workflow")
	k.Workflow = strings.TrimPrefix(k.Workflow, "/")
	signerRepo, signerN := o.str("signerRepository")
	switch {
	case signerRepo != "" && k.Workflow == "":
		l.signerRepositoryPattern(k, signerRepo, signerN, path)
	case signerRepo != "":
		k.SignerRepository = strings.Trim(signerRepo, "/")
		if strings.ContainsAny(k.SignerRepository, "*?") {
			l.d.errorf(signerN, path+".signerRepository", "must be a literal repository with workflow (without workflow it may be a pattern)")
		}
	case repo != "":
		k.SignerRepository = strings.Trim(repo, "/")
	}
	if k.Workflow != "" {
		switch {
		case strings.ContainsAny(k.Workflow, "*?@"):
			l.d.errorf(wfN, path+".workflow", "must be a literal workflow path (pin refs with refs or signerRefs)")
		case k.SignerRepository == "" || strings.ContainsAny(k.SignerRepository, "*?"):
			l.d.errorf(wfN, path+".workflow", "needs a literal repository or signerRepository")
		case k.ServerURL == "":
			l.d.errorf(wfN, path+".workflow", "needs serverURL (or ci: github|gitlab)")
		}
	}
	k.SignerRefs = l.globs(o, "signerRefs", false)
	if len(k.SignerRefs) > 0 && k.Workflow == "" && k.SignerRepositoryPattern == nil {
		l.d.errorf(o.get("signerRefs"), path+".signerRefs", "only meaningful with workflow")
	}
	k.Refs = l.globs(o, "refs", false)
	k.RunnerEnvironment, _ = o.str("runnerEnvironment")
	k.Triggers, _ = o.strs("triggers")

	var subjN *yaml.Node
	k.Subject, subjN = o.str("subject")
	l.literalStarSubject(k, subjN, path+".subject")
	re, reN := o.str("subjectRegExp")
	if re != "" {
		k.SubjectRegexp = l.anchoredRegexp(re, reN, path+".subjectRegExp")
		if k.Subject != "" {
			l.d.errorf(reN, path+".subjectRegExp", "set subject or subjectRegExp, not both")
		}
	}
	if k.Issuer != "" && k.Repository == nil && k.Subject == "" && re == "" {
		l.d.errorf(nodeOr(subjN, n), path, "accepts every identity of issuer %s; pin repository (or project), subject or subjectRegExp", k.Issuer)
	}
	l.issuerWide(k, path, repoN, reN)
	return k
}

// issuerWide refuses an identity whose matchers all accept repositories of
// any owner (wide.go): written as a glob ("*/*", "**") or a regexp ("^.*$"),
// it admits every repository of the issuer, which is what omitting the
// matchers would do.
func (l *loader) issuerWide(k *Keyless, path string, repoN, reN *yaml.Node) {
	if k.Subject != "" || k.Repository == nil && k.SubjectRegexp == nil {
		return // exact subject, or already reported as issuer-wide
	}
	var field, what, example string
	var node *yaml.Node
	if g := k.Repository; g != nil {
		wide, ex := ownerWideGlob(*g)
		if !wide {
			return
		}
		field, node, what, example = path+".repository", repoN, fmt.Sprintf("repository %q", g.String()), ex
	}
	if re := k.SubjectRegexp; re != nil {
		wide, ex := ownerWideRegexp(re)
		if !wide {
			return
		}
		if node == nil {
			field, node, what, example = path+".subjectRegExp", reN, fmt.Sprintf("subjectRegExp %q", re.String()), ex
		}
	}
	hint := `"acme/*"`
	if strings.HasSuffix(field, "subjectRegExp") {
		hint = `"^https://github\\.com/acme/app/.*$"`
	}
	l.d.errorf(node, field, "%s accepts every repository of issuer %s, of any owner (e.g. %q); anyone can create an owner, so pin it, e.g. %s",
		what, k.Issuer, example, hint)
}

// anchoredRegexp compiles a SAN pattern that must be anchored at both ends,
// so "https://github.com/acme/" cannot silently match "https://github.com/acme-evil/".
func (l *loader) anchoredRegexp(expr string, n *yaml.Node, field string) *regexp.Regexp {
	if !strings.HasPrefix(expr, "^") || !strings.HasSuffix(expr, "$") || strings.HasSuffix(expr, `\$`) {
		l.d.errorf(n, field, "regular expression %q must be anchored with ^ and $", expr)
		return nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		l.d.errorf(n, field, "invalid regular expression: %v", err)
		return nil
	}
	if dots := unescapedDots(expr); len(dots) > 0 {
		i := dots[0]
		l.d.warnf(n, field, WarnUnescapedDot, "regular expression %q has %d unescaped \".\" (the first after %q): each matches any character, not only a dot (\"X\" passes there too); write \"\\.\" for a literal dot",
			expr, len(dots), expr[:i])
	}
	// A top-level alternation like ^a$|^b$ is anchored per branch, but ^a|b$
	// is not: require the whole expression to be one anchored unit.
	if strings.Contains(expr, "|") && !wrappedAlternation(expr) {
		l.d.errorf(n, field, "regular expression %q: put alternations inside a group, as ^(?:a|b)$", expr)
		return nil
	}
	return re
}

// wrappedAlternation reports whether every top-level "|" is inside a group.
func wrappedAlternation(expr string) bool {
	depth := 0
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				return false
			}
		}
	}
	return true
}

func (l *loader) globs(o *object, key string, uri bool) []Glob {
	vals, nodes := o.strs(key)
	out := make([]Glob, 0, len(vals))
	for i, v := range vals {
		compile := CompileGlob
		if uri {
			compile = CompileURIGlob
		}
		g, err := compile(v)
		if err != nil {
			l.d.errorf(nodes[i], fmt.Sprintf("%s[%d]", o.field(key), i), "%v", err)
			continue
		}
		out = append(out, g)
	}
	return out
}

// kmsSchemes are the KMS URI schemes cosign's signature loading understands.
var kmsSchemes = []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://"}

func (l *loader) key(n *yaml.Node, path string) *Key {
	o := l.d.object(n, path)
	defer o.done()
	k := &Key{}
	pemV, pemN := o.str("publicKey")
	file, fileN := o.str("path")
	kms, kmsN := o.str("kms")
	set := 0
	for _, v := range []string{pemV, file, kms} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		l.d.errorf(n, path, "a key identity has exactly one of publicKey, path or kms")
	}
	k.TransparencyLog = l.requirement(o, "transparencyLog", Optional)
	switch {
	case pemV != "":
		k.PublicKey, k.KeyID = l.parsePEM([]byte(pemV), pemN, path+".publicKey")
	case file != "":
		data, err := l.read(l.resolve(file))
		if err != nil {
			l.d.errorf(fileN, path+".path", "reading public key: %v", err)
			return k
		}
		k.PublicKey, k.KeyID = l.parsePEM(data, fileN, path+".path")
	case kms != "":
		ok := false
		for _, s := range kmsSchemes {
			ok = ok || strings.HasPrefix(kms, s)
		}
		if !ok {
			l.d.errorf(kmsN, path+".kms", "unsupported KMS URI %q (want one of %s)", kms, strings.Join(kmsSchemes, ", "))
		}
		k.KMS = kms
	}
	return k
}

func (l *loader) parsePEM(data []byte, n *yaml.Node, field string) (any, string) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(data)
	if err != nil {
		l.d.errorf(n, field, "not a PEM public key: %v", err)
		return nil, ""
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		l.d.errorf(n, field, "unsupported public key: %v", err)
		return nil, ""
	}
	sum := sha256.Sum256(der)
	return pub, hex.EncodeToString(sum[:])
}

func issuerHost(issuer string) string {
	_, rest, ok := strings.Cut(issuer, "://")
	if !ok {
		return issuer
	}
	host, _, _ := strings.Cut(rest, "/")
	return host
}
