package policy

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAdHocMeansWhatCosignsFlagsMean: the flags compile to the trust file
// cosign's verify would enforce, and what a trust file refuses is refused
// here too, named by its flag.
func TestAdHocMeansWhatCosignsFlagsMean(t *testing.T) {
	dir := t.TempDir()
	pub, err := filepath.Abs(filepath.Join("testdata", "lint", "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	const gh = "https://token.actions.githubusercontent.com"
	const san = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
	cases := []struct {
		name    string
		flags   AdHoc
		wantErr string
		check   func(t *testing.T, p *Policy)
	}{
		{"--key requires a log entry, as cosign does by default", AdHoc{Key: &KeySpec{Path: pub}}, "", func(t *testing.T, p *Policy) {
			id := p.Rules[0].SignedBy[0]
			if id.Key == nil || id.Key.TransparencyLog != Required || p.Rules[0].Match[0].String() != "**" {
				t.Errorf("identity %+v rule %+v", id.Key, p.Rules[0])
			}
		}},
		{"--insecure-ignore-tlog makes the log entry optional", AdHoc{Key: &KeySpec{Path: pub}, IgnoreTlog: true}, "", func(t *testing.T, p *Policy) {
			if p.Rules[0].SignedBy[0].Key.TransparencyLog != Optional || p.Sigstore.TransparencyLog != Optional {
				t.Errorf("log still required: %+v", p.Sigstore)
			}
		}},
		{"--certificate-identity is the exact SAN, with the issuer", AdHoc{CertificateIdentity: san, CertificateOIDCIssuer: gh}, "", func(t *testing.T, p *Policy) {
			k := p.Rules[0].SignedBy[0].Keyless
			if k.Subject != san || k.Issuer != gh || p.Sigstore.CertificateTransparency != Required || p.Sigstore.TransparencyLog != Required {
				t.Errorf("keyless %+v sigstore %+v", k, p.Sigstore)
			}
		}},
		{"--insecure-ignore-sct and --use-signed-timestamps", AdHoc{CertificateIdentity: san, CertificateOIDCIssuer: gh, IgnoreSCT: true, UseSignedTimestamps: true}, "", func(t *testing.T, p *Policy) {
			if p.Sigstore.CertificateTransparency != Optional || p.Sigstore.SignedTimestamps != Required {
				t.Errorf("sigstore %+v", p.Sigstore)
			}
		}},
		{"an anchored regexp is accepted", AdHoc{CertificateIdentityRegexp: `^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v.*$`, CertificateOIDCIssuer: gh}, "", nil},
		{"an unanchored regexp is refused (cosign would match it anywhere in the SAN)",
			AdHoc{CertificateIdentityRegexp: `https://github\.com/acme/`, CertificateOIDCIssuer: gh}, "--certificate-identity-regexp: regular expression", nil},
		{"a regexp accepting every repository of the issuer is refused",
			AdHoc{CertificateIdentityRegexp: `^https://github\.com/.*$`, CertificateOIDCIssuer: gh}, "--certificate-identity-regexp: subjectRegExp", nil},
		{"an http issuer is refused", AdHoc{CertificateIdentity: san, CertificateOIDCIssuer: "http://issuer.example"}, "--certificate-oidc-issuer: must be an https URL", nil},
		{"an identity without an issuer is refused", AdHoc{CertificateIdentity: san}, "--certificate-oidc-issuer is required", nil},
		{"an issuer without an identity is refused", AdHoc{CertificateOIDCIssuer: gh}, "--certificate-identity or --certificate-identity-regexp is required", nil},
		{"a key and an identity are refused together", AdHoc{Key: &KeySpec{Path: pub}, CertificateIdentity: san, CertificateOIDCIssuer: gh}, "exclude each other", nil},
		{"no flag at all is refused", AdHoc{}, "needs --key", nil},
		{"an unreadable key names --key", AdHoc{Key: &KeySpec{Path: filepath.Join(dir, "none.pub")}}, "--key: reading public key", nil},
		{"an unreadable trusted root names --trusted-root", AdHoc{Key: &KeySpec{Path: pub}, TrustedRoot: filepath.Join(dir, "none.json")}, "--trusted-root: reading trusted root", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.flags.Policy()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.check != nil {
				c.check(t, p)
			}
		})
	}
}

// TestAdHocLoad: a trust file or cosign's flags, never both, and no flag
// that qualifies an identity is silently dropped.
func TestAdHocLoad(t *testing.T) {
	trust := filepath.Join("testdata", "trust.yaml")
	const gh = "https://token.actions.githubusercontent.com"
	keyless := AdHoc{CertificateIdentity: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main", CertificateOIDCIssuer: gh}
	cases := []struct {
		name       string
		flags      AdHoc
		pathGiven  bool
		wantSource string
		wantErr    string
	}{
		{"no identity flag loads the trust file", AdHoc{}, false, trust, ""},
		{"identity flags are the policy", keyless, false, "command-line flags", ""},
		{"a given trust file beside identity flags is refused", keyless, true, "", "--policy and --key/--certificate-identity exclude each other"},
		{"--trusted-root without an identity is refused", AdHoc{TrustedRoot: "root.json"}, false, "", "--trusted-root goes with"},
		{"--insecure-ignore-tlog without an identity is refused", AdHoc{IgnoreTlog: true}, false, "", "--insecure-ignore-tlog goes with"},
		{"--insecure-ignore-sct without an identity is refused", AdHoc{IgnoreSCT: true}, false, "", "--insecure-ignore-sct goes with"},
		{"--use-signed-timestamps without an identity is refused", AdHoc{UseSignedTimestamps: true}, true, "", "--use-signed-timestamps goes with"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.flags.Load(trust, c.pathGiven)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || p.Source != c.wantSource {
				t.Fatalf("policy from %q, %v; want from %q", p.Source, err, c.wantSource)
			}
		})
	}
}
