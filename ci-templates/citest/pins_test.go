package citest

import (
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// workflowFiles are every GitHub Actions file signet ships or shows.
var workflowFiles = []string{"ci-templates/github/action.yml", "ci-templates/github/setup/action.yml", ".github/workflows/reusable-release.yml",
	".github/workflows/release.yml", "examples/github/release.yml", "examples/github/sign-step.yml", "examples/github/verify-manifests.yml"}

var (
	usesRe    = regexp.MustCompile(`(?m)^\s*(?:-\s+)?uses:\s*(\S+)`)
	pinnedRef = regexp.MustCompile(`^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$`)
)

// TestThirdPartyActionsPinnedByCommit: every action that is not signet's own
// is referenced by a full commit SHA. A tag can be moved by whoever controls
// that repository, and these steps run beside the job's OIDC token and
// registry credentials.
func TestThirdPartyActionsPinnedByCommit(t *testing.T) {
	found := 0
	for _, f := range workflowFiles {
		for _, m := range usesRe.FindAllStringSubmatch(string(readRepoFile(t, f)), -1) {
			ref := m[1]
			if strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "signet-dev/signet/") {
				continue
			}
			found++
			if !pinnedRef.MatchString(ref) {
				t.Errorf("%s: uses %s: pin third-party actions by full commit SHA (with the tag in a comment)", f, ref)
			}
		}
	}
	if found < 10 {
		t.Fatalf("found only %d third-party uses: the pattern no longer matches the files", found)
	}
}

// TestReusableWorkflowSignsWithItsOwnCommit: the reusable workflow's signing
// job runs the composite action from the commit the job's own OIDC token
// names (job_workflow_sha), checked out right before it, never from a fixed
// ref: a fixed tag would sign every later release, and every fork, with the
// sign of that one tag. (TestReleaseWorkflowOnLocalStack runs it.)
func TestReusableWorkflowSignsWithItsOwnCommit(t *testing.T) {
	var wf struct {
		Jobs map[string]struct {
			Permissions map[string]string `yaml:"permissions"`
			Steps       []struct {
				ID   string            `yaml:"id"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, ".github/workflows/reusable-release.yml"), &wf); err != nil {
		t.Fatal(err)
	}
	sign := wf.Jobs["sign"]
	self, checkout, action := -1, -1, -1
	for i, st := range sign.Steps {
		switch {
		case st.ID == "self":
			self = i
			for _, want := range []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "job_workflow_ref", "job_workflow_sha", `>> "$GITHUB_OUTPUT"`} {
				if !strings.Contains(st.Run, want) {
					t.Errorf("step self does not read %s", want)
				}
			}
		case strings.HasPrefix(st.Uses, "actions/checkout@") && st.With["path"] == ".signet-workflow":
			checkout = i
			if st.With["repository"] != "${{ steps.self.outputs.repository }}" || st.With["ref"] != "${{ steps.self.outputs.sha }}" {
				t.Errorf("the action's checkout takes repository %q ref %q, want steps.self's outputs", st.With["repository"], st.With["ref"])
			}
			if st.With["persist-credentials"] != "false" {
				t.Error("the action's checkout must not persist credentials")
			}
		case strings.Contains(st.Uses, "ci-templates/github"):
			action = i
			if st.Uses != "./.signet-workflow/ci-templates/github" {
				t.Errorf("the sign step uses %s, want ./.signet-workflow/ci-templates/github (this workflow's own commit)", st.Uses)
			}
		}
	}
	if self < 0 || checkout < self || action < checkout {
		t.Fatalf("want the steps self, then the checkout of its commit, then the action; got positions %d, %d, %d", self, checkout, action)
	}
	if sign.Permissions["id-token"] != "write" {
		t.Error("the sign job needs id-token: write (to sign, and to read its own workflow ref)")
	}
}
