package sigstoretest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

func newSigstore(t *testing.T) *Sigstore {
	t.Helper()
	ss, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func testDigest() v1.Hash {
	h := sha256.Sum256([]byte("image manifest"))
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h[:])}
}

func loadBundle(t *testing.T, b []byte) *bundle.Bundle {
	t.Helper()
	var bu bundle.Bundle
	if err := bu.UnmarshalJSON(b); err != nil {
		t.Fatalf("sigstore-go rejects bundle: %v\n%s", err, b)
	}
	return &bu
}

func verifyBundle(tm root.TrustedMaterial, b *bundle.Bundle, digest v1.Hash, id verify.PolicyOption, vopts ...verify.VerifierOption) (*verify.VerificationResult, error) {
	v, err := verify.NewVerifier(tm, vopts...)
	if err != nil {
		return nil, err
	}
	raw, _ := hex.DecodeString(digest.Hex)
	return v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", raw), id))
}

func certID(t *testing.T, id Identity) verify.PolicyOption {
	t.Helper()
	ci, err := verify.NewShortCertificateIdentity(id.Issuer, "", id.SAN, "")
	if err != nil {
		t.Fatal(err)
	}
	return verify.WithCertificateIdentity(ci)
}

var strict = []verify.VerifierOption{
	verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1), verify.WithSignedCertificateTimestamps(1),
}

func TestSignBundleVerifiesWithSigstoreGo(t *testing.T) {
	ss := newSigstore(t)
	tr := ss.TrustedRoot()
	digest := testDigest()
	tests := []struct {
		name string
		id   Identity
		opts []SignerOption
	}{
		{"github workflow", GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main"), nil},
		{"github reusable workflow", GitHubReusable("acme/app", "refs/tags/v1.2.3", "acme/ci", ".github/workflows/slsa.yml", "refs/tags/v1"), nil},
		{"gitlab pipeline", GitLab("acme/platform", "refs/heads/main"), nil},
		{"github with RFC 3161 timestamp", GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main"), []SignerOption{WithTimestamp()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ss.Signer(tc.id, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			for _, pt := range []string{ocisig.CosignSignPredicateType, policy.SLSAProvenanceV1} {
				b, err := s.SignBundle(Statement(digest, pt, SLSAv1GitHub(tc.id)))
				if err != nil {
					t.Fatal(err)
				}
				res, err := verifyBundle(tr, loadBundle(t, b), digest, certID(t, tc.id), strict...)
				if err != nil {
					t.Fatalf("verify %s: %v", pt, err)
				}
				got := res.Signature.Certificate
				if got.SubjectAlternativeName != tc.id.SAN {
					t.Errorf("SAN = %q, want %q", got.SubjectAlternativeName, tc.id.SAN)
				}
				if got.Extensions != tc.id.Extensions {
					t.Errorf("extensions = %+v\nwant %+v", got.Extensions, tc.id.Extensions)
				}
				if res.Statement.GetPredicateType() != pt {
					t.Errorf("predicateType = %q", res.Statement.GetPredicateType())
				}
			}
		})
	}
}

func TestSignBundleFailsVerification(t *testing.T) {
	ss := newSigstore(t)
	tr := ss.TrustedRoot()
	digest := testDigest()
	gh := GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main")
	past := time.Now().Add(-2 * time.Hour)
	tests := []struct {
		name  string
		opts  []SignerOption
		want  string
		vopts []verify.VerifierOption
	}{
		{"certificate expired before the log integrated the entry", []SignerOption{WithValidity(past, past.Add(10*time.Minute))}, "outside certificate validity", strict},
		{"certificate from a CA outside the trusted root", []SignerOption{WithUntrustedCA()}, "leaf certificate verification failed", strict},
		{"no transparency log entry when one is required", []SignerOption{WithoutTlog(), WithTimestamp()}, "transparency log", strict},
		{"no SCT when one is required", []SignerOption{WithoutSCT()}, "SCT", strict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ss.Signer(gh, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.SignBundle(Statement(digest, policy.SLSAProvenanceV1, nil))
			if err != nil {
				t.Fatal(err)
			}
			_, err = verifyBundle(tr, loadBundle(t, b), digest, certID(t, gh), tc.vopts...)
			t.Logf("error: %v", err)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("wrong subject digest", func(t *testing.T) {
		s, _ := ss.Signer(gh)
		b, _ := s.SignBundle(Statement(digest, policy.SLSAProvenanceV1, nil))
		other := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
		if _, err := verifyBundle(tr, loadBundle(t, b), other, certID(t, gh), strict...); err == nil {
			t.Fatal("bundle verified for a digest it does not name")
		}
	})
	t.Run("other repository's identity", func(t *testing.T) {
		s, _ := ss.Signer(gh)
		b, _ := s.SignBundle(Statement(digest, policy.SLSAProvenanceV1, nil))
		evil := GitHub("acme-evil/app", ".github/workflows/release.yml", "refs/heads/main")
		if _, err := verifyBundle(tr, loadBundle(t, b), digest, certID(t, evil), strict...); err == nil {
			t.Fatal("bundle verified against another repository's identity")
		}
	})
}

func TestSignBundleTimestampOnly(t *testing.T) {
	ss := newSigstore(t)
	digest := testDigest()
	gh := GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main")
	s, err := ss.Signer(gh, WithoutTlog(), WithTimestamp())
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.SignBundle(Statement(digest, policy.SLSAProvenanceV1, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyBundle(ss.TrustedRoot(), loadBundle(t, b), digest, certID(t, gh),
		verify.WithSignedTimestamps(1), verify.WithSignedCertificateTimestamps(1)); err != nil {
		t.Fatal(err)
	}
}

func TestKeySignerBundle(t *testing.T) {
	ss := newSigstore(t)
	digest := testDigest()
	s, err := ss.KeySigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.SignBundle(Statement(digest, ocisig.CosignSignPredicateType, nil))
	if err != nil {
		t.Fatal(err)
	}
	bu := loadBundle(t, b)
	if hint := bu.GetVerificationMaterial().GetPublicKey().GetHint(); hint != s.KeyHint() {
		t.Fatalf("hint = %q, want %q", hint, s.KeyHint())
	}
	tm, err := ss.TrustedMaterialWithKeys(s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyBundle(tm, bu, digest, verify.WithKey(), verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1)); err != nil {
		t.Fatal(err)
	}
	other, _ := ss.KeySigner(nil)
	tm, _ = ss.TrustedMaterialWithKeys(other.PublicKey())
	if _, err := verifyBundle(tm, bu, digest, verify.WithKey(), verify.WithTransparencyLog(1)); err == nil {
		t.Fatal("verified with another key")
	}
}
