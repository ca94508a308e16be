package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/stack"
)

// BenchmarkSignAndAttest: keyless sign + SLSA provenance attestation of one
// image on the local stack, the way a CI job does it.
//
//   - cosign-v2: `cosign sign` then `cosign attest --type slsaprovenance1
//     --predicate FILE` (two processes, two OIDC exchanges and two Fulcio
//     certificates), Fulcio + TSA, legacy layout, no log (cosign v2 cannot
//     write to Rekor v2).
//   - signet: one `sign image --attest` doing the same work: Fulcio + TSA,
//     legacy layout, no log, the same predicate (built from the token), no
//     policy. Its "speedup" metric is cosign-v2's ns/op over its own.
//   - signet-default: what `sign image --attest` does by default with the
//     stack's signing config and a trust file: both layouts, Rekor v2
//     entries, preflight and the post-check. More work than cosign does;
//     "speedup" is reported against cosign-v2 all the same.
//
// Each iteration signs a freshly pushed image with a fresh token (both made
// with the timer stopped). Run cosign-v2 first: the signet sub-benchmarks
// read its last ns/op.
func BenchmarkSignAndAttest(b *testing.B) {
	s := stack.New(b, stack.Options{Registry: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true})
	v2 := stack.CosignV2(b)
	policyPath := filepath.Join(b.TempDir(), "trust.yaml")
	pol := strings.NewReplacer("TRUSTED_ROOT", s.TrustedRootPath, "GH_ISSUER", s.OIDC.GitHubIssuer,
		"REGISTRY", s.Registry.Host).Replace(benchPolicy)
	if err := os.WriteFile(policyPath, []byte(pol), 0o644); err != nil {
		b.Fatal(err)
	}
	env := stack.CosignEnv(b)
	n := 0
	next := func(b *testing.B) (image, token string) {
		b.StopTimer()
		defer b.StartTimer()
		n++
		tok, err := s.OIDC.MintGitHub(stack.DefaultGitHubClaims())
		if err != nil {
			b.Fatal(err)
		}
		return push(b, fmt.Sprintf("%s/acme/bench:%d", s.Registry.Host, n)).String(), tok
	}
	predicate := func(b *testing.B, tok string) string {
		b.StopTimer()
		defer b.StartTimer()
		return provenanceFile(b, tok)
	}
	var cosignNs float64
	perOp := func(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }

	b.Run("cosign-v2", func(b *testing.B) {
		for range b.N {
			image, tok := next(b)
			pred := predicate(b, tok)
			common := []string{"--yes", "--identity-token=" + tok, "--tlog-upload=false",
				"--fulcio-url=" + s.Fulcio.URL, "--insecure-skip-verify", "--timestamp-server-url=" + s.TSA.TimestampURL()}
			if out, err := stack.RunCosign(b.Context(), v2, env, append(append([]string{"sign"}, common...), image)...); err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			args := append(append([]string{"attest", "--type=slsaprovenance1", "--predicate=" + pred}, common...), image)
			if out, err := stack.RunCosign(b.Context(), v2, env, args...); err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
		}
		cosignNs = perOp(b)
	})
	signet := func(extra ...string) func(b *testing.B) {
		return func(b *testing.B) {
			for range b.N {
				image, tok := next(b)
				args := append(append([]string{"image", "--attest"}, extra...), image)
				if stdout, stderr, code := runSignCLI(b, []string{"SIGNET_IDENTITY_TOKEN=" + tok}, args...); code != 0 {
					b.Fatalf("sign exit %d:\n%s\n%s", code, stdout, stderr)
				}
			}
			if cosignNs > 0 {
				b.ReportMetric(cosignNs/perOp(b), "speedup")
			}
		}
	}
	b.Run("signet", signet("--format=legacy", "--tlog-upload=false", "--fulcio-url="+s.Fulcio.URL,
		"--timestamp-url="+s.TSA.TimestampURL()))
	b.Run("signet-default", signet("--signing-config="+s.SigningConfigPath, "--policy="+policyPath))
}

// benchPolicy is the keyless half of signPolicy: a Rekor v2 entry and
// provenance from the signer's repository are required.
const benchPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore:
  trustedRoot: TRUSTED_ROOT
  transparencyLog: required
  certificateTransparency: optional
identities:
  - name: github-release
    keyless: {issuer: GH_ISSUER, ci: github, repository: acme/app, workflow: .github/workflows/release.yml, refs: [refs/heads/main]}
images:
  - match: [REGISTRY/acme/**]
    signedBy: [github-release]
    provenance: {required: true, sourceMatchesSigner: true}
`
