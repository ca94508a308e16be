package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/test/stack"
)

// The local Fulcio has no CT log (no SCTs) and cosign v2 cannot write to
// Rekor v2, so this trust file makes both optional; a log entry that is
// present (cosign v3's) is still verified.
const interopPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore:
  trustedRoot: TRUSTED_ROOT
  transparencyLog: optional
  certificateTransparency: optional
identities:
  - name: github-release
    keyless: {issuer: GH_ISSUER, ci: github, repository: acme/app, workflow: .github/workflows/release.yml, refs: [refs/heads/main]}
  - name: gitlab-main
    keyless: {issuer: GL_ISSUER, ci: gitlab, project: acme/platform, workflow: .gitlab-ci.yml, refs: [refs/heads/main]}
  - name: cosign-key
    key: {path: KEY_PUB}
images:
  - match: [REGISTRY/acme/**]
    signedBy: [github-release, gitlab-main, cosign-key]
  - match: [REGISTRY/strict/**]
    signedBy: [github-release]
  - match: ["**"]
    deny: not an approved registry
`

// TestCosignSignaturesVerifyWithSign: what cosign v2 (legacy .sig layout,
// RFC 3161 timestamp) and cosign v3 (Sigstore bundle referrers, Rekor v2)
// write with a key and keylessly against the real local Fulcio is accepted by
// `sign verify`, with the identity and layout the trust file expects.
func TestCosignSignaturesVerifyWithSign(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	s := stack.New(t, stack.Options{Registry: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true})
	v2, v3 := stack.CosignV2(t), stack.CosignV3(t)
	keyPath, pubPath := stack.CosignGenerateKeyPair(t, v2)
	policyPath := writePolicy(t, t.TempDir(), interopPolicy, map[string]string{
		"TRUSTED_ROOT": s.TrustedRootPath, "GH_ISSUER": s.OIDC.GitHubIssuer, "GL_ISSUER": s.OIDC.GitLabIssuer,
		"KEY_PUB": pubPath, "REGISTRY": s.Registry.Host,
	})
	ghToken, err := s.OIDC.MintGitHub(stack.DefaultGitHubClaims())
	if err != nil {
		t.Fatal(err)
	}
	glToken, err := s.OIDC.MintGitLab(stack.DefaultGitLabClaims())
	if err != nil {
		t.Fatal(err)
	}
	type signer struct {
		name     string
		sign     func(bin, image string)
		identity string
	}
	signers := []signer{
		{"key", func(bin, image string) { stack.CosignSignKey(t, bin, s, image, keyPath) }, "cosign-key"},
		{"keyless-github", func(bin, image string) { stack.CosignSignKeyless(t, bin, s, image, ghToken) }, "github-release"},
		{"keyless-gitlab", func(bin, image string) { stack.CosignSignKeyless(t, bin, s, image, glToken) }, "gitlab-main"},
	}
	for _, cosign := range []struct {
		name, bin, layout string
	}{{"cosign-v2", v2, "legacy"}, {"cosign-v3", v3, "bundle"}} {
		for _, sg := range signers {
			t.Run(cosign.name+"/"+sg.name, func(t *testing.T) {
				digest := push(t, s.Registry.Host+"/acme/"+cosign.name+"-"+sg.name+":1")
				sg.sign(cosign.bin, digest.String())
				d, code := signVerify(t, policyPath, digest.String())
				if code != 0 || !d.Allowed || len(d.Signatures) == 0 {
					t.Fatalf("sign verify denied what %s signed (exit %d): %v", cosign.name, code, d.Messages())
				}
				got := d.Signatures[0]
				if got.Identity != sg.identity || string(got.Layout) != cosign.layout {
					t.Fatalf("satisfied %s in %s layout, want %s in %s", got.Identity, got.Layout, sg.identity, cosign.layout)
				}
				// Keyless signatures carry a verified trusted time: cosign v3's a
				// Rekor v2 entry (inclusion proof), cosign v2's an RFC 3161 timestamp.
				if sg.name != "key" {
					kinds := map[string]bool{}
					for _, ts := range got.Timestamps {
						kinds[ts.Kind] = true
					}
					if cosign.name == "cosign-v3" && got.LogIndex == nil {
						t.Fatalf("cosign v3 keyless signature has no verified Rekor v2 entry")
					}
					if cosign.name == "cosign-v2" && !kinds["tsa"] {
						t.Fatalf("cosign v2 keyless signature has no verified RFC 3161 timestamp: %v", got.Timestamps)
					}
				}
			})
		}
	}

	t.Run("a real GitLab signature does not satisfy a GitHub-only rule", func(t *testing.T) {
		digest := push(t, s.Registry.Host+"/strict/app:1")
		stack.CosignSignKeyless(t, v3, s, digest.String(), glToken)
		d, code := signVerify(t, policyPath, digest.String())
		if code != 1 || d.Allowed || !strings.Contains(strings.Join(d.Messages(), " "), `identity "github-release": issuer`) {
			t.Fatalf("want a denial naming the issuer mismatch, got exit %d: %v", code, d.Messages())
		}
	})
}

// push writes a random image to ref (with registry options, e.g. auth) and
// returns its digest reference. Shared by every test and benchmark here.
func push(tb testing.TB, ref string, opts ...remote.Option) name.Digest {
	tb.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		tb.Fatal(err)
	}
	img, err := random.Image(512, 1)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		tb.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return tag.Context().Digest(h.String())
}
