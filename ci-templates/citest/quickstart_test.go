package citest

import (
	"strings"
	"testing"

	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/test/readme"
)

// quickstartBlocks are the README's quickstart blocks; test/e2e runs them
// against real servers (TestGitHubQuickstartOnLocalStack,
// TestGitLabQuickstartOnLocalStack, TestQuickstartOnNode).
var quickstartBlocks = []string{"github trust.yaml", "github .github/workflows/release.yml",
	"gitlab trust.yaml", "gitlab .gitlab-ci.yml", "install", "run", "run output", "pull secret", "run signed"}

func quickstart(t *testing.T) map[string]string {
	t.Helper()
	b, err := readme.Quickstart(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range quickstartBlocks {
		if b[name] == "" {
			t.Fatalf("README.md has no quickstart block %q", name)
		}
	}
	return b
}

// TestQuickstartPipelinesPassTheirOwnPreflight: the identity each
// quickstart pipeline signs as (acme/hello's release workflow on main; its
// GitLab pipeline on main) is what the quickstart's trust file accepts,
// signature and provenance, through the preflight `sign image` runs first;
// the same pipeline on another branch is refused.
func TestQuickstartPipelinesPassTheirOwnPreflight(t *testing.T) {
	b := quickstart(t)
	gitlab := func(ref string) ci.Claims {
		return ci.Claims{"iss": ci.GitLabIssuer, "project_path": "acme/hello", "namespace_path": "acme", "ref": ref, "ref_type": "branch",
			"ci_config_ref_uri": "gitlab.com/acme/hello//.gitlab-ci.yml@refs/heads/" + ref, "sha": strings.Repeat("b", 40),
			"pipeline_source": "push", "runner_environment": "gitlab-hosted", "job_id": "9", "pipeline_id": "8", "project_id": "3", "namespace_id": "4"}
	}
	const digest = "@sha256:" + zeros
	for _, c := range []struct {
		name, trust, image string
		claims             ci.Claims
		ok                 bool
	}{
		{"GitHub, release.yml on main", "github trust.yaml", "ghcr.io/acme/hello" + digest,
			exampleClaims(".github/workflows/release.yml", "refs/heads/main", "acme/hello/.github/workflows/release.yml@refs/heads/main"), true},
		{"GitHub, release.yml on another branch", "github trust.yaml", "ghcr.io/acme/hello" + digest,
			exampleClaims(".github/workflows/release.yml", "refs/heads/dev", "acme/hello/.github/workflows/release.yml@refs/heads/dev"), false},
		{"GitLab, the pipeline on main", "gitlab trust.yaml", "registry.gitlab.com/acme/hello" + digest, gitlab("main"), true},
		{"GitLab, the pipeline on another branch", "gitlab trust.yaml", "registry.gitlab.com/acme/hello" + digest, gitlab("dev"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := policy.Parse([]byte(b[c.trust]), policy.WithSource("README "+c.trust))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Warnings) > 0 {
				t.Errorf("the quickstart's trust file draws lint warnings: %v", p.Warnings)
			}
			cert, err := c.claims.ExpectedCertificate("")
			if err != nil {
				t.Fatal(err)
			}
			if r := sign.Preflight(p, c.image, sign.Signer{Certificate: &cert}, ciProvenance(t, c.claims)); r.OK != c.ok {
				var text strings.Builder
				_ = r.WriteText(&text)
				t.Fatalf("preflight ok=%v, want %v:\n%s", r.OK, c.ok, text.String())
			}
		})
	}
}

// TestQuickstartPipelinesAreValid: the GitHub workflow passes actionlint
// (with the action it uses, from this checkout) and pins its third-party
// actions by commit; the GitLab pipeline is valid GitLab CI.
func TestQuickstartPipelinesAreValid(t *testing.T) {
	b := quickstart(t)
	root, _ := lintProject(t)
	wf := writeFile(t, root, ".github/workflows/quickstart.yml",
		mustReplace(t, []byte(b["github .github/workflows/release.yml"]), remoteAction, localAction))
	if errs := lint(t, root, wf); len(errs) > 0 {
		t.Errorf("actionlint found %d problem(s) in the GitHub quickstart:%s", len(errs), formatErrors(errs))
	}
	for _, m := range usesRe.FindAllStringSubmatch(b["github .github/workflows/release.yml"], -1) {
		if !strings.HasPrefix(m[1], "signet-dev/signet/") && !pinnedRef.MatchString(m[1]) {
			t.Errorf("the GitHub quickstart uses %s: pin third-party actions by full commit SHA", m[1])
		}
	}
	validate(t, gitlabSchema(t), "README's GitLab quickstart", []byte(b["gitlab .gitlab-ci.yml"]))
}
