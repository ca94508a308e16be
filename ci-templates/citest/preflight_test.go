package citest

import (
	"regexp"
	"strings"
	"testing"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/sign"
)

// exampleClaims are the claims of the OIDC token GitHub gives a job of
// acme/hello's workflow file on ref; jobWorkflowRef is the workflow whose
// job signs (the reusable workflow's, as called, or workflowFile itself).
func exampleClaims(workflowFile, ref, jobWorkflowRef string) ci.Claims {
	return ci.Claims{
		"iss": ci.GitHubIssuer, "aud": "sigstore", "repository": "acme/hello", "repository_owner": "acme",
		"repository_id": "1", "repository_owner_id": "2", "ref": ref, "sha": strings.Repeat("a", 40),
		"workflow_ref": "acme/hello/" + workflowFile + "@" + ref, "job_workflow_ref": jobWorkflowRef,
		"event_name": "push", "runner_environment": "github-hosted", "run_id": "7", "run_attempt": "1",
	}
}

var reusableCall = regexp.MustCompile(`uses: (signet-dev/signet)/(\.github/workflows/reusable-release\.yml)@(\S+)`)

// TestExamplesPassTheirOwnPreflight: what each example pipeline would sign
// as, read from the example files themselves (the reusable workflow's ref in
// release.yml's uses:, the file the one-job variant is installed as), is
// accepted by examples/trust.yaml, signature and provenance, through the
// very preflight `sign image` runs first. The shipped example once called
// the reusable workflow @v0.2.0 while trusting only refs/tags/v1.
func TestExamplesPassTheirOwnPreflight(t *testing.T) {
	p := exampleTrust(t)
	const image = "ghcr.io/acme/hello@sha256:" + zeros
	m := reusableCall.FindStringSubmatch(string(readRepoFile(t, "examples/github/release.yml")))
	if m == nil {
		t.Fatal("examples/github/release.yml calls no signet-dev/signet reusable workflow")
	}
	tag := "refs/tags/" + m[3]
	if strings.HasPrefix(m[3], "refs/") {
		tag = m[3]
	}
	cases := []struct {
		name   string
		claims ci.Claims
		image  string
	}{
		{"release.yml on main, through the reusable workflow @" + m[3],
			exampleClaims(".github/workflows/release.yml", "refs/heads/main", m[1]+"/"+m[2]+"@"+tag), image},
		{"release.yml on a v* tag, through the reusable workflow @" + m[3],
			exampleClaims(".github/workflows/release.yml", "refs/tags/v1.0.0", m[1]+"/"+m[2]+"@"+tag), image},
		// sign-step.yml is installed as .github/workflows/build.yml (its header says so).
		{"sign-step.yml as build.yml on main",
			exampleClaims(".github/workflows/build.yml", "refs/heads/main", "acme/hello/.github/workflows/build.yml@refs/heads/main"), image},
		{"the GitLab pipeline on main", ci.Claims{
			"iss": ci.GitLabIssuer, "project_path": "acme/hello", "namespace_path": "acme", "ref": "main", "ref_type": "branch",
			"ci_config_ref_uri": "gitlab.com/acme/hello//.gitlab-ci.yml@refs/heads/main", "sha": strings.Repeat("b", 40),
			"pipeline_source": "push", "runner_environment": "gitlab-hosted", "job_id": "9", "pipeline_id": "8", "project_id": "3", "namespace_id": "4",
		}, "registry.gitlab.com/acme/hello@sha256:" + zeros},
	}
	if !strings.Contains(string(readRepoFile(t, "examples/github/sign-step.yml")), ".github/workflows/build.yml") {
		t.Fatal("examples/github/sign-step.yml no longer says it is installed as .github/workflows/build.yml")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cert, err := c.claims.ExpectedCertificate("")
			if err != nil {
				t.Fatal(err)
			}
			r := sign.Preflight(p, c.image, sign.Signer{Certificate: &cert}, ciProvenance(t, c.claims))
			if !r.OK {
				var text strings.Builder
				_ = r.WriteText(&text)
				t.Fatalf("preflight refused what the example signs as:\n%s", text.String())
			}
		})
	}
}

// ciProvenance is the provenance `sign image --attest` attaches for a run
// with these claims, as the predicates preflight checks.
func ciProvenance(t *testing.T, claims ci.Claims) []attest.Predicate {
	t.Helper()
	prov, err := attest.FromCI(func(string) string { return "" }, claims)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := attest.ProvenancePredicate(prov)
	if err != nil {
		t.Fatal(err)
	}
	return []attest.Predicate{pred}
}
