package policy

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// A keyless identity may pin where the signing workflow lives without
// naming its file: `signerRepository: acme/*` without `workflow`. The
// certificate's SAN (its Build Signer URI) names the workflow that signed,
// which for a reusable workflow is in another repository than the source
// (`repository`); Kyverno and policy-controller policies usually constrain
// the SAN by a pattern over that repository, and this says the same thing
// structurally.

// signerRepositoryPattern reads signerRepository written without
// workflow: a pattern over the signer's repository.
func (l *loader) signerRepositoryPattern(k *Keyless, pattern string, n *yaml.Node, path string) {
	g, err := CompileGlob(strings.Trim(pattern, "/"))
	if err != nil {
		l.d.errorf(n, path+".signerRepository", "%v", err)
		return
	}
	if k.ServerURL == "" {
		l.d.errorf(n, path+".signerRepository", "needs serverURL (or ci: github|gitlab) to know the repository's host")
	}
	k.SignerRepositoryPattern = &g
}

// matchSigner checks the Build Signer URI against a signer repository
// pattern (and its signerRefs); nil when it holds or is not set.
func (k *Keyless) matchSigner(identity, signerURI string) *Mismatch {
	if k.SignerRepositoryPattern == nil {
		return nil
	}
	repo, ref, ok := k.signerRepositoryOf(signerURI)
	want := k.ServerURL + "/" + k.SignerRepositoryPattern.String() + "/<workflow>@<ref>"
	if !ok || !k.SignerRepositoryPattern.Match(repo) {
		return certificateMismatch(identity, "signerRepository", quote(want), signerURI)
	}
	if len(k.SignerRefs) > 0 && !matchAny(k.SignerRefs, ref) {
		return certificateMismatch(identity, "signerRefs", globList(k.SignerRefs), ref)
	}
	return nil
}

// signerRepositoryOf splits a Build Signer URI into the repository that
// holds the workflow and the workflow's ref: GitHub's
// {server}/{owner}/{repo}/{path}@{ref}, GitLab's
// {server}/{group/.../project}//{path}@{ref}.
func (k *Keyless) signerRepositoryOf(uri string) (repo, ref string, ok bool) {
	rest, ok := strings.CutPrefix(uri, k.ServerURL+"/")
	if !ok {
		return "", "", false
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return "", "", false
	}
	rest, ref = rest[:at], rest[at+1:]
	if k.CI == CIGitLab {
		repo, _, ok = strings.Cut(rest, "//")
		return repo, ref, ok && repo != ""
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0] + "/" + parts[1], ref, true
}
