package ci

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// Issuers whose tokens Fulcio maps to CI certificate extensions, and the
// web origins certificate URIs name: the one definition signet has of them
// (policy infers a keyless identity's CI from its issuer with these).
const (
	GitHubIssuer = "https://token.actions.githubusercontent.com"
	GitLabIssuer = "https://gitlab.com"
	GitHubServer = "https://github.com"
	GitLabServer = "https://gitlab.com"
)

// Claims is the unverified claim set of a CI OIDC token: Fulcio verifies
// the token, signet only reads it to predict the certificate. Field names
// are the claim names GitHub and GitLab use.
type Claims map[string]any

// ParseToken decodes a JWT's claims without verifying it.
func ParseToken(token string) (Claims, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return nil, errors.New("the OIDC token is not a JWT (want three dot-separated parts)")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("decoding OIDC token claims: %w", err)
	}
	var c Claims
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("parsing OIDC token claims: %w", err)
	}
	return c, nil
}

// Get returns a claim as a string ("" if absent).
func (c Claims) Get(name string) string {
	switch v := c[name].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return fmt.Sprint(v)
	}
	return ""
}

// System says which CI issued the token, from its issuer.
func (c Claims) System() System {
	switch iss := c.Get("iss"); {
	case iss == GitHubIssuer || c.Get("job_workflow_ref") != "":
		return GitHub
	case iss == GitLabIssuer || c.Get("ci_config_ref_uri") != "":
		return GitLab
	}
	return None
}

// ExpectedCertificate is the certificate.Summary Fulcio will issue for
// these claims, following Fulcio's github-workflow and gitlab-pipeline
// issuer mappings. serverURL is the CI web origin (https://github.com,
// https://gitlab.com or a self-hosted instance).
func (c Claims) ExpectedCertificate(serverURL string) (certificate.Summary, error) {
	serverURL = strings.TrimSuffix(serverURL, "/")
	switch c.System() {
	case GitHub:
		return c.github(serverURL), nil
	case GitLab:
		return c.gitlab(serverURL), nil
	}
	return certificate.Summary{}, fmt.Errorf("token issuer %q is not a CI issuer signet knows (GitHub Actions or GitLab CI)", c.Get("iss"))
}

func (c Claims) github(base string) certificate.Summary {
	if base == "" {
		base = GitHubServer
	}
	repo := c.Get("repository")
	e := certificate.Extensions{
		Issuer:                              c.Get("iss"),
		GithubWorkflowTrigger:               c.Get("event_name"),
		GithubWorkflowSHA:                   c.Get("sha"),
		GithubWorkflowName:                  c.Get("workflow"),
		GithubWorkflowRepository:            repo,
		GithubWorkflowRef:                   c.Get("ref"),
		BuildSignerURI:                      base + "/" + c.Get("job_workflow_ref"),
		BuildSignerDigest:                   c.Get("job_workflow_sha"),
		RunnerEnvironment:                   c.Get("runner_environment"),
		SourceRepositoryURI:                 base + "/" + repo,
		SourceRepositoryDigest:              c.Get("sha"),
		SourceRepositoryRef:                 c.Get("ref"),
		SourceRepositoryIdentifier:          c.Get("repository_id"),
		SourceRepositoryOwnerURI:            base + "/" + c.Get("repository_owner"),
		SourceRepositoryOwnerIdentifier:     c.Get("repository_owner_id"),
		BuildConfigURI:                      base + "/" + c.Get("workflow_ref"),
		BuildConfigDigest:                   c.Get("workflow_sha"),
		BuildTrigger:                        c.Get("event_name"),
		RunInvocationURI:                    fmt.Sprintf("%s/%s/actions/runs/%s/attempts/%s", base, repo, c.Get("run_id"), c.Get("run_attempt")),
		SourceRepositoryVisibilityAtSigning: c.Get("repository_visibility"),
	}
	return certificate.Summary{SubjectAlternativeName: base + "/" + c.Get("job_workflow_ref"), Extensions: e}
}

func (c Claims) gitlab(base string) certificate.Summary {
	if base == "" {
		base = GitLabServer
	}
	project := c.Get("project_path")
	ref := c.Get("ref")
	switch c.Get("ref_type") {
	case "branch":
		ref = "refs/heads/" + ref
	case "tag":
		ref = "refs/tags/" + ref
	}
	// ci_config_ref_uri is "gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main".
	scheme := "https://"
	if strings.HasPrefix(base, "http://") {
		scheme = "http://"
	}
	signer := scheme + c.Get("ci_config_ref_uri")
	e := certificate.Extensions{
		Issuer:                              c.Get("iss"),
		BuildSignerURI:                      signer,
		BuildSignerDigest:                   c.Get("ci_config_sha"),
		RunnerEnvironment:                   c.Get("runner_environment"),
		SourceRepositoryURI:                 base + "/" + project,
		SourceRepositoryDigest:              c.Get("sha"),
		SourceRepositoryRef:                 ref,
		SourceRepositoryIdentifier:          c.Get("project_id"),
		SourceRepositoryOwnerURI:            base + "/" + c.Get("namespace_path"),
		SourceRepositoryOwnerIdentifier:     c.Get("namespace_id"),
		BuildConfigURI:                      signer,
		BuildConfigDigest:                   c.Get("ci_config_sha"),
		BuildTrigger:                        c.Get("pipeline_source"),
		RunInvocationURI:                    fmt.Sprintf("%s/%s/-/jobs/%s", base, project, c.Get("job_id")),
		SourceRepositoryVisibilityAtSigning: c.Get("project_visibility"),
	}
	return certificate.Summary{SubjectAlternativeName: signer, Extensions: e}
}
