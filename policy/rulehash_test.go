package policy

import (
	"strings"
	"testing"
)

const ruleHashBase = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore: {trustedRoot: public-good}
identities:
  - name: app-release
    keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app, workflow: .github/workflows/release.yml, refs: [refs/heads/main]}
  - name: tools-release
    keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/tools, workflow: .github/workflows/release.yml, refs: [refs/heads/main]}
images:
  - name: acme-apps
    match: ["ghcr.io/acme/app/**"]
    signedBy: [app-release]
    provenance: {required: true}
  - name: acme-tools
    match: ["ghcr.io/acme/tools/**"]
    signedBy: [tools-release]
  - {name: rest, match: ["**"], deny: "no"}
enforcement:
  mode: enforce
  namespaces: {audit: [dev]}
`

// TestRuleHash: a rule's hash changes exactly when what it decides about a
// digest can change, so the background verifier re-verifies only that.
func TestRuleHash(t *testing.T) {
	base := ruleHashOf(t, ruleHashBase)
	for _, tc := range []struct {
		name        string
		old, new    string
		wantChanged bool
	}{
		{"another rule's identity changes: same", "repository: acme/tools,", "repository: acme/tools2,", false},
		{"another rule's signers change: same", "signedBy: [tools-release]", "signedBy: [tools-release, app-release]", false},
		{"a rule is added before it: same", "images:\n", "images:\n  - {name: new, match: [\"quay.io/**\"], signature: optional}\n", false},
		{"its match patterns grow: same", `match: ["ghcr.io/acme/app/**"]`, `match: ["ghcr.io/acme/app/**", "ghcr.io/acme/app2/**"]`, false},
		{"the namespaces change: same", "audit: [dev]", "audit: [dev, staging]", false},
		{"its identity's refs change", "refs: [refs/heads/main]}\n  - name: tools", "refs: [refs/heads/*]}\n  - name: tools", true},
		{"its provenance requirement changes", "provenance: {required: true}", "provenance: {required: true, sourceMatchesSigner: true}", true},
		{"the sigstore section changes", "sigstore: {trustedRoot: public-good}", "sigstore: {trustedRoot: public-good, signedTimestamps: required}", true},
		{"the policy's mode changes", "mode: enforce", "mode: audit", true},
		{"its own mode changes", "provenance: {required: true}", "provenance: {required: true}\n    mode: audit", true},
		{"it is renamed (reasons name it)", "name: acme-apps", "name: apps", true},
		{"its provenance gains a condition", "provenance: {required: true}", `provenance: {required: true, conditions: ["predicate.buildDefinition.buildType != ''"]}`, true},
		{"it requires an attestation", "provenance: {required: true}", "provenance: {required: true}\n    attestations: [{type: vuln}]", true},
		{"an attestation it requires is signed by another rule's identity, which changes",
			"provenance: {required: true}", "provenance: {required: true}\n    attestations: [{type: vuln, signedBy: [tools-release]}]", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(ruleHashBase, tc.old) {
				t.Fatalf("base policy has no %q", tc.old)
			}
			got := ruleHashOf(t, strings.Replace(ruleHashBase, tc.old, tc.new, 1))
			if changed := got != base; changed != tc.wantChanged {
				t.Errorf("rule hash changed = %v, want %v", changed, tc.wantChanged)
			}
		})
	}
	// What a required attestation reads is part of its rule's hash: its
	// condition, maxAge, and the identities that sign it.
	withScan := strings.Replace(ruleHashBase, "provenance: {required: true}", `provenance: {required: true}
    attestations:
      - type: vuln
        signedBy: [tools-release]
        maxAge: 7d
        conditions: ["!vulnerabilities(predicate).exists(v, v.severity == 'CRITICAL')"]`, 1)
	scanBase := ruleHashOf(t, withScan)
	for _, tc := range []struct{ name, old, new string }{
		{"its condition changes", "'CRITICAL'", "'HIGH'"},
		{"its maxAge changes", "maxAge: 7d", "maxAge: 8d"},
		{"its signer's identity changes", "repository: acme/tools,", "repository: acme/tools2,"},
	} {
		t.Run("required attestation: "+tc.name, func(t *testing.T) {
			if got := ruleHashOf(t, strings.Replace(withScan, tc.old, tc.new, 1)); got == scanBase {
				t.Errorf("rule hash did not change")
			}
		})
	}
}

// ruleHashOf is the hash of the rule governing ghcr.io/acme/app/web.
func ruleHashOf(t *testing.T, src string) string {
	t.Helper()
	p, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Rules {
		if r.Hash == "" {
			t.Fatalf("rule %s has no hash", r.Name)
		}
	}
	m, err := p.Match("ghcr.io/acme/app/web")
	if err != nil {
		t.Fatal(err)
	}
	return m.Rule.Hash
}
