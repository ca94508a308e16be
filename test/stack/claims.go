package stack

import (
	"strings"
	"time"
)

// GitHubClaims is the claim set of a GitHub Actions OIDC token. Zero fields are
// filled by Defaults from Repository, Ref and WorkflowPath, so a test sets only
// what it cares about.
type GitHubClaims struct {
	Subject              string `json:"sub"`
	Repository           string `json:"repository"`
	RepositoryOwner      string `json:"repository_owner"`
	RepositoryID         string `json:"repository_id"`
	RepositoryOwnerID    string `json:"repository_owner_id"`
	RepositoryVisibility string `json:"repository_visibility"`
	Ref                  string `json:"ref"`
	RefType              string `json:"ref_type"`
	SHA                  string `json:"sha"`
	Workflow             string `json:"workflow"`
	WorkflowRef          string `json:"workflow_ref"`
	WorkflowSHA          string `json:"workflow_sha"`
	JobWorkflowRef       string `json:"job_workflow_ref"`
	JobWorkflowSHA       string `json:"job_workflow_sha"`
	RunID                string `json:"run_id"`
	RunAttempt           string `json:"run_attempt"`
	RunNumber            string `json:"run_number"`
	EventName            string `json:"event_name"`
	Actor                string `json:"actor"`
	ActorID              string `json:"actor_id"`
	RunnerEnvironment    string `json:"runner_environment"`
	Environment          string `json:"environment,omitempty"`
	HeadRef              string `json:"head_ref"` // GitHub sends "" outside pull requests
	BaseRef              string `json:"base_ref"`

	// Not claims: inputs for defaults and registered claims.
	WorkflowPath string        `json:"-"` // default ".github/workflows/release.yml"
	Audience     string        `json:"-"` // default "sigstore"
	Issuer       string        `json:"-"` // default: the stack's GitHub issuer URL
	TTL          time.Duration `json:"-"` // default 10m
}

// GitLabClaims is the claim set of a GitLab CI id_token (gitlab.com).
type GitLabClaims struct {
	Subject           string `json:"sub"`
	NamespaceID       string `json:"namespace_id"`
	NamespacePath     string `json:"namespace_path"`
	ProjectID         string `json:"project_id"`
	ProjectPath       string `json:"project_path"`
	UserID            string `json:"user_id"`
	UserLogin         string `json:"user_login"`
	UserEmail         string `json:"user_email"`
	PipelineID        string `json:"pipeline_id"`
	PipelineSource    string `json:"pipeline_source"`
	JobID             string `json:"job_id"`
	Ref               string `json:"ref"` // branch or tag name, not a full ref
	RefType           string `json:"ref_type"`
	RefProtected      string `json:"ref_protected"`
	Environment       string `json:"environment,omitempty"`
	CIConfigRefURI    string `json:"ci_config_ref_uri"`
	CIConfigSHA       string `json:"ci_config_sha"`
	RunnerID          string `json:"runner_id"`
	RunnerEnvironment string `json:"runner_environment"`
	SHA               string `json:"sha"`
	ProjectVisibility string `json:"project_visibility"`

	ConfigPath string        `json:"-"` // default ".gitlab-ci.yml"
	Audience   string        `json:"-"`
	Issuer     string        `json:"-"`
	TTL        time.Duration `json:"-"`
}

// DefaultSHA is the commit every default claim set points at.
const DefaultSHA = "2f1a0c4c8e6b3d5a7f9e0b1c2d3e4f5a6b7c8d9e"

// DefaultGitHubClaims is a push to main of acme/app running release.yml.
func DefaultGitHubClaims() GitHubClaims { return GitHubClaims{}.Defaults() }

// DefaultGitLabClaims is a push to main of acme/platform on gitlab.com.
func DefaultGitLabClaims() GitLabClaims { return GitLabClaims{}.Defaults() }

// Defaults fills zero fields, deriving dependent claims the way GitHub does.
func (c GitHubClaims) Defaults() GitHubClaims {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.Repository, "acme/app")
	owner, _, _ := strings.Cut(c.Repository, "/")
	def(&c.RepositoryOwner, owner)
	def(&c.RepositoryID, "700000001")
	def(&c.RepositoryOwnerID, "70000001")
	def(&c.RepositoryVisibility, "private")
	def(&c.Ref, "refs/heads/main")
	def(&c.RefType, refType(c.Ref))
	def(&c.SHA, DefaultSHA)
	def(&c.WorkflowPath, ".github/workflows/release.yml")
	def(&c.Workflow, "release")
	def(&c.WorkflowRef, c.Repository+"/"+c.WorkflowPath+"@"+c.Ref)
	def(&c.WorkflowSHA, c.SHA)
	def(&c.JobWorkflowRef, c.WorkflowRef)
	def(&c.JobWorkflowSHA, c.WorkflowSHA)
	def(&c.RunID, "9000000001")
	def(&c.RunAttempt, "1")
	def(&c.RunNumber, "42")
	def(&c.EventName, "push")
	def(&c.Actor, "octocat")
	def(&c.ActorID, "583231")
	def(&c.RunnerEnvironment, "github-hosted")
	if c.Environment != "" {
		def(&c.Subject, "repo:"+c.Repository+":environment:"+c.Environment)
	}
	def(&c.Subject, "repo:"+c.Repository+":ref:"+c.Ref)
	def(&c.Audience, "sigstore")
	return c
}

// Defaults fills zero fields, deriving dependent claims the way gitlab.com does.
func (c GitLabClaims) Defaults() GitLabClaims {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.ProjectPath, "acme/platform")
	if i := strings.LastIndex(c.ProjectPath, "/"); i > 0 {
		def(&c.NamespacePath, c.ProjectPath[:i])
	}
	def(&c.NamespaceID, "80000001")
	def(&c.ProjectID, "800000001")
	def(&c.UserID, "1000001")
	def(&c.UserLogin, "gitlab-dev")
	def(&c.UserEmail, "dev@acme.example")
	def(&c.PipelineID, "1200000001")
	def(&c.PipelineSource, "push")
	def(&c.JobID, "8800000001")
	def(&c.Ref, "main")
	def(&c.RefType, "branch")
	def(&c.RefProtected, "true")
	def(&c.ConfigPath, ".gitlab-ci.yml")
	full := "refs/heads/" + c.Ref
	if c.RefType == "tag" {
		full = "refs/tags/" + c.Ref
	}
	def(&c.CIConfigRefURI, "gitlab.com/"+c.ProjectPath+"//"+c.ConfigPath+"@"+full)
	def(&c.SHA, DefaultSHA)
	def(&c.CIConfigSHA, c.SHA)
	def(&c.RunnerID, "12270807")
	def(&c.RunnerEnvironment, "gitlab-hosted")
	def(&c.ProjectVisibility, "private")
	def(&c.Subject, "project_path:"+c.ProjectPath+":ref_type:"+c.RefType+":ref:"+c.Ref)
	def(&c.Audience, "sigstore")
	return c
}

func refType(ref string) string {
	if strings.HasPrefix(ref, "refs/tags/") {
		return "tag"
	}
	return "branch"
}
