package stack_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/test/stack"
)

// cosign v2 and v3 are the interop arbiters: they must sign against the local stack
// and accept their own signatures, and reject a different identity.
func TestCosignSignsAndVerifiesAgainstLocalStack(t *testing.T) {
	s := sharedStack(t)
	for _, cli := range []struct {
		name string
		bin  func(testing.TB) string
	}{{"cosign v2", stack.CosignV2}, {"cosign v3", stack.CosignV3}} {
		t.Run(cli.name, func(t *testing.T) {
			bin := cli.bin(t)
			t.Run("key", func(t *testing.T) {
				image := pushRandom(t, s, "acme/key")
				key, pub := stack.CosignGenerateKeyPair(t, bin)
				stack.CosignSignKey(t, bin, s, image, key)
				if out, err := stack.CosignVerifyKey(t, bin, s, image, pub); err != nil {
					t.Fatal(err)
				} else {
					t.Log(out)
				}
				_, otherPub := stack.CosignGenerateKeyPair(t, bin)
				if _, err := stack.CosignVerifyKey(t, bin, s, image, otherPub); err == nil {
					t.Fatal("verify accepted a signature made with a different key")
				}
			})
			t.Run("keyless github", func(t *testing.T) {
				image := pushRandom(t, s, "acme/app")
				tok, err := s.OIDC.MintGitHub(stack.GitHubClaims{})
				if err != nil {
					t.Fatal(err)
				}
				stack.CosignSignKeyless(t, bin, s, image, tok)
				san := "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
				if _, err := stack.CosignVerifyKeyless(t, bin, s, image, san, s.OIDC.GitHubIssuer); err != nil {
					t.Fatal(err)
				}
				if _, err := stack.CosignVerifyKeyless(t, bin, s, image, "https://github.com/acme-evil/app/.github/workflows/release.yml@refs/heads/main", s.OIDC.GitHubIssuer); err == nil {
					t.Fatal("verify accepted a different workflow identity")
				}
			})
			t.Run("keyless gitlab", func(t *testing.T) {
				image := pushRandom(t, s, "acme/platform")
				tok, err := s.OIDC.MintGitLab(stack.GitLabClaims{})
				if err != nil {
					t.Fatal(err)
				}
				stack.CosignSignKeyless(t, bin, s, image, tok)
				san := "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main"
				if _, err := stack.CosignVerifyKeyless(t, bin, s, image, san, s.OIDC.GitLabIssuer); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// pushRandom pushes a random image and returns its digest reference.
func pushRandom(t *testing.T, s *stack.Stack, repo string) string {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(s.Registry.Host + "/" + repo + "@" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return ref.String()
}
