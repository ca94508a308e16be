package attest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/test/sigstoretest"
)

// The GitHub layout must be exactly what actions/attest-build-provenance
// emits; sigstoretest.SLSAv1GitHub is the verify side's reference for it.
func TestGitHubProvenanceMatchesAttestBuildProvenanceLayout(t *testing.T) {
	id := sigstoretest.GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main")
	e := id.Extensions
	claims := ci.Claims{
		"iss": ci.GitHubIssuer, "repository": "acme/app", "ref": "refs/heads/main", "sha": e.SourceRepositoryDigest,
		"workflow_ref": "acme/app/.github/workflows/release.yml@refs/heads/main", "job_workflow_ref": "acme/app/.github/workflows/release.yml@refs/heads/main",
		"event_name": "push", "repository_id": e.SourceRepositoryIdentifier, "repository_owner_id": e.SourceRepositoryOwnerIdentifier,
		"runner_environment": "github-hosted", "run_id": "1", "run_attempt": "1",
	}
	p, err := FromCI(ci.MapEnv(nil), claims)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	b, _ := json.Marshal(p)
	json.Unmarshal(b, &got)
	b, _ = json.Marshal(sigstoretest.SLSAv1GitHub(id))
	json.Unmarshal(b, &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%v\nwant\n%v", got, want)
	}
}

func TestGitLabProvenanceFromCIVariables(t *testing.T) {
	env := ci.MapEnv(map[string]string{"GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/platform", "CI_COMMIT_REF_NAME": "main",
		"CI_COMMIT_SHA": "abc", "CI_JOB_ID": "42", "CI_PIPELINE_SOURCE": "push"})
	p, err := FromCI(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.RunDetails.Builder.ID != "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main" ||
		p.SourceRepository() != "https://gitlab.com/acme/platform" || p.SourceRef() != "refs/heads/main" ||
		p.RunDetails.Metadata.InvocationID != "https://gitlab.com/acme/platform/-/jobs/42" {
		t.Fatalf("%+v", p)
	}
}

func TestOutsideCIRefuses(t *testing.T) {
	if _, err := FromCI(ci.MapEnv(nil), nil); err != ErrNotCI {
		t.Fatalf("got %v", err)
	}
}
