package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/stack"
)

// BenchmarkSignAndAttest: keyless sign + SLSA v1 provenance attestation of
// one image on the local stack (distribution, Fulcio, TSA, Rekor v2), as
// whole processes, the way a CI job runs them. Each layout group pairs
// signet with cosign doing the same work: the same layouts, the same
// transparency log, the same timestamp authority, the same predicate
// (built from the token). cosign runs two processes (sign, then attest:
// two OIDC exchanges, two certificates); signet runs one `sign image
// --attest` (one certificate for both).
//
//   - legacy/cosign-v2: `cosign sign` + `cosign attest --type slsaprovenance1`,
//     Fulcio + TSA, legacy .sig/.att layout, no log (cosign v2 cannot write
//     Rekor v2, the stack's only log).
//   - legacy/signet: `sign image --attest --format=legacy --tlog-upload=false`,
//     the same Fulcio and TSA, no policy (no preflight, no post-check).
//   - bundle/cosign-v3: cosign v3 sign + attest with the stack's signing
//     config: Fulcio, a Rekor v2 entry and a TSA timestamp per bundle,
//     bundle referrers (the sha256-<hex> fallback tag on distribution).
//   - bundle/signet: `sign image --attest --format=bundle` with the same
//     signing config, no policy.
//   - both/cosign-v2+v3: both of the above cosign pairs, four processes: the
//     legacy layout without a log and the bundle layout with Rekor v2, which
//     is exactly what signet's default writes.
//   - both/signet: the default `sign image --attest` with the same signing
//     config, no policy.
//   - both/signet-postcheck: the same with the trust file: preflight and the
//     post-check (a verification cosign does not do), signet's real default.
//
// Each signet sub-benchmark reports "speedup", its group's cosign ns/op
// over its own (both from this run), and every sub-benchmark "requests",
// the registry requests per op (pings included) counted by a proxy in
// front of the registry. Each iteration signs a freshly pushed image with a
// fresh token (both made with the timer stopped).
func BenchmarkSignAndAttest(b *testing.B) {
	s := stack.New(b, stack.Options{Registry: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true})
	v2, v3 := stack.CosignV2(b), stack.CosignV3(b)
	front := newCountingRegistry(b, s.Registry.URL)
	policyPath := filepath.Join(b.TempDir(), "trust.yaml")
	pol := strings.NewReplacer("TRUSTED_ROOT", s.TrustedRootPath, "GH_ISSUER", s.OIDC.GitHubIssuer,
		"REGISTRY", front.Host).Replace(benchPolicy)
	if err := os.WriteFile(policyPath, []byte(pol), 0o644); err != nil {
		b.Fatal(err)
	}
	env := stack.CosignEnv(b)
	n := 0
	// next pushes a fresh image and mints a token and its predicate file,
	// with the timer stopped and uncounted.
	next := func(b *testing.B) (image, token, predicate string) {
		b.StopTimer()
		defer b.StartTimer()
		n++
		tok, err := s.OIDC.MintGitHub(stack.DefaultGitHubClaims())
		if err != nil {
			b.Fatal(err)
		}
		image = push(b, fmt.Sprintf("%s/acme/bench:%d", front.Host, n)).String()
		predicate = provenanceFile(b, tok)
		front.Reset()
		return image, tok, predicate
	}
	cosignV2 := func(b *testing.B, image, tok, pred string) {
		common := []string{"--yes", "--identity-token=" + tok, "--tlog-upload=false",
			"--fulcio-url=" + s.Fulcio.URL, "--insecure-skip-verify", "--timestamp-server-url=" + s.TSA.TimestampURL()}
		runCosignPair(b, v2, env, common, image, pred)
	}
	cosignV3 := func(b *testing.B, image, tok, pred string) {
		common := []string{"--yes", "--identity-token=" + tok, "--signing-config=" + s.SigningConfigPath,
			"--trusted-root=" + s.TrustedRootPath}
		runCosignPair(b, v3, env, common, image, pred)
	}
	signet := func(extra ...string) func(b *testing.B, image, tok, pred string) {
		return func(b *testing.B, image, tok, _ string) {
			args := append(append([]string{"image", "--attest"}, extra...), image)
			if stdout, stderr, code := runSignCLI(b, []string{"SIGNET_IDENTITY_TOKEN=" + tok}, args...); code != 0 {
				b.Fatalf("sign exit %d:\n%s\n%s", code, stdout, stderr)
			}
		}
	}
	var cosignNs float64
	run := func(name string, cosign bool, op func(b *testing.B, image, tok, pred string)) {
		b.Run(name, func(b *testing.B) {
			requests := 0
			for range b.N {
				image, tok, pred := next(b)
				op(b, image, tok, pred)
				requests += front.Total()
			}
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(float64(requests)/float64(b.N), "requests")
			if cosign {
				cosignNs = perOp
			} else if cosignNs > 0 {
				b.ReportMetric(cosignNs/perOp, "speedup")
			}
		})
	}
	run("legacy/cosign-v2", true, cosignV2)
	run("legacy/signet", false, signet("--format=legacy", "--tlog-upload=false", "--fulcio-url="+s.Fulcio.URL,
		"--timestamp-url="+s.TSA.TimestampURL()))
	run("bundle/cosign-v3", true, cosignV3)
	run("bundle/signet", false, signet("--format=bundle", "--signing-config="+s.SigningConfigPath))
	run("both/cosign-v2+v3", true, func(b *testing.B, image, tok, pred string) {
		cosignV2(b, image, tok, pred)
		cosignV3(b, image, tok, pred)
	})
	run("both/signet", false, signet("--signing-config="+s.SigningConfigPath))
	run("both/signet-postcheck", false, signet("--signing-config="+s.SigningConfigPath, "--policy="+policyPath))
}

// runCosignPair runs `cosign sign` then `cosign attest --type
// slsaprovenance1 --predicate pred` with the common flags.
func runCosignPair(b *testing.B, bin string, env, common []string, image, pred string) {
	b.Helper()
	if out, err := stack.RunCosign(b.Context(), bin, env, append(append([]string{"sign"}, common...), image)...); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	args := append(append([]string{"attest", "--type=slsaprovenance1", "--predicate=" + pred}, common...), image)
	if out, err := stack.RunCosign(b.Context(), bin, env, args...); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
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
