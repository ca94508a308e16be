package attest

import (
	"fmt"
	"strings"

	"github.com/signet-dev/signet/ci"
)

// withGitHubEnv fills claims from the Actions environment. The
// environment has no job_workflow_ref; without a token the calling
// workflow (workflow_ref) stands in, which is right unless a reusable
// workflow signs.
func withGitHubEnv(c ci.Claims, env ci.Env) ci.Claims {
	c = fill(c, env,
		"repository", "GITHUB_REPOSITORY",
		"ref", "GITHUB_REF",
		"sha", "GITHUB_SHA",
		"workflow_ref", "GITHUB_WORKFLOW_REF",
		"event_name", "GITHUB_EVENT_NAME",
		"repository_id", "GITHUB_REPOSITORY_ID",
		"repository_owner_id", "GITHUB_REPOSITORY_OWNER_ID",
		"runner_environment", "RUNNER_ENVIRONMENT",
		"run_id", "GITHUB_RUN_ID",
		"run_attempt", "GITHUB_RUN_ATTEMPT",
	)
	if c.Get("job_workflow_ref") == "" && c.Get("workflow_ref") != "" {
		c["job_workflow_ref"] = c.Get("workflow_ref")
	}
	return c
}

// github is the layout actions/attest-build-provenance emits.
func github(server string, c ci.Claims) (*Provenance, error) {
	if err := need(c, "repository", "ref", "sha", "workflow_ref", "job_workflow_ref", "run_id", "run_attempt"); err != nil {
		return nil, err
	}
	repo := c.Get("repository")
	wfPath, _, _ := strings.Cut(strings.TrimPrefix(c.Get("workflow_ref"), repo+"/"), "@")
	repoURL := server + "/" + repo
	return &Provenance{
		BuildDefinition: BuildDefinition{
			BuildType: BuildTypeGitHub,
			ExternalParameters: ExternalParameters{Workflow: Workflow{
				Ref: c.Get("ref"), Repository: repoURL, Path: wfPath,
			}},
			InternalParameters: map[string]any{"github": map[string]any{
				"event_name":          c.Get("event_name"),
				"repository_id":       c.Get("repository_id"),
				"repository_owner_id": c.Get("repository_owner_id"),
				"runner_environment":  c.Get("runner_environment"),
			}},
			ResolvedDependencies: []ResourceDescriptor{{
				URI:    "git+" + repoURL + "@" + c.Get("ref"),
				Digest: map[string]string{"gitCommit": c.Get("sha")},
			}},
		},
		RunDetails: RunDetails{
			Builder:  Builder{ID: server + "/" + c.Get("job_workflow_ref")},
			Metadata: Metadata{InvocationID: fmt.Sprintf("%s/actions/runs/%s/attempts/%s", repoURL, c.Get("run_id"), c.Get("run_attempt"))},
		},
	}, nil
}
