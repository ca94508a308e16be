package attest

import (
	"fmt"
	"strings"

	"github.com/signet-dev/signet/ci"
)

// withGitLabEnv fills claims from GitLab's predefined CI_* variables.
func withGitLabEnv(c ci.Claims, env ci.Env) ci.Claims {
	c = fill(c, env,
		"project_path", "CI_PROJECT_PATH",
		"project_id", "CI_PROJECT_ID",
		"namespace_path", "CI_PROJECT_NAMESPACE",
		"namespace_id", "CI_PROJECT_NAMESPACE_ID",
		"sha", "CI_COMMIT_SHA",
		"pipeline_source", "CI_PIPELINE_SOURCE",
		"pipeline_id", "CI_PIPELINE_ID",
		"job_id", "CI_JOB_ID",
		"runner_environment", "CI_RUNNER_ENVIRONMENT",
		"project_visibility", "CI_PROJECT_VISIBILITY",
	)
	if c.Get("ref") == "" {
		if tag := env("CI_COMMIT_TAG"); tag != "" {
			c["ref"], c["ref_type"] = tag, "tag"
		} else if b := env("CI_COMMIT_REF_NAME"); b != "" {
			c["ref"], c["ref_type"] = b, "branch"
		}
	}
	if c.Get("ci_config_ref_uri") == "" && c.Get("project_path") != "" {
		cfg := env("CI_CONFIG_PATH")
		if cfg == "" {
			cfg = ".gitlab-ci.yml"
		}
		host := strings.TrimPrefix(strings.TrimPrefix(ci.ServerURL(env, ci.GitLab), "https://"), "http://")
		c["ci_config_ref_uri"] = fmt.Sprintf("%s/%s//%s@%s", host, c.Get("project_path"), cfg, fullRef(c))
	}
	return c
}

func fullRef(c ci.Claims) string {
	switch c.Get("ref_type") {
	case "tag":
		return "refs/tags/" + c.Get("ref")
	case "branch":
		return "refs/heads/" + c.Get("ref")
	}
	return c.Get("ref")
}

// gitlab is signet's GitLab CI build type (docs/gitlab-buildtype.md): the
// structure of the GitHub workflow build type, filled from the pipeline.
func gitlab(server string, c ci.Claims) (*Provenance, error) {
	if err := need(c, "project_path", "ref", "sha", "ci_config_ref_uri", "job_id"); err != nil {
		return nil, err
	}
	repoURL := server + "/" + c.Get("project_path")
	ref := fullRef(c)
	cfgURI := c.Get("ci_config_ref_uri") // host/group/project//path@ref
	_, after, _ := strings.Cut(cfgURI, "//")
	cfgPath, _, _ := strings.Cut(after, "@")
	scheme := "https://"
	if strings.HasPrefix(server, "http://") {
		scheme = "http://"
	}
	return &Provenance{
		BuildDefinition: BuildDefinition{
			BuildType: BuildTypeGitLab,
			ExternalParameters: ExternalParameters{Workflow: Workflow{
				Ref: ref, Repository: repoURL, Path: cfgPath,
			}},
			InternalParameters: map[string]any{"gitlab": map[string]any{
				"pipeline_source":    c.Get("pipeline_source"),
				"pipeline_id":        c.Get("pipeline_id"),
				"project_id":         c.Get("project_id"),
				"namespace_id":       c.Get("namespace_id"),
				"runner_environment": c.Get("runner_environment"),
			}},
			ResolvedDependencies: []ResourceDescriptor{{
				URI:    "git+" + repoURL + "@" + ref,
				Digest: map[string]string{"gitCommit": c.Get("sha")},
			}},
		},
		RunDetails: RunDetails{
			Builder:  Builder{ID: scheme + cfgURI},
			Metadata: Metadata{InvocationID: fmt.Sprintf("%s/-/jobs/%s", repoURL, c.Get("job_id"))},
		},
	}, nil
}
