package citest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
)

func exampleTrust(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.LoadFile(filepath.Join(repoRoot(t), "examples", "trust.yaml"))
	if err != nil {
		t.Fatalf("examples/trust.yaml does not load: %v", err)
	}
	return p
}

// TestExampleTrustRules: each example image is governed by the rule the
// walkthrough says, and anything else is denied.
func TestExampleTrustRules(t *testing.T) {
	p := exampleTrust(t)
	cases := []struct {
		image, rule string
		signers     []string
	}{
		{"ghcr.io/acme/hello:v1.0.0", "hello-ghcr", []string{"hello-release", "hello-build"}},
		{"registry.gitlab.com/acme/hello@sha256:" + zeros, "hello-gitlab", []string{"hello-gitlab"}},
		{"registry.k8s.io/pause:3.10", "kubernetes", nil},
		{"docker.io/library/nginx:latest", "everything-else", nil},
		{"ghcr.io/acme/hello-evil:v1", "everything-else", nil},
	}
	for _, c := range cases {
		m, err := p.Match(c.image)
		if err != nil {
			t.Errorf("%s: %v", c.image, err)
			continue
		}
		var signers []string
		for _, id := range m.Rule.SignedBy {
			signers = append(signers, id.Name)
		}
		if m.Rule.Name != c.rule || !slices.Equal(signers, c.signers) {
			t.Errorf("%s: got rule %q signed by %v, want %q signed by %v", c.image, m.Rule.Name, signers, c.rule, c.signers)
		}
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

// githubCert is the certificate Fulcio issues to acme/hello's release
// workflow calling signet's reusable workflow at signerRef, for sourceRef.
func githubCert(repo, signerRepo, workflow, signerRef, sourceRef string) certificate.Summary {
	return certificate.Summary{
		CertificateIssuer:      "CN=sigstore-intermediate,O=sigstore.dev",
		SubjectAlternativeName: "https://github.com/" + signerRepo + "/" + workflow + "@" + signerRef,
		Extensions: certificate.Extensions{
			Issuer:              "https://token.actions.githubusercontent.com",
			BuildSignerURI:      "https://github.com/" + signerRepo + "/" + workflow + "@" + signerRef,
			SourceRepositoryURI: "https://github.com/" + repo,
			SourceRepositoryRef: sourceRef,
			RunnerEnvironment:   "github-hosted",
			BuildTrigger:        "push",
		},
	}
}

func gitlabCert(project, ref string) certificate.Summary {
	san := "https://gitlab.com/" + project + "//.gitlab-ci.yml@" + ref
	return certificate.Summary{
		SubjectAlternativeName: san,
		Extensions: certificate.Extensions{
			Issuer:              "https://gitlab.com",
			BuildSignerURI:      san,
			SourceRepositoryURI: "https://gitlab.com/" + project,
			SourceRepositoryRef: ref,
			RunnerEnvironment:   "gitlab-hosted",
			BuildTrigger:        "push",
		},
	}
}

// TestExampleTrustIdentities: the identities the example pipelines produce
// are accepted, and the near misses an attacker controls are not. These are
// the identities ci-templates/github/README.md and ci-templates/gitlab/README.md
// tell users to pin.
func TestExampleTrustIdentities(t *testing.T) {
	p := exampleTrust(t)
	const reusable = ".github/workflows/reusable-release.yml"
	cases := []struct {
		name, identity string
		cert           certificate.Summary
		wantField      string // "" = accepted
	}{
		{"reusable workflow at v0.2.0 from main is accepted", "hello-release",
			githubCert("acme/hello", "signet-dev/signet", reusable, "refs/tags/v0.2.0", "refs/heads/main"), ""},
		{"reusable workflow at v0.2.0 from a release tag is accepted", "hello-release",
			githubCert("acme/hello", "signet-dev/signet", reusable, "refs/tags/v0.2.0", "refs/tags/v1.2.0"), ""},
		{"reusable workflow at a tag the trust file does not name is refused", "hello-release",
			githubCert("acme/hello", "signet-dev/signet", reusable, "refs/tags/v0.3.0", "refs/heads/main"), "signerRefs"},
		{"reusable workflow from a fork of signet is refused", "hello-release",
			githubCert("acme/hello", "evil/signet", reusable, "refs/tags/v0.2.0", "refs/heads/main"), "workflow"},
		{"reusable workflow at an unreviewed branch is refused", "hello-release",
			githubCert("acme/hello", "signet-dev/signet", reusable, "refs/heads/dev", "refs/heads/main"), "signerRefs"},
		{"another repository calling the reusable workflow is refused", "hello-release",
			githubCert("acme/hello-evil", "signet-dev/signet", reusable, "refs/tags/v0.2.0", "refs/heads/main"), "repository"},
		{"the caller's feature branch is refused", "hello-release",
			githubCert("acme/hello", "signet-dev/signet", reusable, "refs/tags/v0.2.0", "refs/heads/feature"), "refs"},
		{"one-job build workflow on main is accepted", "hello-build",
			githubCert("acme/hello", "acme/hello", ".github/workflows/build.yml", "refs/heads/main", "refs/heads/main"), ""},
		{"another workflow of the same repository is refused", "hello-build",
			githubCert("acme/hello", "acme/hello", ".github/workflows/debug.yml", "refs/heads/main", "refs/heads/main"), "workflow"},
		{"GitLab pipeline of acme/hello on main is accepted", "hello-gitlab", gitlabCert("acme/hello", "refs/heads/main"), ""},
		{"GitLab pipeline of a look-alike project is refused", "hello-gitlab", gitlabCert("acme/hello-evil", "refs/heads/main"), "repository"},
		{"GitLab pipeline on a feature branch is refused", "hello-gitlab", gitlabCert("acme/hello", "refs/heads/feature"), "refs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, ok := p.Identity(c.identity)
			if !ok {
				t.Fatalf("no identity %q", c.identity)
			}
			m := id.MatchCertificate(c.cert)
			switch {
			case c.wantField == "" && m != nil:
				t.Errorf("refused: %v", m)
			case c.wantField != "" && m == nil:
				t.Errorf("accepted; want a mismatch on %s", c.wantField)
			case c.wantField != "" && m.Field != c.wantField:
				t.Errorf("mismatch on %s (%v); want %s", m.Field, m, c.wantField)
			}
		})
	}
}

// TestExampleAttestationsTrust: examples/attestations/trust.yaml loads,
// and its conditions decide the README's examples: the sample scan with a
// critical finding is refused by the preflight of the run that would
// attach it, a clean scan and the sample SBOM pass.
func TestExampleAttestationsTrust(t *testing.T) {
	p, err := policy.LoadFile(filepath.Join(repoRoot(t), "examples", "attestations", "trust.yaml"))
	if err != nil {
		t.Fatalf("examples/attestations/trust.yaml does not load: %v", err)
	}
	if len(p.Warnings) > 0 {
		t.Fatalf("warnings: %v", p.Warnings)
	}
	cert := githubCert("acme/app", "acme/app", ".github/workflows/release.yml", "refs/tags/v1.4.2", "refs/tags/v1.4.2")
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), "attest", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sbom, err := attest.SBOM(fixture("cyclonedx.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		scan string
		ok   bool
	}{{"trivy.json", false}, {"grype.json", false}, {"trivy-clean.json", true}} {
		scan, err := attest.Vuln(fixture(c.scan), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		r := sign.Preflight(p, "ghcr.io/acme/app:v1.4.2", sign.Signer{Certificate: &cert}, []attest.Predicate{sbom, scan})
		if r.OK != c.ok || len(r.Problems) != 0 {
			t.Errorf("%s: ok=%v problems=%v conditions=%v, want ok=%v", c.scan, r.OK, r.Problems, r.Conditions, c.ok)
		}
	}
}
