package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

const ghIdentity = "identities:\n- name: gh\n  keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app}\n"

func parseOrFail(t *testing.T, doc string, opts ...Option) *Policy {
	t.Helper()
	p, err := Parse([]byte(header+doc), append([]Option{WithSource("t.yaml")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSignatureRuleFields: signature: ifPresent, signatureRepository and
// signatureAnnotations load into the rule, are part of its meaning (the
// policy and rule hashes), and are refused where they cannot mean
// anything, with the position.
func TestSignatureRuleFields(t *testing.T) {
	base := parseOrFail(t, ghIdentity+"images: [{match: ['ghcr.io/acme/**'], signedBy: [gh]}]\n")
	p := parseOrFail(t, ghIdentity+"images: [{match: ['ghcr.io/acme/**'], signedBy: [gh], signature: ifPresent, signatureRepository: 'docker.io/acme/sigs', signatureAnnotations: {env: prod}}]\n")
	r := p.Rules[0]
	if r.Signature != IfPresent || r.Kind() != RuleSignature {
		t.Errorf("signature %q kind %q, want ifPresent, a signature rule", r.Signature, r.Kind())
	}
	if r.SignatureRepository != "index.docker.io/acme/sigs" {
		t.Errorf("signatureRepository %q, want the normalized index.docker.io/acme/sigs", r.SignatureRepository)
	}
	if r.SignatureAnnotations["env"] != "prod" {
		t.Errorf("annotations %v", r.SignatureAnnotations)
	}
	if p.Hash == base.Hash || r.Hash == base.Rules[0].Hash {
		t.Error("the fields left the policy or rule hash unchanged")
	}
	for _, f := range []string{"signature: ifPresent", "signatureRepository: ghcr.io/acme/sigs", "signatureAnnotations: {env: prod}"} {
		one := parseOrFail(t, ghIdentity+"images: [{match: ['ghcr.io/acme/**'], signedBy: [gh], "+f+"}]\n")
		if one.Rules[0].Hash == base.Rules[0].Hash {
			t.Errorf("%s alone left the rule hash unchanged", f)
		}
	}

	notation := "identities:\n- name: n\n  notation: {certificateAuthorities: [{path: ca.pem}], subjectAttributes: {C: US, ST: WA, O: Acme}}\n"
	for _, c := range []struct{ name, doc, want string }{
		{"ifPresent with provenance", ghIdentity + "images: [{match: ['**'], signedBy: [gh], signature: ifPresent, provenance: {}}]\n",
			`t.yaml:6:76: images[0].provenance: cannot be required with signature: ifPresent`},
		{"unknown signature value", ghIdentity + "images: [{match: ['**'], signedBy: [gh], signature: sometimes}]\n",
			`images[0].signature: must be "required", "optional" or "ifPresent", got "sometimes"`},
		{"signature repository pattern", ghIdentity + "images: [{match: ['**'], signedBy: [gh], signatureRepository: 'ghcr.io/acme/*'}]\n",
			`images[0].signatureRepository: must be one repository, not a pattern`},
		{"signature repository with a tag", ghIdentity + "images: [{match: ['**'], signedBy: [gh], signatureRepository: 'ghcr.io/acme/sigs:v1'}]\n",
			`images[0].signatureRepository: not a repository`},
		{"signature repository on an optional rule", "images: [{match: ['**'], signature: optional, signatureRepository: ghcr.io/acme/sigs}]\n",
			`images[0].signatureRepository: has no effect with signature: optional`},
		{"annotations on a deny rule", "images: [{match: ['**'], deny: no, signatureAnnotations: {a: b}}]\n",
			`images[0].signatureAnnotations: has no effect in a deny rule`},
		{"empty annotations", ghIdentity + "images: [{match: ['**'], signedBy: [gh], signatureAnnotations: {}}]\n",
			`images[0].signatureAnnotations: is empty`},
		{"annotations only Notation could satisfy", notation + "images: [{match: ['**'], signedBy: [n], signatureAnnotations: {a: b}}]\n",
			`Notation signatures carry no cosign annotations`},
	} {
		t.Run(c.name, func(t *testing.T) {
			files, _, _ := notationFixture(t)
			_, err := Parse([]byte(header+c.doc), WithSource("t.yaml"), WithReadFile(func(string) ([]byte, error) { return files["root.pem"], nil }))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestIdentitySigstore: an identity may name its own trusted root (and
// proofs); its content is part of the hashes, a key identity takes only
// the root and only when its key is logged, and a notation identity none.
func TestIdentitySigstore(t *testing.T) {
	files := map[string]string{"private.json": `{"v":1}`, "other.json": `{"v":2}`}
	read := WithReadFile(func(p string) ([]byte, error) { return []byte(files[strings.TrimPrefix(p, "/")]), nil })
	doc := func(sig string) string {
		return "identities:\n- name: gh\n  keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app}\n" +
			"  sigstore: " + sig + "\nimages: [{match: ['**'], signedBy: [gh]}]\n"
	}
	private := parseOrFail(t, doc("{trustedRoot: private.json, certificateTransparency: optional}"), read, WithBaseDir("/"))
	id := private.Identities[0]
	if id.Sigstore == nil || id.Sigstore.TrustedRoot != "/private.json" || id.Sigstore.CertificateTransparency != Optional || id.Sigstore.TransparencyLog != Required {
		t.Fatalf("identity sigstore %+v, want the file, CT optional, the log required as the policy's", id.Sigstore)
	}
	if got := private.SigstoreOf(id); got.TrustedRootDigest == "" {
		t.Error("SigstoreOf does not return the identity's root")
	}
	if roots := private.TrustedRoots(); len(roots) != 1 || roots[0].TrustedRoot != "/private.json" {
		t.Errorf("TrustedRoots %+v, want only the identity's", roots)
	}
	other := parseOrFail(t, doc("{trustedRoot: other.json, certificateTransparency: optional}"), read, WithBaseDir("/"))
	if other.Hash == private.Hash || other.Rules[0].Hash == private.Rules[0].Hash {
		t.Error("another trusted root for the identity left the policy or rule hash unchanged")
	}
	spelled := parseOrFail(t, doc("{trustedRoot: public-good}"), read)
	plain := parseOrFail(t, ghIdentity+"images: [{match: ['**'], signedBy: [gh]}]\n")
	if spelled.Identities[0].Sigstore != nil || spelled.Hash != plain.Hash {
		t.Error("an identity sigstore section equal to the policy's changed the identity")
	}

	key := "identities:\n- name: k\n  key: {kms: 'awskms:///alias/k'%s}\n  sigstore: %s\nimages: [{match: ['**'], signedBy: [k]}]\n"
	for _, c := range []struct{ name, doc, want string }{
		{"key without a logged key", sprintf(key, "", "{trustedRoot: private.json}"), `a key identity uses a trusted root only for its transparency log`},
		{"key with certificate transparency", sprintf(key, ", transparencyLog: required", "{trustedRoot: private.json, certificateTransparency: optional}"), `identities[0].sigstore.certificateTransparency: has no effect on a key identity`},
		{"unknown field", doc("{trustedRoots: x}"), `identities[0].sigstore.trustedRoots: unknown field`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(header+c.doc), WithSource("t.yaml"), read)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	if p := parseOrFail(t, sprintf(key, ", transparencyLog: required", "{trustedRoot: private.json}"), read, WithBaseDir("/")); p.Identities[0].Sigstore == nil {
		t.Error("a logged key identity's trusted root was dropped")
	}
}

// TestSignerRepositoryPattern: signerRepository without workflow pins the
// repository of the workflow that signed (the SAN's), as a pattern,
// besides the source repository: a reusable workflow from elsewhere is
// refused even when the source repository is trusted.
func TestSignerRepositoryPattern(t *testing.T) {
	p := parseOrFail(t, "identities:\n- name: gh\n  keyless: {issuer: https://token.actions.githubusercontent.com, repository: 'acme/*', signerRepository: 'acme/*', signerRefs: ['refs/tags/**']}\n"+
		"- name: gl\n  keyless: {issuer: https://gitlab.com, project: 'acme/**', signerRepository: 'acme/**'}\nimages: [{match: ['**'], signedBy: [gh, gl]}]\n")
	gh, _ := p.Identity("gh")
	gl, _ := p.Identity("gl")
	reusable := func(source, signer, ref string) certificate.Summary {
		c := githubCert(source, ".github/workflows/release.yml", ref)
		c.BuildSignerURI = "https://github.com/" + signer + "/.github/workflows/reusable.yml@" + ref
		return c
	}
	for _, c := range []struct {
		name string
		id   *Identity
		cert certificate.Summary
		want string
	}{
		{"the owner's own workflow on a tag", gh, githubCert("acme/app", ".github/workflows/release.yml", "refs/tags/v1"), ""},
		{"a reusable workflow of the owner", gh, reusable("acme/app", "acme/workflows", "refs/tags/v1"), ""},
		{"a reusable workflow from another owner", gh, reusable("acme/app", "evil/workflows", "refs/tags/v1"), "signerRepository"},
		{"the signer's ref outside signerRefs", gh, githubCert("acme/app", ".github/workflows/release.yml", "refs/heads/main"), "signerRefs"},
		{"gitlab subgroup project", gl, gitlabCert("acme/team/app", "refs/heads/main"), ""},
		{"gitlab other group", gl, gitlabCert("evil/app", "refs/heads/main"), "repository"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := c.id.MatchCertificate(c.cert)
			switch {
			case c.want == "" && m != nil:
				t.Fatalf("refused: %v", m)
			case c.want != "" && (m == nil || m.Field != c.want):
				t.Fatalf("got %v, want a refusal on %s", m, c.want)
			}
		})
	}
	if e := gh.Keyless.ExpectedSAN(); e != "https://github.com/acme/*/<any workflow>@<ref>" {
		t.Errorf("ExpectedSAN %q", e)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
