package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustLoad(t *testing.T, path string) *Policy {
	t.Helper()
	p, err := LoadFile(path)
	if err != nil {
		t.Fatalf("LoadFile(%s): %v", path, err)
	}
	return p
}

func TestLoadCompleteExample(t *testing.T) {
	p := mustLoad(t, "testdata/trust.yaml")
	if len(p.Identities) != 3 || len(p.Rules) != 4 {
		t.Fatalf("got %d identities, %d rules", len(p.Identities), len(p.Rules))
	}
	gh, _ := p.Identity("app-release")
	if gh.Keyless.CI != CIGitHub || gh.Keyless.ServerURL != "https://github.com" {
		t.Errorf("GitHub issuer did not infer ci/server: %+v", gh.Keyless)
	}
	gl, _ := p.Identity("platform-gitlab")
	if gl.Keyless.Repository.String() != "acme/platform" || gl.Keyless.CI != CIGitLab {
		t.Errorf("project alias not applied: %+v", gl.Keyless)
	}
	key, _ := p.Identity("release-key")
	if key.Key.PublicKey == nil || len(key.Key.KeyID) != 64 {
		t.Errorf("key not parsed: %+v", key.Key)
	}
	r := p.Rules[0]
	if r.Provenance == nil || !r.Provenance.SourceMatchesSigner || len(r.Provenance.SignedBy) != 2 {
		t.Errorf("provenance defaults wrong: %+v", r.Provenance)
	}
	if p.Enforcement.Mode != ModeEnforce || p.Sigstore.TrustedRoot != PublicGood {
		t.Errorf("defaults wrong: %+v %+v", p.Enforcement, p.Sigstore)
	}
	if !strings.HasPrefix(p.Hash, "sha256:") {
		t.Errorf("hash %q", p.Hash)
	}
}

const header = "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\n"

// Each case is a trust file that must be refused, and the located message a
// user must see. Line numbers count the two-line header.
func TestLoadErrors(t *testing.T) {
	const gh = "identities:\n- name: gh\n  keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app}\n"
	cases := []struct {
		name, body, want string
	}{
		{"unknown top-level field", "imagez: []\nimages: [{match: ['**'], deny: no}]\n",
			`t.yaml:3:1: imagez: unknown field "imagez" (did you mean "images"?)`},
		{"unknown nested field", gh[:len(gh)-2] + ", refz: [main]}\nimages: [{match: ['**'], signedBy: [gh]}]\n",
			`t.yaml:5:88: identities[0].keyless.refz: unknown field "refz" (did you mean "refs"?)`},
		{"duplicate identity", gh + "- name: gh\n  key: {kms: 'awskms:///alias/x'}\nimages: [{match: ['**'], signedBy: [gh]}]\n",
			`t.yaml:6:9: identities[1].name: duplicate identity name "gh"`},
		{"undefined identity", gh + "images: [{match: ['**'], signedBy: [gj]}]\n",
			`t.yaml:6:37: images[0].signedBy[0]: undefined identity "gj" (did you mean "gh"?)`},
		{"malformed glob", gh + "images: [{match: ['ghcr.io//x'], signedBy: [gh]}]\n",
			`t.yaml:6:19: images[0].match[0]: pattern "ghcr.io//x" has an empty segment`},
		{"character class glob", gh + "images: [{match: ['ghcr.io/[ab]'], signedBy: [gh]}]\n",
			`images[0].match[0]: pattern "ghcr.io/[ab]": '[' is not supported`},
		{"http issuer", "identities:\n- name: x\n  keyless: {issuer: http://issuer.example, subject: a}\nimages: [{match: ['**'], signedBy: [x]}]\n",
			`t.yaml:5:21: identities[0].keyless.issuer: must be an https URL, got "http://issuer.example"`},
		{"unanchored regexp", "identities:\n- name: x\n  keyless: {issuer: https://i.example, subjectRegExp: 'https://github.com/acme/.*'}\nimages: [{match: ['**'], signedBy: [x]}]\n",
			`identities[0].keyless.subjectRegExp: regular expression "https://github.com/acme/.*" must be anchored with ^ and $`},
		{"half-anchored alternation", "identities:\n- name: x\n  keyless: {issuer: https://i.example, subjectRegExp: '^a|b$'}\nimages: [{match: ['**'], signedBy: [x]}]\n",
			`put alternations inside a group`},
		{"issuer-wide identity", "identities:\n- name: x\n  keyless: {issuer: https://token.actions.githubusercontent.com}\nimages: [{match: ['**'], signedBy: [x]}]\n",
			`identities[0].keyless: accepts every identity of issuer https://token.actions.githubusercontent.com; pin repository`},
		{"wrong apiVersion", "", `apiVersion: must be "signet.dev/v1alpha1"`},
		{"rule without requirement", gh + "images: [{match: ['**']}]\n", `images[0]: a rule needs signedBy, signature: optional, or deny`},
		{"threshold above signers", gh + "images: [{match: ['**'], signedBy: [gh], threshold: 2}]\n",
			`images[0].threshold: must be between 1 and the number of signedBy identities (1)`},
		{"signedBy with optional", gh + "images: [{match: ['**'], signedBy: [gh], signature: optional}]\n",
			`images[0].signedBy: has no effect with signature: optional`},
		{"deny without message", "images: [{match: ['**'], deny: ''}]\n", `images[0].deny: a deny rule needs a message`},
		{"pin in a deny rule", "images: [{match: ['**'], deny: x, pin: false}]\n", `t.yaml:3:40: images[0].pin: has no effect in a deny rule`},
		{"pin not a boolean", gh + "images: [{match: ['**'], signedBy: [gh], pin: sometimes}]\n", `images[0].pin:`},
		{"bad requirement", "sigstore: {transparencyLog: maybe}\nimages: [{match: ['**'], deny: x}]\n",
			`t.yaml:3:29: sigstore.transparencyLog: must be "required" or "optional", got "maybe"`},
		{"bad key", "identities:\n- name: k\n  key: {publicKey: not-a-key}\nimages: [{match: ['**'], signedBy: [k]}]\n",
			`identities[0].key.publicKey: not a PEM public key`},
		{"unknown kms", "identities:\n- name: k\n  key: {kms: 'ftp://x'}\nimages: [{match: ['**'], signedBy: [k]}]\n",
			`unsupported KMS URI "ftp://x"`},
		{"syntax error", "images: [\n", `t.yaml:`},
		{"wrong type", "images: {match: x}\n", `t.yaml:3:9: images: must be a list, got a mapping`},
		{"no rules", "images: []\n", `images: at least one image rule is required`},
		{"empty label selector", "images: [{match: ['**'], deny: x}]\nenforcement: {namespaces: {exemptLabels: {}}}\n",
			`enforcement.namespaces.exemptLabels: an empty label selector would match every namespace`},
		{"v0.2 without opt-in", gh + "images: [{match: ['**'], signedBy: [gh], provenance: {predicateTypes: ['https://slsa.dev/provenance/v0.2']}}]\n",
			`SLSA v0.2 needs allowSLSAv02: true`},
		{"workflow glob", "identities:\n- name: x\n  keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app, workflow: '.github/*'}\nimages: [{match: ['**'], signedBy: [x]}]\n",
			`identities[0].keyless.workflow: must be a literal workflow path`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := header + c.body
			if c.name == "wrong apiVersion" {
				body = "apiVersion: v1\nkind: TrustPolicy\nimages: [{match: ['**'], deny: x}]\n"
			}
			_, err := Parse([]byte(body), WithSource("t.yaml"))
			if err == nil {
				t.Fatalf("accepted:\n%s", body)
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error is %T, want *LoadError: %v", err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error does not say %q:\n%v", c.want, err)
			}
			for _, fe := range le.Errors {
				if fe.Line == 0 && c.name != "no rules" {
					t.Errorf("error without a position: %v", fe)
				}
			}
		})
	}
}

func TestLoadReportsAllErrorsInOrder(t *testing.T) {
	body := header + "identities:\n- name: a\n  keyless: {issuer: http://x}\nimages: [{match: ['a//b'], signedBy: [zz]}]\n"
	_, err := Parse([]byte(body), WithSource("t.yaml"))
	var le *LoadError
	if !errors.As(err, &le) || len(le.Errors) < 3 {
		t.Fatalf("want at least 3 errors, got %v", err)
	}
	for i := 1; i < len(le.Errors); i++ {
		if le.Errors[i].Line < le.Errors[i-1].Line {
			t.Fatalf("errors not in file order: %v", err)
		}
	}
}

func TestHashIgnoresFormattingButNotMeaning(t *testing.T) {
	base := mustLoad(t, "testdata/trust.yaml")
	data, err := os.ReadFile("testdata/trust.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reformatted := header + `
images:
- {match: [ghcr.io/acme/**], name: acme-apps, signedBy: [platform-gitlab, app-release], signature: required,
   provenance: {sourceRefs: ["refs/tags/v*", refs/heads/main], sourceMatchesSigner: true,
     conditions: [{expression: 'predicate.buildDefinition.internalParameters.github.runner_environment == "github-hosted"', name: hosted-runner}]},
   attestations: [
     {type: "https://cyclonedx.org/bom", conditions: ['!packages(predicate).exists(p, p.name in ["log4j-core", "xz-utils"])']},
     {conditions: [{message: "fix or suppress the critical findings, then scan again", name: no-critical,
       expression: '!vulnerabilities(predicate).exists(v, v.severity == "CRITICAL")'}],
      trustPredicateTime: true, maxAge: 168h, signedBy: app-release, name: scan, type: "https://cosign.sigstore.dev/attestation/vuln/v1"}]}
- {name: acme-tools, match: [registry.acme.dev/tools/*], signedBy: [release-key], threshold: 1}
- {name: third-party, match: [index.docker.io/bitnami/**, registry.k8s.io/**], signature: optional}
- {name: everything-else, match: ["**"], deny: "only images from approved registries may run; ask #platform to add yours"}
enforcement: {namespaces: {exempt: [kube-system], audit: [dev]}}
identities:
- {name: release-key, key: {publicKey: "` + strings.ReplaceAll(pemOf(t, data), "\n", `\n`) + `"}}
- {name: platform-gitlab, keyless: {issuer: "https://gitlab.com", repository: acme/platform, refs: refs/heads/main, workflow: .gitlab-ci.yml}}
- name: app-release
  keyless: {runnerEnvironment: github-hosted, refs: ["refs/tags/v*", refs/heads/main], workflow: .github/workflows/release.yml,
            repository: acme/app, issuer: "https://token.actions.githubusercontent.com", ci: github}
`
	same, err := Parse([]byte(reformatted))
	if err != nil {
		t.Fatal(err)
	}
	if same.Hash != base.Hash {
		t.Errorf("same meaning, different hash:\n%s\n%s", base.Hash, same.Hash)
	}
	changed, err := Parse([]byte(strings.Replace(reformatted, "refs: refs/heads/main", "refs: refs/heads/dev", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if changed.Hash == base.Hash {
		t.Error("a different ref produced the same hash")
	}
}

func pemOf(t *testing.T, data []byte) string {
	s := string(data)
	i := strings.Index(s, "-----BEGIN PUBLIC KEY-----")
	j := strings.Index(s, "-----END PUBLIC KEY-----")
	var out []string
	for _, l := range strings.Split(s[i:j+len("-----END PUBLIC KEY-----")], "\n") {
		out = append(out, strings.TrimSpace(l))
	}
	return strings.Join(out, "\n") + "\n"
}

// TestPinFalse: `pin: false` marks a rule whose images enforce verifies
// without rewriting their tag; it is part of the policy's meaning (and
// hash), `pin: true` is the default spelt out, and the Go spec says the
// same as the file.
func TestPinFalse(t *testing.T) {
	const gh = "identities:\n- name: gh\n  keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app}\n"
	load := func(pin string) *Policy {
		t.Helper()
		p, err := Parse([]byte(header + gh + "images: [{name: apps, match: ['ghcr.io/acme/**'], signedBy: [gh]" + pin + "}, {match: ['**'], deny: no}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	pinned, explicit, unpinned := load(""), load(", pin: true"), load(", pin: false")
	if pinned.Rules[0].NoPin || explicit.Rules[0].NoPin || !unpinned.Rules[0].NoPin {
		t.Errorf("NoPin: default %v, pin: true %v, pin: false %v", pinned.Rules[0].NoPin, explicit.Rules[0].NoPin, unpinned.Rules[0].NoPin)
	}
	if pinned.Hash != explicit.Hash {
		t.Error("pin: true (the default) changed the policy hash")
	}
	if pinned.Hash == unpinned.Hash || pinned.Rules[0].Hash == unpinned.Rules[0].Hash {
		t.Error("pin: false left the policy or the rule hash unchanged")
	}
	no := false
	fromSpec, err := New(Spec{
		Identities: []IdentitySpec{{Name: "gh", Keyless: &KeylessSpec{Issuer: "https://token.actions.githubusercontent.com", Repository: "acme/app"}}},
		Images:     []RuleSpec{{Name: "apps", Match: []string{"ghcr.io/acme/**"}, SignedBy: []string{"gh"}, Pin: &no}, {Match: []string{"**"}, Deny: "no"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if fromSpec.Hash != unpinned.Hash {
		t.Error("Spec{Pin: false} and pin: false in a file differ")
	}
}

// TestLoadOptional: a signing run checks the trust file it names, else
// ./trust.yaml when there is one; only when neither exists is there none.
func TestLoadOptional(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("testdata", "trust.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		here       bool // ./trust.yaml exists
		path       string
		wantSource string // "" for no policy
		wantErr    bool
	}{
		{"nothing named and none here: no policy", false, "", "", false},
		{"nothing named: ./trust.yaml", true, "", "trust.yaml", false},
		{"a named file wins over ./trust.yaml", true, "other.yaml", "other.yaml", false},
		{"a named file that is missing is an error, never no policy", false, "missing.yaml", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if err := os.WriteFile("other.yaml", example, 0o644); err != nil {
				t.Fatal(err)
			}
			if c.here {
				if err := os.WriteFile("trust.yaml", example, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := LoadOptional(c.path)
			switch {
			case c.wantErr:
				if err == nil {
					t.Fatalf("no error, policy %v", p)
				}
			case err != nil:
				t.Fatal(err)
			case c.wantSource == "" && p != nil, c.wantSource != "" && (p == nil || p.Source != c.wantSource):
				t.Fatalf("policy %v, want from %q", p, c.wantSource)
			}
		})
	}
}
