package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/stack"
)

// TestAdHocFlagsAgreeWithCosign: `sign verify` with cosign's flags
// (--key, --certificate-identity[-regexp], --certificate-oidc-issuer and
// the trust flags) gives the verdict `cosign verify` gives with the very
// same flags, on the same images: what each cosign signed against the real
// local Fulcio, TSA and Rekor v2 with a key and keylessly (GitHub and
// GitLab identities), an image signed with another key, and an unsigned
// one. cosign v2 and v3 each judge what they signed (v2 reads the legacy
// layout, v3 bundles), with the stack's trust flags for that version
// (CosignVerifyArgs), and once more requiring a log entry.
func TestAdHocFlagsAgreeWithCosign(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	s := stack.New(t, stack.Options{Registry: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true})
	v2, v3 := stack.CosignV2(t), stack.CosignV3(t)
	keyPath, pubPath := stack.CosignGenerateKeyPair(t, v2)
	otherKey, _ := stack.CosignGenerateKeyPair(t, v2)
	gh := stack.DefaultGitHubClaims()
	ghToken, err := s.OIDC.MintGitHub(gh)
	if err != nil {
		t.Fatal(err)
	}
	glToken, err := s.OIDC.MintGitLab(stack.DefaultGitLabClaims())
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		args []string
	}{
		{"--key", []string{"--key=" + pubPath}},
		{"--certificate-identity (GitHub)", []string{"--certificate-identity=" + githubSAN, "--certificate-oidc-issuer=" + s.OIDC.GitHubIssuer}},
		{"--certificate-identity (GitLab)", []string{"--certificate-identity=" + gitlabSAN, "--certificate-oidc-issuer=" + s.OIDC.GitLabIssuer}},
		{"--certificate-identity-regexp", []string{"--certificate-identity-regexp=^" + regexp.QuoteMeta("https://github.com/acme/app/") + ".*$",
			"--certificate-oidc-issuer=" + s.OIDC.GitHubIssuer}},
		{"--certificate-identity of another ref", []string{"--certificate-identity=" + strings.Replace(githubSAN, "refs/heads/main", "refs/heads/dev", 1),
			"--certificate-oidc-issuer=" + s.OIDC.GitHubIssuer}},
		{"--certificate-identity with the other issuer", []string{"--certificate-identity=" + githubSAN, "--certificate-oidc-issuer=" + s.OIDC.GitLabIssuer}},
	}
	for _, cosign := range []struct{ name, bin string }{{"cosign-v2", v2}, {"cosign-v3", v3}} {
		images := map[string]string{
			"key":       push(t, s.Registry.Host+"/adhoc/"+cosign.name+"-key:1").String(),
			"other key": push(t, s.Registry.Host+"/adhoc/"+cosign.name+"-other:1").String(),
			"GitHub":    push(t, s.Registry.Host+"/adhoc/"+cosign.name+"-github:1").String(),
			"GitLab":    push(t, s.Registry.Host+"/adhoc/"+cosign.name+"-gitlab:1").String(),
			"unsigned":  push(t, s.Registry.Host+"/adhoc/"+cosign.name+"-unsigned:1").String(),
		}
		stack.CosignSignKey(t, cosign.bin, s, images["key"], keyPath)
		stack.CosignSignKey(t, cosign.bin, s, images["other key"], otherKey)
		stack.CosignSignKeyless(t, cosign.bin, s, images["GitHub"], ghToken)
		stack.CosignSignKeyless(t, cosign.bin, s, images["GitLab"], glToken)
		trust := s.CosignVerifyArgs(cosign.bin)
		strict := withoutFlags(trust, "--insecure-ignore-tlog", "--use-signed-timestamps")
		allowed := 0
		for _, tf := range []struct {
			name  string
			flags []string
		}{{"stack trust flags", trust}, {"a log entry required", strict}} {
			for _, c := range checks {
				for _, what := range []string{"key", "other key", "GitHub", "GitLab", "unsigned"} {
					name := fmt.Sprintf("%s/%s/%s/%s", cosign.name, tf.name, c.name, what)
					t.Run(name, func(t *testing.T) {
						args := append(append([]string{}, c.args...), tf.flags...)
						out, cerr := stack.CosignVerify(t, cosign.bin, images[what], args...)
						stdout, stderr, code := runSignCLI(t, nil, append(append([]string{"verify"}, args...), images[what])...)
						if code != 0 && code != 1 {
							t.Fatalf("sign verify exit %d, want a verdict (0 or 1):\n%s%s", code, stdout, stderr)
						}
						if cosignOK, signOK := cerr == nil, code == 0; cosignOK != signOK {
							t.Fatalf("cosign %v, sign verify %v (exit %d)\ncosign: %s\nsign: %s%s", cosignOK, signOK, code, out, stdout, stderr)
						}
						if code == 0 {
							allowed++
						}
					})
				}
			}
		}
		// The table is only a test if both verdicts occur: each cosign
		// accepts its key and keyless signatures under the stack's flags
		// (key, GitHub exact and regexp, GitLab), and v3's key and GitHub
		// ones with a log entry required.
		want := 4
		if cosign.name == "cosign-v3" {
			want = 8
		}
		if allowed != want {
			t.Errorf("%s: %d allowed verdicts, want %d", cosign.name, allowed, want)
		}
	}
}

func withoutFlags(args []string, drop ...string) []string {
	var out []string
	for _, a := range args {
		if name, _, _ := strings.Cut(a, "="); !slices.Contains(drop, name) {
			out = append(out, a)
		}
	}
	return out
}
