package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/test/stack"
)

// keyProvenancePolicy admits keyed/** signed by the key with provenance
// attached: the post-check reads signatures and attestations.
const keyProvenancePolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: release-key
    key: {path: PUB}
images:
  - match: [REGISTRY/keyed/**]
    signedBy: [release-key]
    provenance: {required: true}
`

// maxSignAttestRequests is what cosign v2's `sign` + `attest --type
// slsaprovenance1` of one image cost distribution and the in-process
// registry, both measured through the same counter: 14 + 13, two pings
// each. signet's default `sign image --attest` writes both layouts and
// post-checks in no more. A re-run reads the signer's earlier entries (a
// referrer manifest and bundle each, the earlier .att layer) to replace
// them, and deletes or unlists them: maxResignRequests.
const (
	maxSignAttestRequests = 27
	maxResignRequests     = 32
)

// githubKeyEnv is a GitHub Actions job's environment without an OIDC
// token: enough for `sign image --key --attest` to build provenance.
var githubKeyEnv = []string{"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=acme/app", "GITHUB_REF=refs/heads/main",
	"GITHUB_SHA=0123456789abcdef0123456789abcdef01234567", "GITHUB_WORKFLOW_REF=acme/app/.github/workflows/release.yml@refs/heads/main",
	"GITHUB_RUN_ID=7", "GITHUB_RUN_ATTEMPT=1", "GITHUB_EVENT_NAME=push", "RUNNER_ENVIRONMENT=github-hosted"}

// TestSignImageAttestRequests: the default `sign image --key K --attest`
// (both layouts, then the post-check, which allows) sends no more registry
// requests than cosign v2's sign + attest of the same image through the
// same counter, and at most one /v2/ ping, on distribution (referrers
// through the sha256-<hex> tag) and on a registry with the referrers API; a
// re-run, which replaces its own entries, stays bounded too.
func TestSignImageAttestRequests(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	s := stack.New(t, stack.Options{Registry: true})
	dir := t.TempDir()
	prefix := filepath.Join(dir, "signet")
	if stdout, stderr, code := runSignCLI(t, nil, "generate-key-pair", "--output-key-prefix", prefix); code != 0 {
		t.Fatalf("sign generate-key-pair exit %d: %s%s", code, stdout, stderr)
	}
	v2 := stack.CosignV2(t)
	cosignKey, _ := stack.CosignGenerateKeyPair(t, v2)
	predicate := filepath.Join(dir, "provenance.json")
	if err := os.WriteFile(predicate, []byte(`{"buildDefinition":{"buildType":"https://example.com/build","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	api, srv := stack.NewRegistry()
	t.Cleanup(srv.Close)
	for _, reg := range []struct {
		name string
		r    *stack.Registry
	}{{"distribution", s.Registry}, {"referrers API", api}} {
		t.Run(reg.name, func(t *testing.T) {
			c := newCountingRegistry(t, reg.r.URL)
			cosignImage := push(t, c.Host+"/keyed/cosign:1").String()
			c.Reset()
			env := stack.CosignEnv(t)
			for _, args := range [][]string{{"sign"}, {"attest", "--type=slsaprovenance1", "--predicate=" + predicate}} {
				args = append(args, "--key="+cosignKey, "--tlog-upload=false", "--yes", cosignImage)
				if out, err := stack.RunCosign(t.Context(), v2, env, args...); err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
			}
			cosign := c.Total()
			t.Logf("cosign v2 sign + attest: %s", c)

			policy := writePolicy(t, t.TempDir(), keyProvenancePolicy, map[string]string{"REGISTRY": c.Host, "PUB": prefix + ".pub"})
			digest := push(t, c.Host+"/keyed/app:1")
			for run, limit := range []int{min(maxSignAttestRequests, cosign), maxResignRequests} {
				c.Reset()
				stdout, stderr, code := runSignCLI(t, githubKeyEnv, "image", "-o", "json", "--key", prefix+".key", "--attest",
					"--tlog-upload=false", "--policy", policy, digest.String())
				var res sign.Report
				if err := json.Unmarshal([]byte(stdout), &res); err != nil || code != 0 || res.Decision == nil || !res.Decision.Allowed ||
					len(res.Signed) != 1 || len(res.Attested) != 1 {
					t.Fatalf("run %d: exit %d, want both signed and attested and the post-check allowing:\n%s\n%s", run+1, code, stdout, stderr)
				}
				t.Logf("signet run %d: %s", run+1, c)
				if n, pings := c.Total(), c.Total("ping"); n > limit || pings > 1 {
					t.Errorf("run %d: %s; want at most %d requests and one ping", run+1, c, limit)
				}
			}
		})
	}
}
