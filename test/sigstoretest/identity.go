package sigstoretest

import (
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/signet-dev/signet/ci"
)

// Issuers of the CI OIDC tokens Fulcio accepts (ci's).
const (
	GitHubIssuer = ci.GitHubIssuer
	GitLabIssuer = ci.GitLabIssuer
)

// oidTokenSubject is Fulcio's 1.3.6.1.4.1.57264.1.24 (token "sub" claim),
// emitted by Fulcio v1.8 for CI identities but not parsed by sigstore-go v1.3.
var oidTokenSubject = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 24}

// Identity is what a Fulcio certificate says about its holder. The
// constructors fill it exactly as Fulcio does from a real CI token; tests
// tweak fields to build near-misses (another repository, a self-hosted
// runner, a tag ref...).
type Identity struct {
	// SAN is the URI subject alternative name.
	SAN string
	// Issuer is the OIDC issuer. It is rendered into the certificate unless
	// Extensions.Issuer is set, which lets a test make them disagree.
	Issuer string
	// Extensions are rendered with Fulcio's encoding: the deprecated v1 OIDs
	// (.1.1-.1.6) as raw strings, the v2 OIDs (.1.8-.1.22) as DER UTF8String.
	Extensions certificate.Extensions
	// TokenSubject is the token's sub claim (OID .1.24), empty to omit.
	TokenSubject string
}

// GitHub is a GitHub Actions workflow signing for itself: repo "acme/app",
// workflowPath ".github/workflows/release.yml", ref "refs/heads/main".
// It carries the extension set Fulcio derives from an Actions token for a
// push on a GitHub-hosted runner (run 1, attempt 1, public repository).
func GitHub(repo, workflowPath, ref string) Identity {
	workflowRef := fmt.Sprintf("%s/%s@%s", repo, workflowPath, ref)
	sha := fakeSHA(repo, ref)
	owner, _, _ := strings.Cut(repo, "/")
	san := "https://github.com/" + workflowRef
	name := strings.TrimSuffix(path.Base(workflowPath), path.Ext(workflowPath))
	return Identity{
		SAN:          san,
		Issuer:       GitHubIssuer,
		TokenSubject: fmt.Sprintf("repo:%s:ref:%s", repo, ref),
		Extensions: certificate.Extensions{
			Issuer:                              GitHubIssuer,
			GithubWorkflowTrigger:               "push",
			GithubWorkflowSHA:                   sha,
			GithubWorkflowName:                  name,
			GithubWorkflowRepository:            repo,
			GithubWorkflowRef:                   ref,
			BuildSignerURI:                      san,
			BuildSignerDigest:                   sha,
			RunnerEnvironment:                   "github-hosted",
			SourceRepositoryURI:                 "https://github.com/" + repo,
			SourceRepositoryDigest:              sha,
			SourceRepositoryRef:                 ref,
			SourceRepositoryIdentifier:          fakeID(repo),
			SourceRepositoryOwnerURI:            "https://github.com/" + owner,
			SourceRepositoryOwnerIdentifier:     fakeID(owner),
			BuildConfigURI:                      "https://github.com/" + workflowRef,
			BuildConfigDigest:                   sha,
			BuildTrigger:                        "push",
			RunInvocationURI:                    "https://github.com/" + repo + "/actions/runs/1/attempts/1",
			SourceRepositoryVisibilityAtSigning: "public",
		},
	}
}

// GitHubReusable is repo's workflow .github/workflows/release.yml at ref
// calling the reusable workflow signerRepo/signerWorkflowPath@signerRef,
// which signs: the SAN and Build Signer URI/Digest name the reusable
// workflow (job_workflow_ref), while the Build Config URI and the source
// repository stay the caller's (workflow_ref). This is the SLSA Build L3
// shape.
func GitHubReusable(repo, ref, signerRepo, signerWorkflowPath, signerRef string) Identity {
	id := GitHub(repo, ".github/workflows/release.yml", ref)
	san := fmt.Sprintf("https://github.com/%s/%s@%s", signerRepo, signerWorkflowPath, signerRef)
	id.SAN = san
	id.Extensions.BuildSignerURI = san
	id.Extensions.BuildSignerDigest = fakeSHA(signerRepo, signerRef)
	return id
}

// GitLab is a gitlab.com pipeline of project "acme/platform" at ref
// "refs/heads/main", defined by the project's own .gitlab-ci.yml, run on a
// GitLab-hosted runner for a push (job 1). GitLab SANs have a double slash
// between the project and the config path.
func GitLab(project, ref string) Identity {
	san := fmt.Sprintf("https://gitlab.com/%s//.gitlab-ci.yml@%s", project, ref)
	sha := fakeSHA(project, ref)
	namespace := path.Dir(project)
	refType, shortRef := "branch", strings.TrimPrefix(ref, "refs/heads/")
	if strings.HasPrefix(ref, "refs/tags/") {
		refType, shortRef = "tag", strings.TrimPrefix(ref, "refs/tags/")
	}
	return Identity{
		SAN:          san,
		Issuer:       GitLabIssuer,
		TokenSubject: fmt.Sprintf("project_path:%s:ref_type:%s:ref:%s", project, refType, shortRef),
		Extensions: certificate.Extensions{
			Issuer:                              GitLabIssuer,
			BuildSignerURI:                      san,
			BuildSignerDigest:                   sha,
			RunnerEnvironment:                   "gitlab-hosted",
			SourceRepositoryURI:                 "https://gitlab.com/" + project,
			SourceRepositoryDigest:              sha,
			SourceRepositoryRef:                 ref,
			SourceRepositoryIdentifier:          fakeID(project),
			SourceRepositoryOwnerURI:            "https://gitlab.com/" + namespace,
			SourceRepositoryOwnerIdentifier:     fakeID(namespace),
			BuildConfigURI:                      san,
			BuildConfigDigest:                   sha,
			BuildTrigger:                        "push",
			RunInvocationURI:                    "https://gitlab.com/" + project + "/-/jobs/1",
			SourceRepositoryVisibilityAtSigning: "public",
		},
	}
}

// render encodes the extensions in the order and encoding of Fulcio's
// certificate.Extensions.Render.
func (id Identity) render() ([]pkix.Extension, error) {
	e := id.Extensions
	if e.Issuer == "" {
		e.Issuer = id.Issuer
	}
	if e.Issuer == "" {
		return nil, errors.New("identity has no issuer")
	}
	var exts []pkix.Extension
	raw := func(oid asn1.ObjectIdentifier, v string) {
		if v != "" {
			exts = append(exts, pkix.Extension{Id: oid, Value: []byte(v)})
		}
	}
	// Fulcio still issues the deprecated v1 extensions beside the v2 ones,
	// so certificates here carry them too.
	raw(certificate.OIDIssuer, e.Issuer)                                     //lint:ignore SA1019 Fulcio still issues it
	raw(certificate.OIDGitHubWorkflowTrigger, e.GithubWorkflowTrigger)       //lint:ignore SA1019 Fulcio still issues it
	raw(certificate.OIDGitHubWorkflowSHA, e.GithubWorkflowSHA)               //lint:ignore SA1019 Fulcio still issues it
	raw(certificate.OIDGitHubWorkflowName, e.GithubWorkflowName)             //lint:ignore SA1019 Fulcio still issues it
	raw(certificate.OIDGitHubWorkflowRepository, e.GithubWorkflowRepository) //lint:ignore SA1019 Fulcio still issues it
	raw(certificate.OIDGitHubWorkflowRef, e.GithubWorkflowRef)               //lint:ignore SA1019 Fulcio still issues it
	for _, f := range []struct {
		oid asn1.ObjectIdentifier
		v   string
	}{
		{certificate.OIDIssuerV2, e.Issuer},
		{certificate.OIDBuildSignerURI, e.BuildSignerURI},
		{certificate.OIDBuildSignerDigest, e.BuildSignerDigest},
		{certificate.OIDRunnerEnvironment, e.RunnerEnvironment},
		{certificate.OIDSourceRepositoryURI, e.SourceRepositoryURI},
		{certificate.OIDSourceRepositoryDigest, e.SourceRepositoryDigest},
		{certificate.OIDSourceRepositoryRef, e.SourceRepositoryRef},
		{certificate.OIDSourceRepositoryIdentifier, e.SourceRepositoryIdentifier},
		{certificate.OIDSourceRepositoryOwnerURI, e.SourceRepositoryOwnerURI},
		{certificate.OIDSourceRepositoryOwnerIdentifier, e.SourceRepositoryOwnerIdentifier},
		{certificate.OIDBuildConfigURI, e.BuildConfigURI},
		{certificate.OIDBuildConfigDigest, e.BuildConfigDigest},
		{certificate.OIDBuildTrigger, e.BuildTrigger},
		{certificate.OIDRunInvocationURI, e.RunInvocationURI},
		{certificate.OIDSourceRepositoryVisibilityAtSigning, e.SourceRepositoryVisibilityAtSigning},
		{oidTokenSubject, id.TokenSubject},
	} {
		if f.v == "" {
			continue
		}
		der, err := asn1.MarshalWithParams(f.v, "utf8")
		if err != nil {
			return nil, fmt.Errorf("encoding extension %s: %w", f.oid, err)
		}
		exts = append(exts, pkix.Extension{Id: f.oid, Value: der})
	}
	return exts, nil
}

func parseURI(s string) ([]*url.URL, error) {
	if s == "" {
		return nil, errors.New("identity has no SAN")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("parsing SAN %q: %w", s, err)
	}
	return []*url.URL{u}, nil
}

// fakeSHA is a stable 40-hex "commit" for a repository and ref, so two
// identities built from the same inputs carry the same digests.
func fakeSHA(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "@")))
	return hex.EncodeToString(h[:20])
}

// fakeID is a stable numeric identifier, like GitHub's repository_id.
func fakeID(s string) string {
	h := sha256.Sum256([]byte(s))
	return strconv.FormatUint(binary.BigEndian.Uint64(h[:8])%100000000, 10)
}
