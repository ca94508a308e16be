package policy

import (
	"crypto/x509/pkix"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/notationtest"
)

// notationFiles are the files a Notation trust file in these tests reads.
type notationFiles map[string][]byte

func (f notationFiles) read(path string) ([]byte, error) {
	for name, data := range f {
		if strings.HasSuffix(path, "/"+name) || path == name {
			return data, nil
		}
	}
	return nil, fs.ErrNotExist
}

func notationFixture(t *testing.T) (notationFiles, *notationtest.CA, *notationtest.TSA) {
	t.Helper()
	ca, tsa := notationtest.NewCA(t, "Acme"), notationtest.NewTSA(t)
	leaf := ca.Leaf(t)
	return notationFiles{
		"root.pem": ca.RootPEM(), "tsa.pem": notationtest.PEM(tsa.Root),
		"leaf.pem": notationtest.PEM(leaf.Cert), "intermediate.pem": notationtest.PEM(ca.Intermediate),
		"key.pem": leaf.KeyPEM(t),
	}, ca, tsa
}

func notationDoc(identity string) string {
	return header + "identities:\n- name: n\n  notation:\n" + identity + "images: [{match: ['**'], signedBy: [n]}]\n"
}

func TestLoadNotationIdentity(t *testing.T) {
	files, ca, tsa := notationFixture(t)
	inline := strings.ReplaceAll(string(ca.RootPEM()), "\n", `\n`)
	p, err := Parse([]byte(notationDoc(`    certificateAuthorities: [{path: root.pem}, {certificate: "`+inline+`"}]
    subject: 'CN=release, O=Acme\, Inc., ST=WA, C=US'
    timestampAuthorities: [{path: tsa.pem}]
    verifyTimestamp: afterCertExpiry
    revocation: {unreachable: allow, timeout: 1500ms}
`)), WithSource("t.yaml"), WithReadFile(files.read))
	if err != nil {
		t.Fatal(err)
	}
	n := p.Identities[0].Notation
	if len(n.CertificateAuthorities) != 2 || !n.CertificateAuthorities[0].Cert.Equal(ca.Root) || !n.TimestampAuthorities[0].Cert.Equal(tsa.Root) {
		t.Fatalf("anchors not loaded: %+v", n)
	}
	if n.Subject["O"] != "Acme, Inc." || n.Subject["CN"] != "release" || n.SubjectAttributes != nil {
		t.Fatalf("subject %v", n.Subject)
	}
	if n.VerifyTimestamp != TimestampAfterCertExpiry || n.Revocation.Unreachable != UnreachableAllow || n.Revocation.Timeout.Milliseconds() != 1500 || n.Revocation.Check != RevocationEnforce {
		t.Fatalf("settings %+v", n)
	}
	d, err := Parse([]byte(notationDoc("    certificateAuthorities: [{path: root.pem}]\n    subjectAttributes: {C: US, S: WA, o: Acme}\n")), WithReadFile(files.read))
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Identities[0].Notation; n.VerifyTimestamp != TimestampAlways || n.Revocation.Unreachable != UnreachableDeny ||
		n.Revocation.Timeout != DefaultRevocationTimeout || n.SubjectAttributes["ST"] != "WA" || n.SubjectAttributes["O"] != "Acme" {
		t.Fatalf("defaults or attribute names wrong: %+v", n)
	}
}

// Each case is a Notation identity that must be refused, with the located
// message a user must see. Line 6 is the first line under notation:.
func TestLoadNotationErrors(t *testing.T) {
	files, _, _ := notationFixture(t)
	const ca = "    certificateAuthorities: [{path: root.pem}]\n"
	const subj = "    subjectAttributes: {C: US, ST: WA, O: Acme}\n"
	cases := []struct{ name, identity, want string }{
		{"any subject", ca + "    subject: '*'\n",
			`t.yaml:7:14: identities[0].notation.subject: "*" accepts every subject its anchors certify`},
		{"any subject, notation's spelling", ca + "    subject: 'x509.subject:*'\n", `accepts every subject its anchors certify`},
		{"no subject", ca, `t.yaml:6:5: identities[0].notation: accepts every subject its anchors certify; pin the signer`},
		{"wildcard attribute", ca + "    subjectAttributes: {C: US, ST: WA, O: '*'}\n",
			`identities[0].notation.subjectAttributes.O: "*": subject attributes are exact values, not patterns`},
		{"subject and attributes", ca + subj + "    subject: 'C=US,ST=WA,O=Acme'\n", `set subject (the full DN) or subjectAttributes, not both`},
		{"subject without organization", ca + "    subject: 'CN=release,C=US,ST=WA'\n",
			`t.yaml:7:14: identities[0].notation.subject: names no [O]: a pinned subject needs C, ST (or S) and O at least`},
		{"multi-valued RDN", ca + "    subject: 'CN=a+OU=b,O=Acme,ST=WA,C=US'\n", `has a multi-valued RDN`},
		{"hex value", ca + "    subject: 'CN=#0403616263,O=Acme,ST=WA,C=US'\n", `hex-encoded value of CN is not supported`},
		{"repeated attribute", ca + "    subject: 'OU=a,OU=b,O=Acme,ST=WA,C=US'\n", `attribute OU appears twice`},
		{"no anchors", subj, `t.yaml:6:5: identities[0].notation: a notation identity needs trust anchors`},
		{"missing file", "    certificateAuthorities: [{path: nope.pem}]\n" + subj,
			`t.yaml:6:37: identities[0].notation.certificateAuthorities[0].path: reading certificate`},
		{"not PEM", "    certificateAuthorities: [{certificate: 'hello'}]\n" + subj, `certificateAuthorities[0]: no PEM certificate found`},
		{"a private key", "    certificateAuthorities: [{path: key.pem}]\n" + subj, `PEM block "PRIVATE KEY" is not a CERTIFICATE`},
		{"leaf as anchor", "    certificateAuthorities: [{path: leaf.pem}]\n" + subj, `is neither a CA certificate nor self-signed`},
		{"intermediate as TSA root", ca + subj + "    timestampAuthorities: [{path: intermediate.pem}]\n",
			`timestampAuthorities[0]: certificate "CN=Acme intermediate,O=Acme,C=US" is not a root (self-signed) certificate`},
		{"both path and certificate", "    certificateAuthorities: [{path: root.pem, certificate: x}]\n" + subj, `needs exactly one of path or certificate`},
		{"verifyTimestamp without TSA", ca + subj + "    verifyTimestamp: always\n", `verifyTimestamp: only meaningful with timestampAuthorities`},
		{"bad verifyTimestamp", ca + subj + "    timestampAuthorities: [{path: tsa.pem}]\n    verifyTimestamp: sometimes\n",
			`must be "always" or "afterCertExpiry", got "sometimes"`},
		{"unbounded timeout", ca + subj + "    revocation: {timeout: 30s}\n",
			`t.yaml:8:27: identities[0].notation.revocation.timeout: must be above 0 and at most 5s`},
		{"bad unreachable", ca + subj + "    revocation: {unreachable: ignore}\n", `revocation.unreachable: must be "deny" or "allow", got "ignore"`},
		{"skip with settings", ca + subj + "    revocation: {check: skip, unreachable: allow}\n", `only meaningful when revocation is checked`},
		{"unknown field", ca + subj + "    trustStores: [ca:acme]\n", `identities[0].notation.trustStores: unknown field "trustStores"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := notationDoc(c.identity)
			_, err := Parse([]byte(body), WithSource("t.yaml"), WithReadFile(files.read))
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("accepted or not a *LoadError (%v):\n%s", err, body)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error does not say %q:\n%v", c.want, err)
			}
			for _, fe := range le.Errors {
				if fe.Line == 0 {
					t.Errorf("error without a position: %v", fe)
				}
			}
		})
	}
	_, err := Parse([]byte(header+"identities:\n- name: n\n  key: {kms: 'awskms:///alias/x'}\n  notation: {}\nimages: [{match: ['**'], signedBy: [n]}]\n"), WithReadFile(files.read))
	if err == nil || !strings.Contains(err.Error(), "an identity has exactly one of keyless, key or notation") {
		t.Fatalf("two kinds in one identity: %v", err)
	}
}

func TestNotationSubjectMatch(t *testing.T) {
	ca := notationtest.NewCA(t, "Acme")
	leaf := ca.Leaf(t).Cert // CN=release,O=Acme,L=Seattle,ST=WA,C=US
	cases := []struct {
		name  string
		n     Notation
		match bool
	}{
		{"full DN in any order", Notation{Subject: mustDN(t, "C=US,ST=WA,L=Seattle,O=Acme,CN=release")}, true},
		{"full DN missing an attribute the certificate has", Notation{Subject: mustDN(t, "C=US,ST=WA,O=Acme,CN=release")}, false},
		{"attributes, a subset", Notation{SubjectAttributes: DN{"C": "US", "ST": "WA", "O": "Acme"}}, true},
		{"attributes with another organization", Notation{SubjectAttributes: DN{"C": "US", "ST": "WA", "O": "Acme-evil"}}, false},
		{"attributes naming one the certificate lacks", Notation{SubjectAttributes: DN{"C": "US", "ST": "WA", "O": "Acme", "OU": "x"}}, false},
		{"values are case-sensitive", Notation{SubjectAttributes: DN{"C": "US", "ST": "WA", "O": "acme"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mm := c.n.MatchSubject("n", leaf)
			if (mm == nil) != c.match {
				t.Fatalf("match=%v, want %v (%v)", mm == nil, c.match, mm)
			}
		})
	}
	two := ca.Leaf(t, notationtest.WithSubject(pkix.Name{Country: []string{"US"}, Province: []string{"WA"}, Organization: []string{"Acme", "Other"}})).Cert
	if mm := (&Notation{SubjectAttributes: DN{"C": "US", "ST": "WA", "O": "Acme"}}).MatchSubject("n", two); mm == nil {
		t.Fatal("a subject with two organizations matched one of them")
	}
}

func mustDN(t *testing.T, s string) DN {
	t.Helper()
	dn, err := ParseDN(s)
	if err != nil {
		t.Fatal(err)
	}
	return dn
}

// TestNotationHash: an anchor inline or in a file is the same anchor; a
// different subject, anchor or revocation choice is a different policy.
func TestNotationHash(t *testing.T) {
	files, ca, _ := notationFixture(t)
	inline := strings.ReplaceAll(string(ca.RootPEM()), "\n", `\n`)
	hash := func(identity string) string {
		p, err := Parse([]byte(notationDoc(identity)), WithReadFile(files.read))
		if err != nil {
			t.Fatal(err)
		}
		return p.Hash
	}
	base := hash("    certificateAuthorities: [{path: root.pem}]\n    subjectAttributes: {C: US, ST: WA, O: Acme}\n")
	same := []string{
		"    certificateAuthorities: [{certificate: \"" + inline + "\"}]\n    subjectAttributes: {O: Acme, ST: WA, C: US}\n",
		"    certificateAuthorities: [{path: root.pem}]\n    subjectAttributes: {C: US, S: WA, O: Acme}\n    revocation: {check: enforce, unreachable: deny, timeout: 2s}\n",
	}
	for _, s := range same {
		if h := hash(s); h != base {
			t.Errorf("same meaning, different hash:\n%s", s)
		}
	}
	differ := []string{
		"    certificateAuthorities: [{path: root.pem}]\n    subjectAttributes: {C: US, ST: WA, O: Acme, CN: x}\n",
		"    signingAuthorities: [{path: root.pem}]\n    subjectAttributes: {C: US, ST: WA, O: Acme}\n",
		"    certificateAuthorities: [{path: root.pem}]\n    subjectAttributes: {C: US, ST: WA, O: Acme}\n    revocation: {unreachable: allow}\n",
		"    certificateAuthorities: [{path: root.pem}]\n    subject: 'C=US,ST=WA,O=Acme'\n",
	}
	for _, s := range differ {
		if h := hash(s); h == base {
			t.Errorf("different meaning, same hash:\n%s", s)
		}
	}
}

func FuzzParseDN(f *testing.F) {
	for _, s := range []string{"CN=release,O=Acme\\, Inc.,ST=WA,C=US", "C=US+O=x", "CN=\\41\\42", "O=#0403", "CN=a\\", "=x", "CN= spaced ,O=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dn, err := ParseDN(s)
		if err != nil {
			return
		}
		again, err := ParseDN(dn.String())
		if err != nil || !again.Equal(dn) {
			t.Fatalf("%q parsed as %v, printed as %q, which parses as %v (%v)", s, dn, dn.String(), again, err)
		}
	})
}

// TestExplainNotationIdentity: `sign policy explain` names a Notation
// identity's subject pin, anchors (subject and fingerprint), TSA roots and
// revocation setting.
func TestExplainNotationIdentity(t *testing.T) {
	files, ca, tsa := notationFixture(t)
	p, err := Parse([]byte(notationDoc("    certificateAuthorities: [{path: root.pem}]\n    subject: 'CN=release,O=Acme,ST=WA,C=US'\n    timestampAuthorities: [{path: tsa.pem}]\n    revocation: {unreachable: allow}\n")),
		WithReadFile(files.read))
	if err != nil {
		t.Fatal(err)
	}
	e, err := p.Explain("ghcr.io/acme/app")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := e.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`n: notation (X.509), subject "C=US, CN=release, O=Acme, ST=WA"`, "anchor              ca \"" + ca.Root.Subject.String(),
		"timestamp root      \"" + tsa.Root.Subject.String(), "unreachable: allow"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("explanation lacks %q:\n%s", want, b.String())
		}
	}
	if id := e.Identities[0]; id.Type != "notation" || len(id.Anchors) != 1 || len(id.TimestampAuthorities) != 1 {
		t.Errorf("JSON form %+v", id)
	}
}
