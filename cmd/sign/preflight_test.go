package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPreflightEvaluatesTheScan: `sign preflight --vuln` converts the
// scanner's report and evaluates the trust file's conditions on it before
// anything is signed: a critical finding refuses (exit 1, naming it), a
// clean report passes.
func TestPreflightEvaluatesTheScan(t *testing.T) {
	dir := t.TempDir()
	trust := filepath.Join(dir, "trust.yaml")
	if err := os.WriteFile(trust, []byte(`apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: app-release
    keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app, workflow: .github/workflows/release.yml, refs: [refs/heads/main]}
images:
  - match: ["ghcr.io/acme/**"]
    signedBy: [app-release]
    attestations:
      - type: vuln
        maxAge: 7d
        conditions:
          - name: no-critical
            expression: '!vulnerabilities(predicate).exists(v, v.severity == "CRITICAL")'
`), 0o644); err != nil {
		t.Fatal(err)
	}
	wf := "acme/app/.github/workflows/release.yml@refs/heads/main"
	claims, _ := json.Marshal(map[string]string{"iss": "https://token.actions.githubusercontent.com", "aud": "sigstore", "repository": "acme/app",
		"repository_owner": "acme", "ref": "refs/heads/main", "sha": "0123456789abcdef0123456789abcdef01234567", "job_workflow_ref": wf, "workflow_ref": wf,
		"event_name": "push", "runner_environment": "github-hosted", "repository_id": "1", "repository_owner_id": "2", "run_id": "7", "run_attempt": "1"})
	tok := "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
	env := []string{"GITHUB_ACTIONS=", "GITLAB_CI="}
	for _, tc := range []struct {
		report string
		code   int
		says   string
	}{
		{"trivy.json", 1, "CVE-2024-3094"},
		{"grype.json", 1, "CVE-2024-3094"},
		{"trivy-clean.json", 0, "preflight OK"},
	} {
		out, stderr, code := runSign(t, env, "preflight", "--policy", trust, "--identity-token", tok,
			"--vuln", filepath.Join("..", "..", "attest", "testdata", tc.report), "ghcr.io/acme/app:1.0")
		if code != tc.code || !strings.Contains(out, tc.says) {
			t.Errorf("%s: exit %d, want %d saying %q:\n%s%s", tc.report, code, tc.code, tc.says, out, stderr)
		}
	}
}
