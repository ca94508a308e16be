package stack_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/signet-dev/signet/test/stack"
)

// Certificates from our Fulcio must carry exactly what real GitHub/GitLab tokens produce,
// or identity matching tested against them proves nothing about production.
func TestFulcioIssuesCIIdentityCertificates(t *testing.T) {
	s := sharedStack(t)
	ghTok, err := s.OIDC.MintGitHub(stack.GitHubClaims{})
	if err != nil {
		t.Fatal(err)
	}
	glTok, err := s.OIDC.MintGitLab(stack.GitLabClaims{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
		want  certificate.Summary
	}{
		{"github workflow identity", ghTok, certificate.Summary{
			CertificateIssuer:      "sigstore-intermediate", // placeholder, not compared
			SubjectAlternativeName: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
			Extensions: certificate.Extensions{
				Issuer:                              s.OIDC.GitHubIssuer,
				GithubWorkflowTrigger:               "push",
				GithubWorkflowSHA:                   stack.DefaultSHA,
				GithubWorkflowName:                  "release",
				GithubWorkflowRepository:            "acme/app",
				GithubWorkflowRef:                   "refs/heads/main",
				BuildSignerURI:                      "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
				BuildSignerDigest:                   stack.DefaultSHA,
				RunnerEnvironment:                   "github-hosted",
				SourceRepositoryURI:                 "https://github.com/acme/app",
				SourceRepositoryDigest:              stack.DefaultSHA,
				SourceRepositoryRef:                 "refs/heads/main",
				SourceRepositoryIdentifier:          "700000001",
				SourceRepositoryOwnerURI:            "https://github.com/acme",
				SourceRepositoryOwnerIdentifier:     "70000001",
				BuildConfigURI:                      "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
				BuildConfigDigest:                   stack.DefaultSHA,
				BuildTrigger:                        "push",
				RunInvocationURI:                    "https://github.com/acme/app/actions/runs/9000000001/attempts/1",
				SourceRepositoryVisibilityAtSigning: "private",
			},
		}},
		{"gitlab pipeline identity with double-slash SAN", glTok, certificate.Summary{
			SubjectAlternativeName: "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main",
			Extensions: certificate.Extensions{
				Issuer:                              s.OIDC.GitLabIssuer,
				BuildSignerURI:                      "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main",
				BuildSignerDigest:                   stack.DefaultSHA,
				RunnerEnvironment:                   "gitlab-hosted",
				SourceRepositoryURI:                 "https://gitlab.com/acme/platform",
				SourceRepositoryDigest:              stack.DefaultSHA,
				SourceRepositoryRef:                 "refs/heads/main",
				SourceRepositoryIdentifier:          "800000001",
				SourceRepositoryOwnerURI:            "https://gitlab.com/acme",
				SourceRepositoryOwnerIdentifier:     "80000001",
				BuildConfigURI:                      "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main",
				BuildConfigDigest:                   stack.DefaultSHA,
				BuildTrigger:                        "push",
				RunInvocationURI:                    "https://gitlab.com/acme/platform/-/jobs/8800000001",
				SourceRepositoryVisibilityAtSigning: "private",
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			chain, err := s.Fulcio.RequestCertificate(context.Background(), tc.token, key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := certificate.SummarizeCertificate(chain[0])
			if err != nil {
				t.Fatal(err)
			}
			if got.SubjectAlternativeName != tc.want.SubjectAlternativeName {
				t.Errorf("SAN = %q, want %q", got.SubjectAlternativeName, tc.want.SubjectAlternativeName)
			}
			if got.Extensions != tc.want.Extensions {
				t.Errorf("extensions:\n got %+v\nwant %+v", got.Extensions, tc.want.Extensions)
			}
		})
	}
}
