package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/test/stack"
)

// TestResigningSeventyTimesKeepsOneSignaturePerLayout: a CI job that is
// re-run runs the same `sign image --attest` again. 70 runs (readers
// accept 64 entries per layout) on distribution (referrers through the
// sha256-<hex> tag) and on a registry with the referrers API: every run
// passes its post-check and says it replaced its own earlier entries, each
// layout ends with one signature and one attestation, and cosign v2 and v3
// still verify the result.
func TestResigningSeventyTimesKeepsOneSignaturePerLayout(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	w := newSignWorld(t)
	api, srv := stack.NewRegistry()
	t.Cleanup(srv.Close)
	dir := filepath.Join(w.dir, "resign")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	policy := writePolicy(t, dir, signPolicy, map[string]string{
		"TRUSTED_ROOT": w.s.TrustedRootPath, "GH_ISSUER": w.s.OIDC.GitHubIssuer, "GL_ISSUER": w.s.OIDC.GitLabIssuer,
		"REGISTRY": w.s.Registry.Host, "FRONT": api.Host, "SIGNET_PUB": w.signetPub, "COSIGN_PUB": w.cosignPub, "TLOG": "required",
	})
	env, _ := w.githubEnv(t, stack.DefaultGitHubClaims())
	for _, reg := range []struct {
		name string
		r    *stack.Registry
	}{{"distribution, referrers tag", w.s.Registry}, {"referrers API", api}} {
		t.Run(reg.name, func(t *testing.T) {
			t.Parallel()
			digest := push(t, reg.r.Host+"/acme/rerun:1")
			for i := range 70 {
				stdout, stderr, code := runSignCLI(t, env, "image", "-o", "json", "--attest", "--policy", policy,
					"--signing-config", w.s.SigningConfigPath, digest.String())
				var res sign.Report
				if err := json.Unmarshal([]byte(stdout), &res); err != nil || code != 0 || res.Decision == nil || !res.Decision.Allowed {
					t.Fatalf("run %d: exit %d:\n%s\n%s", i+1, code, stdout, stderr)
				}
				want := ocisig.ActionReplaced
				if i == 0 {
					want = ocisig.ActionAdded
				}
				for _, a := range append(res.Signed, res.Attested...) {
					if a.BundleWrite == nil || a.LegacyWrite == nil || a.BundleWrite.Action != want || a.LegacyWrite.Action != want {
						t.Fatalf("run %d: want %s in both layouts:\n%s", i+1, want, stdout)
					}
				}
			}
			found, err := ocisig.Fetch(context.Background(), digest)
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, l := range found.Legacy {
				count["legacy "+string(l.Kind)]++
			}
			for _, b := range found.Bundles {
				count["bundle "+b.PredicateType]++
			}
			for _, k := range []string{"legacy signature", "legacy attestation", "bundle " + ocisig.CosignSignPredicateType, "bundle https://slsa.dev/provenance/v1"} {
				if count[k] != 1 {
					t.Errorf("%s: %d entries after 70 runs, want 1 (all: %v)", k, count[k], count)
				}
			}
			image := digest.String()
			for _, c := range []struct{ bin, cmd string }{{w.v2, "verify"}, {w.v2, "verify-attestation"}, {w.v3, "verify"}, {w.v3, "verify-attestation"}} {
				var extra []string
				if c.cmd == "verify-attestation" {
					extra = []string{"--type=slsaprovenance1"}
				}
				if out, err := w.cosign(t, c.bin, c.cmd, image, githubSAN, w.s.OIDC.GitHubIssuer, extra...); err != nil {
					t.Fatalf("%s %s refused the re-signed image: %v\n%s", filepath.Base(c.bin), c.cmd, err, out)
				}
			}
		})
	}
}
