package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/signet-dev/signet/test/stack"
)

// attestPolicy requires, besides the release workflow's signature and its
// provenance, an SBOM without a denied package and a vulnerability scan
// younger than a week without a critical finding, each attested by the
// same workflow.
const attestPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore:
  trustedRoot: TRUSTED_ROOT
  transparencyLog: required
  certificateTransparency: optional
identities:
  - name: github-release
    keyless: {issuer: GH_ISSUER, ci: github, repository: acme/app, workflow: .github/workflows/release.yml, refs: [refs/heads/main]}
images:
  - name: scanned
    match: [REGISTRY/acme/**]
    signedBy: [github-release]
    provenance:
      sourceMatchesSigner: true
      conditions: ['predicate.buildDefinition.buildType == "https://actions.github.io/buildtypes/workflow/v1"']
    attestations:
      - type: cyclonedx
        conditions: ['!packages(predicate).exists(p, p.name in ["log4j-core", "xz-utils"])']
      - name: scan
        type: vuln
        maxAge: 7d
        conditions:
          - name: no-critical
            expression: '!vulnerabilities(predicate).exists(v, v.severity == "CRITICAL")'
            message: fix the critical findings, then scan again
  - match: ["**"]
    deny: not an approved registry
`

// TestAttestedInCIIsAdmittedUntilANewerScanFails: a GitHub Actions job
// signs and attests provenance (`sign image --attest`), a second step
// attaches the SBOM and a scan (`sign attest --sbom --vuln`); cosign v2
// and v3 verify those attestations (`verify-attestation --type`), the real
// kube-apiserver admits the pod through `enforce`, and a nightly re-scan
// that finds a critical vulnerability (refused by preflight unless
// --publish-failing) makes the webhook deny the next rollout.
func TestAttestedInCIIsAdmittedUntilANewerScanFails(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	s := stack.New(t, stack.Options{Registry: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true, Kube: true})
	w := &signWorld{s: s, v2: stack.CosignV2(t), v3: stack.CosignV3(t), dir: t.TempDir()}
	policyPath := writePolicy(t, w.dir, attestPolicy, map[string]string{
		"TRUSTED_ROOT": s.TrustedRootPath, "GH_ISSUER": s.OIDC.GitHubIssuer, "REGISTRY": s.Registry.Host})
	env, _ := w.githubEnv(t, stack.DefaultGitHubClaims())
	fixtures := filepath.Join("..", "..", "attest", "testdata")
	abs := func(name string) string { p, _ := filepath.Abs(filepath.Join(fixtures, name)); return p }
	digest := push(t, s.Registry.Host+"/acme/app:1.0")
	image := digest.String()
	common := []string{"--policy", policyPath, "--signing-config", s.SigningConfigPath}

	res, out, code := w.signImage(t, env, append(common, "--attest", image)...)
	if code != 0 || len(res.Pending) != 2 || !strings.Contains(out, "sign attest --vuln") {
		t.Fatalf("sign image --attest: exit %d, want 0 with the SBOM and the scan pending:\n%s", code, out)
	}
	out, code = w.sign(t, env, append(append([]string{"attest"}, common...), "--sbom", abs("cyclonedx.json"), "--vuln", abs("trivy-clean.json"), image)...)
	if code != 0 || !strings.Contains(out, "post-check") || strings.Contains(out, "DENIED") {
		t.Fatalf("sign attest --sbom --vuln: exit %d:\n%s", code, out)
	}

	for _, c := range []struct{ bin, typ string }{{w.v2, "vuln"}, {w.v2, "cyclonedx"}, {w.v3, "vuln"}, {w.v3, "cyclonedx"}} {
		if out, err := w.cosign(t, c.bin, "verify-attestation", image, githubSAN, s.OIDC.GitHubIssuer, "--type="+c.typ); err != nil {
			t.Fatalf("%s verify-attestation --type %s refused what sign attest wrote: %v\n%s", filepath.Base(c.bin), c.typ, err, out)
		}
	}
	// cosign v2 reads the bundle as soon as there is one: the .att layers of
	// a legacy-only image (its trust from RFC 3161 timestamps, since Rekor
	// v2 entries do not fit the legacy layout).
	legacy := push(t, s.Registry.Host+"/acme/legacy:1.0").String()
	legacyDir := filepath.Join(w.dir, "legacy")
	if err := os.MkdirAll(legacyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	legacyPolicy := writePolicy(t, legacyDir, strings.Replace(attestPolicy, "transparencyLog: required", "transparencyLog: optional", 1), map[string]string{
		"TRUSTED_ROOT": s.TrustedRootPath, "GH_ISSUER": s.OIDC.GitHubIssuer, "REGISTRY": s.Registry.Host})
	legacyArgs := []string{"--format", "legacy", "--policy", legacyPolicy, "--signing-config", s.SigningConfigPath}
	if _, out, code := w.signImage(t, env, append(legacyArgs, "--attest", legacy)...); code != 0 {
		t.Fatalf("sign image --attest --format legacy: exit %d:\n%s", code, out)
	}
	if out, code := w.sign(t, env, append(append([]string{"attest"}, legacyArgs...), "--sbom", abs("cyclonedx.json"), "--vuln", abs("trivy-clean.json"), legacy)...); code != 0 {
		t.Fatalf("sign attest --format legacy: exit %d:\n%s", code, out)
	}
	for _, typ := range []string{"vuln", "cyclonedx"} {
		if out, err := w.cosignV2Legacy(t, "verify-attestation", legacy, githubSAN, s.OIDC.GitHubIssuer, "--type="+typ); err != nil {
			t.Fatalf("cosign v2 verify-attestation --type %s refused the legacy .att layer: %v\n%s", typ, err, out)
		}
	}
	d := w.signVerify(t, policyPath, image)
	if !d.Allowed || len(d.Attestations) != 3 || d.ValidUntil == nil {
		t.Fatalf("sign verify: allowed=%v, %d attestations, valid until %v: %v", d.Allowed, len(d.Attestations), d.ValidUntil, d.Messages())
	}

	dir := t.TempDir()
	cert, key, caPEM := servingCert(t, dir)
	// A short cache: a newer scan reaches admission when the kept allow
	// expires (--cache-ttl, 10 minutes by default).
	port, _ := startEnforce(t, policyPath, cert, key, "--kubeconfig", s.Kube.Kubeconfig, "--cache-ttl", "1s", "--negative-cache-ttl", "1s")
	kc, err := kubernetes.NewForConfig(s.Kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	createNamespace(t, kc, "prod")
	registerWebhooks(t, kc, port, caPEM)
	create := func(name string) error {
		_, err := kc.CoreV1().Pods("prod").Create(ctx, testPod(name, nil, []string{s.Registry.Host + "/acme/app:1.0"}), metav1.CreateOptions{})
		return err
	}
	waitFor(t, 60*time.Second, "the webhook to admit the attested image", func() error { return create("web-" + randSuffix()) })

	// The nightly re-scan finds CVE-2024-3094. Preflight refuses to publish
	// it by default; a re-scan job publishes it on purpose.
	rescan := append(append([]string{"attest"}, common...), "--vuln", abs("trivy.json"), image)
	if out, code := w.sign(t, env, rescan...); code != 1 || !strings.Contains(out, "preflight REFUSED") || !strings.Contains(out, "CVE-2024-3094") {
		t.Fatalf("a failing re-scan without --publish-failing: exit %d, want preflight refusing it:\n%s", code, out)
	}
	if d := w.signVerify(t, policyPath, image); !d.Allowed {
		t.Fatalf("a refused re-scan changed the verdict: %v", d.Messages())
	}
	if out, code := w.sign(t, env, append(rescan[:1:1], append([]string{"--publish-failing"}, rescan[1:]...)...)...); code != 1 || !strings.Contains(out, "CVE-2024-3094") {
		t.Fatalf("a failing re-scan with --publish-failing: exit %d, want it published and the post-check failing:\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "the next rollout to be denied for the critical finding", func() error {
		err := create("web-" + randSuffix())
		switch {
		case err == nil:
			return fmt.Errorf("admitted")
		case !strings.Contains(err.Error(), "CVE-2024-3094") || !strings.Contains(err.Error(), `no-critical`):
			t.Fatalf("denied without naming the finding and the condition: %v", err)
		}
		return nil
	})
}
