package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/test/stack"
)

// TestCosignV2AttestationWithTimestampOnlyVerifiesWithSign: cosign v2
// `attest` keyless with an RFC 3161 timestamp and no transparency log writes
// a legacy .att layer whose timestamp covers the envelope JSON (the layer's
// payload), not the DSSE signature. `sign verify` must accept it under a
// rule that requires provenance: the timestamp is the only trusted time.
func TestCosignV2AttestationWithTimestampOnlyVerifiesWithSign(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	w := newSignWorld(t)
	tok, err := w.s.OIDC.MintGitHub(stack.DefaultGitHubClaims())
	if err != nil {
		t.Fatal(err)
	}
	predicate := provenanceFile(t, tok)
	digest := push(t, w.s.Registry.Host+"/acme/cosign-attested:1")
	stack.CosignSignKeyless(t, w.v2, w.s, digest.String(), tok)
	args := []string{"attest", "--yes", "--identity-token=" + tok, "--type=slsaprovenance1", "--predicate=" + predicate,
		"--tlog-upload=false", "--fulcio-url=" + w.s.Fulcio.URL, "--insecure-skip-verify", "--timestamp-server-url=" + w.s.TSA.TimestampURL()}
	if out, err := stack.RunCosign(t.Context(), w.v2, stack.CosignEnv(t), append(args, digest.String())...); err != nil {
		t.Fatalf("cosign attest: %v\n%s", err, out)
	}
	// cosign itself accepts it, so the material is what cosign v2 writes.
	if out, err := w.cosignV2Legacy(t, "verify-attestation", digest.String(), githubSAN, w.s.OIDC.GitHubIssuer, "--type=slsaprovenance1"); err != nil {
		t.Fatalf("cosign v2 verify-attestation: %v\n%s", err, out)
	}
	d := w.signVerify(t, w.tlogOptional, digest.String())
	if !d.Allowed || len(d.Attestations) != 1 {
		t.Fatalf("sign verify denied cosign v2's timestamped attestation: %v (rejected: %v)", d.Messages(), d.Rejected)
	}
	if a := d.Attestations[0]; a.Layout != "legacy" || a.Identity != "github-release" || a.SourceRepository != "https://github.com/acme/app" {
		t.Fatalf("attestation %+v, want the legacy layer by github-release from https://github.com/acme/app", a)
	}
}

// provenanceFile writes the SLSA v1 predicate signet would build for the
// token's run, for tools that take --predicate FILE.
func provenanceFile(t testing.TB, token string) string {
	t.Helper()
	claims, err := ci.ParseToken(token)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := attest.FromCI(ci.MapEnv(nil), claims)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(prov)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "provenance.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
