package peer

import (
	"bytes"
	"slices"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/golden"
)

func loadExport(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.LoadFile("testdata/export/trust.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExportGolden: a trust file exported to each peer, objects and
// report, byte for byte (go test -update rewrites them).
func TestExportGolden(t *testing.T) {
	p := loadExport(t)
	for _, to := range []Target{TargetIVPOL, TargetCIP} {
		t.Run(string(to), func(t *testing.T) {
			ex, err := Export(p, to, Options{AllowWeaker: true})
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			got.Write(ex.YAML)
			got.WriteString("--- report\n")
			if err := ex.Report.WriteText(&got); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "testdata/export/trust."+string(to)+".golden", got.String(), *update)
		})
	}
}

// TestExportRefusesWeakerByDefault: an export the peer would hold to
// less than the trust file is refused without AllowWeaker.
func TestExportRefusesWeakerByDefault(t *testing.T) {
	ex, err := Export(loadExport(t), TargetIVPOL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !ex.Report.Refused || ex.Report.Count(Weaker) == 0 {
		t.Fatalf("refused %v with %d weaker differences", ex.Report.Refused, ex.Report.Count(Weaker))
	}
}

// TestExportThenImportDecidesAlike: exporting a trust file to a peer and
// importing the result gives, for every image and signer tried, the same
// decision: the same rule kind, and the same signers accepted (keys by key
// id, keyless identities by the certificates they accept). Where the round
// trip changes a decision on purpose (a reusable workflow, which the SAN
// regexp cannot tell apart), the export's report says so.
func TestExportThenImportDecidesAlike(t *testing.T) {
	p := loadExport(t)
	certs := map[string]certificate.Summary{
		"app on a tag":     ghCert("acme/app", ".github/workflows/release.yml", "refs/tags/v1.2"),
		"app on main":      ghCert("acme/app", ".github/workflows/release.yml", "refs/heads/main"),
		"app other file":   ghCert("acme/app", ".github/workflows/ci.yml", "refs/tags/v1.2"),
		"tools on main":    ghCert("acme/tools", ".github/workflows/release.yml", "refs/heads/main"),
		"evil on a tag":    ghCert("evil/app", ".github/workflows/release.yml", "refs/tags/v1.2"),
		"tools on a topic": ghCert("acme/tools", ".github/workflows/release.yml", "refs/heads/topic"),
	}
	images := []string{"ghcr.io/acme/app/api:1", "ghcr.io/acme/app/deep/x:1", "ghcr.io/acme/tools/cli:1", "nginx:1.25",
		"docker.io/library/redis@sha256:" + string(bytes.Repeat([]byte("a"), 64)), "ghcr.io/other/x:1"}
	for _, to := range []Target{TargetIVPOL, TargetCIP} {
		t.Run(string(to), func(t *testing.T) {
			ex, err := Export(p, to, Options{AllowWeaker: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := Import([]File{{Name: "exported.yaml", Data: ex.YAML}}, Options{AllowWeaker: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Report.Refused {
				var b bytes.Buffer
				res.Report.WriteText(&b)
				t.Fatalf("the export does not import:\n%s", b.String())
			}
			back, err := res.Check()
			if err != nil {
				t.Fatal(err)
			}
			for _, img := range images {
				want, got := decisionOf(t, p, img, certs), decisionOf(t, back, img, certs)
				if want == got {
					continue
				}
				// A difference on purpose is in the export's report, on the
				// rule that governs the image, as weaker or stricter.
				m, _ := p.Match(img)
				if !slices.ContainsFunc(ex.Report.Differences, func(d Difference) bool {
					return d.Source == m.Rule.Name && (d.Class == Weaker || d.Class == Stricter)
				}) {
					t.Errorf("%s: trust file decides %s, after the round trip %s, and the export's report says nothing of rule %s", img, want, got, m.Rule.Name)
				}
			}
		})
	}
}

// decisionOf summarizes what p requires of image: deny, pin-only, or the
// signers (key ids, accepted certificates) and threshold.
func decisionOf(t *testing.T, p *policy.Policy, image string, certs map[string]certificate.Summary) string {
	t.Helper()
	m, err := p.Match(image)
	if err != nil {
		return "no rule"
	}
	r := m.Rule
	switch r.Kind() {
	case policy.RuleDeny:
		return "deny"
	case policy.RulePinOnly:
		return "pin-only"
	}
	var signers []string
	for _, id := range r.SignedBy {
		if id.Key != nil {
			signers = append(signers, "key "+id.Key.KeyID[:12])
		}
		for name, c := range certs {
			if id.Keyless != nil && id.MatchCertificate(c) == nil {
				signers = append(signers, name)
			}
		}
	}
	slices.Sort(signers)
	return slices.Concat([]string{string(p.ModeOf(r))}, slices.Compact(signers))[0] + " " + joinNames(slices.Compact(signers)) + " threshold " + string(rune('0'+r.Threshold))
}

func ghCert(repo, workflow, ref string) certificate.Summary {
	uri := "https://github.com/" + repo + "/" + workflow + "@" + ref
	return certificate.Summary{SubjectAlternativeName: uri, Extensions: certificate.Extensions{
		Issuer: ci.GitHubIssuer, BuildSignerURI: uri, SourceRepositoryURI: "https://github.com/" + repo, SourceRepositoryRef: ref}}
}
