package verify_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// worldSpec is testworld.DefaultPolicy written in Go.
func worldSpec(registry string) policy.Spec {
	github := func(refs ...string) *policy.KeylessSpec {
		return &policy.KeylessSpec{Issuer: "https://token.actions.githubusercontent.com", Repository: "acme/app",
			Workflow: ".github/workflows/release.yml", Refs: refs}
	}
	r := func(pattern string) []string { return []string{registry + "/" + pattern} }
	return policy.Spec{
		Sigstore: &policy.SigstoreSpec{TrustedRoot: "trusted_root.json", TransparencyLog: policy.Optional, CertificateTransparency: policy.Required},
		Identities: []policy.IdentitySpec{
			{Name: "app-release", Keyless: github("refs/heads/main", "refs/tags/v*")},
			{Name: "app-any-ref", Keyless: github("refs/heads/*")},
			{Name: "platform-gitlab", Keyless: &policy.KeylessSpec{Issuer: "https://gitlab.com", Project: "acme/platform", Refs: []string{"refs/heads/main"}}},
			{Name: "release-key", Key: &policy.KeySpec{Path: "cosign.pub"}},
		},
		Images: []policy.RuleSpec{
			{Name: "provenance-required", Match: r("acme/prov/**"), SignedBy: []string{"app-release"},
				Provenance: &policy.ProvenanceSpec{SourceMatchesSigner: true, SourceRefs: []string{"refs/heads/main"},
					Conditions: []policy.ConditionSpec{{Name: "github-workflow-build",
						Expression: `predicate.buildDefinition.buildType == "https://actions.github.io/buildtypes/workflow/v1"`}}}},
			{Name: "two-signers", Match: r("acme/dual/**"), SignedBy: []string{"app-release", "release-key"}, Threshold: 2},
			{Name: "two-refs", Match: r("acme/tworefs/**"), SignedBy: []string{"app-any-ref", "app-release"}, Threshold: 2},
			{Name: "every-platform", Match: r("acme/multi/**"), SignedBy: []string{"app-release"}, Platforms: policy.PlatformsAll},
			{Name: "attested", Match: r("acme/attested/**"), SignedBy: []string{"app-release"}, Attestations: []policy.AttestationSpec{
				{Type: "vuln", MaxAge: "1h", Conditions: []policy.ConditionSpec{{Name: "no-critical",
					Expression: `!vulnerabilities(predicate).exists(v, v.severity == "CRITICAL")`,
					Message:    "fix the critical vulnerabilities (or suppress them in the scanner), then scan again"}}},
				{Type: "cyclonedx", Conditions: []policy.ConditionSpec{{Name: "conditions[0]",
					Expression: `!packages(predicate).exists(p, p.name in ["log4j-core", "xz-utils"])`}}},
			}},
			{Name: "costly", Match: r("acme/costly/**"), SignedBy: []string{"app-release"}, Attestations: []policy.AttestationSpec{
				{Type: "https://example.com/pairs/v1", Conditions: []policy.ConditionSpec{{Name: "item-names",
					Expression: `predicate.items.all(x, predicate.items.all(y, y.startsWith("item-")))`}}},
			}},
			{Name: "acme", Match: r("acme/**"), SignedBy: []string{"app-release", "platform-gitlab", "release-key"}},
			{Name: "third-party", Match: r("vendor/**"), Signature: policy.Optional},
			{Name: "no-nginx", Match: []string{"docker.io/library/nginx"}, Deny: "nginx is retired here; use " + registry + "/vendor/nginx"},
			{Name: "default-deny", Match: []string{"**"}, Deny: "only images from approved registries may run"},
		},
	}
}

// TestPolicyBuiltInGoDecidesAsTheFile: the specification's trust file built
// with policy.New has the file's hash, and the engine decides every case of
// the specification the same way under both.
func TestPolicyBuiltInGoDecidesAsTheFile(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	fromFile, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	fromGo, err := policy.New(worldSpec(w.Registry), policy.WithBaseDir(w.Dir), policy.WithSource(w.PolicyPath))
	if err != nil {
		t.Fatal(err)
	}
	if fromGo.Hash != fromFile.Hash {
		t.Fatalf("built in Go: hash %s, the file's is %s", fromGo.Hash, fromFile.Hash)
	}
	v := verify.New()
	ctx := context.Background()
	for _, c := range testworld.Cases {
		t.Run(c.Name, func(t *testing.T) {
			image := c.Setup(w, ocisig.LayoutBundle)
			a, b := v.Verify(ctx, image, fromFile), v.Verify(ctx, image, fromGo)
			if a.Allowed != b.Allowed || !slices.Equal(a.Messages(), b.Messages()) || b.Allowed != c.Allow {
				t.Fatalf("file: allowed=%v %v\ngo:   allowed=%v %v", a.Allowed, a.Messages(), b.Allowed, b.Messages())
			}
		})
	}
}

// TestPolicyBuiltInGoIsValidatedAsAFile: New refuses what a trust file may
// not say, with the field's path, through the file's own checks.
func TestPolicyBuiltInGoIsValidatedAsAFile(t *testing.T) {
	s := policy.Spec{
		Identities: []policy.IdentitySpec{{Name: "wide", Keyless: &policy.KeylessSpec{Issuer: "https://token.actions.githubusercontent.com", Repository: "*/*"}}},
		Images:     []policy.RuleSpec{{Match: []string{"ghcr.io/acme/**"}, SignedBy: []string{"wide", "nobody"}}},
	}
	_, err := policy.New(s)
	var le *policy.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("want a *LoadError, got %v", err)
	}
	fields := map[string]bool{}
	for _, fe := range le.Errors {
		fields[fe.Field] = true
	}
	if !fields["identities[0].keyless.repository"] || !fields["images[0].signedBy[1]"] {
		t.Fatalf("want the owner-wide repository and the undefined identity refused by field, got %v", err)
	}
}
