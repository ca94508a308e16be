package sigstoretest

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
)

func TestIdentityFormats(t *testing.T) {
	tests := []struct {
		name                             string
		id                               Identity
		san, signer, config, source, run string
		runner                           string
	}{
		{
			name:   "github",
			id:     GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main"),
			san:    "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
			signer: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
			config: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
			source: "https://github.com/acme/app",
			run:    "https://github.com/acme/app/actions/runs/1/attempts/1",
			runner: "github-hosted",
		},
		{
			name:   "github reusable: signer is the reusable workflow, config the caller",
			id:     GitHubReusable("acme/app", "refs/heads/main", "acme/ci", ".github/workflows/build.yml", "refs/tags/v1"),
			san:    "https://github.com/acme/ci/.github/workflows/build.yml@refs/tags/v1",
			signer: "https://github.com/acme/ci/.github/workflows/build.yml@refs/tags/v1",
			config: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
			source: "https://github.com/acme/app",
			run:    "https://github.com/acme/app/actions/runs/1/attempts/1",
			runner: "github-hosted",
		},
		{
			name:   "gitlab: double slash before the config path",
			id:     GitLab("acme/platform", "refs/heads/main"),
			san:    "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main",
			signer: "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main",
			config: "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main",
			source: "https://gitlab.com/acme/platform",
			run:    "https://gitlab.com/acme/platform/-/jobs/1",
			runner: "gitlab-hosted",
		},
	}
	ss := newSigstore(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.id.Extensions
			if tc.id.SAN != tc.san || e.BuildSignerURI != tc.signer || e.BuildConfigURI != tc.config ||
				e.SourceRepositoryURI != tc.source || e.RunInvocationURI != tc.run || e.RunnerEnvironment != tc.runner ||
				e.SourceRepositoryRef != "refs/heads/main" || e.BuildTrigger != "push" {
				t.Fatalf("identity = %+v", tc.id)
			}
			s, err := ss.Signer(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			cert := s.Certificate()
			if len(cert.URIs) != 1 || cert.URIs[0].String() != tc.san {
				t.Fatalf("URI SAN = %v", cert.URIs)
			}
			parsed, err := certificate.ParseExtensions(cert.Extensions)
			if err != nil {
				t.Fatal(err)
			}
			if parsed != tc.id.Extensions {
				t.Fatalf("parsed extensions = %+v\nwant %+v", parsed, tc.id.Extensions)
			}
			checkEncoding(t, cert, tc.id)
		})
	}
}

// checkEncoding pins Fulcio's encoding: v1 OIDs raw bytes, v2 OIDs DER
// UTF8String, so matchers reading raw extensions see what Fulcio emits.
func checkEncoding(t *testing.T, cert *x509.Certificate, id Identity) {
	t.Helper()
	seen := map[string]bool{}
	for _, ext := range cert.Extensions {
		seen[ext.Id.String()] = true
		switch {
		case ext.Id.Equal(certificate.OIDIssuer): //lint:ignore SA1019 the v1 issuer extension Fulcio still issues
			if string(ext.Value) != id.Issuer {
				t.Errorf("v1 issuer = %q", ext.Value)
			}
		case ext.Id.Equal(certificate.OIDIssuerV2), ext.Id.Equal(certificate.OIDSourceRepositoryURI):
			var raw asn1.RawValue
			if _, err := asn1.Unmarshal(ext.Value, &raw); err != nil || raw.Tag != asn1.TagUTF8String {
				t.Errorf("%s not a DER UTF8String: %x", ext.Id, ext.Value)
			}
		}
	}
	for _, oid := range []string{"1.3.6.1.4.1.57264.1.1", "1.3.6.1.4.1.57264.1.8", "1.3.6.1.4.1.57264.1.9",
		"1.3.6.1.4.1.57264.1.12", "1.3.6.1.4.1.57264.1.18", "1.3.6.1.4.1.57264.1.22", "1.3.6.1.4.1.57264.1.24",
		"1.3.6.1.4.1.11129.2.4.2"} {
		if !seen[oid] {
			t.Errorf("missing extension %s", oid)
		}
	}
	if id.Issuer == GitHubIssuer && !seen["1.3.6.1.4.1.57264.1.5"] {
		t.Error("GitHub certificate lacks the deprecated v1 repository extension")
	}
	if id.Issuer == GitLabIssuer && seen["1.3.6.1.4.1.57264.1.5"] {
		t.Error("GitLab certificate carries a GitHub-only v1 extension")
	}
}

func TestTrustedRootJSON(t *testing.T) {
	ss := newSigstore(t)
	b, err := ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(ss.RekorPublicKey())
	id := sha256.Sum256(der)
	logs := tr.RekorLogs()
	if len(logs) != 1 {
		t.Fatalf("rekor logs = %d", len(logs))
	}
	l, ok := logs[ss.RekorLogID()]
	if !ok || string(l.ID) != string(id[:]) {
		t.Fatalf("rekor log not keyed by sha256(PKIX): %v", logs)
	}
	if !l.ValidityPeriodStart.Before(time.Now().Add(-time.Hour)) {
		t.Errorf("rekor validity starts %v, want well in the past", l.ValidityPeriodStart)
	}
	if len(tr.CTLogs()) != 1 || len(tr.FulcioCertificateAuthorities()) != 1 || len(tr.TimestampingAuthorities()) != 1 {
		t.Error("trusted root lacks a CT log, CA or TSA")
	}
}
