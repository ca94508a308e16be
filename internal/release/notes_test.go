package release

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/policy"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testNotes() Notes {
	return Notes{
		Version: "v0.2.0", ChartVersion: "0.2.0", Prefix: "ghcr.io/signet-dev", Chart: "signet-enforce-0.2.0.tgz",
		Identity: GitHubIdentity,
		Images: []PublishedImage{
			{Name: "signet-enforce:v0.2.0", Digest: "sha256:" + strings.Repeat("1", 64)},
			{Name: "signet-sign:v0.2.0", Digest: "sha256:" + strings.Repeat("2", 64)},
			{Name: "signet-sign:v0.2.0-shell", Digest: "sha256:" + strings.Repeat("3", 64)},
		},
		Packages: []Package{{Name: "ca-certificates", Version: "20250419~deb12u2"}},
	}
}

// TestNotesGolden: the release notes, byte for byte (go test -update refreshes).
func TestNotesGolden(t *testing.T) {
	got, err := testNotes().Render()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "notes.golden.md")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("notes differ from %s (go test -update):\n%s", path, got)
	}
}

// TestTrustSnippet: the trust file the notes print loads, admits only
// signet's own repositories, and pins the release identity exactly: the
// reusable workflow of signet-dev/signet at a v* tag, from that repository.
func TestTrustSnippet(t *testing.T) {
	n := testNotes()
	snippet, err := n.TrustSnippet()
	if err != nil {
		t.Fatal(err)
	}
	notes, _ := n.Render()
	if !strings.Contains(string(notes), string(snippet)) {
		t.Fatal("the notes do not print the trust snippet verbatim")
	}
	p, err := policy.Parse(snippet, policy.WithSource("signet-trust.yaml"))
	if err != nil {
		t.Fatalf("the snippet does not load:\n%v\n%s", err, snippet)
	}
	for _, img := range []string{"ghcr.io/signet-dev/signet-enforce:v0.2.0", "ghcr.io/signet-dev/signet-sign:v0.2.0-shell"} {
		if m, err := p.Match(img); err != nil || m.Rule == nil || m.Rule.Name != "signet" {
			t.Errorf("%s: matched %+v (%v), want rule signet", img, m, err)
		}
	}
	for _, img := range []string{"ghcr.io/signet-dev/other:v1", "ghcr.io/signet-dev-evil/signet-sign:v0.2.0"} {
		if m, err := p.Match(img); err == nil && m.Rule != nil {
			t.Errorf("%s is admitted by rule %s", img, m.Rule.Name)
		}
	}
	for _, want := range []string{"repository: signet-dev/signet", "workflow: .github/workflows/reusable-release.yml", "refs: [refs/tags/v*]", "sourceMatchesSigner: true"} {
		if !strings.Contains(string(snippet), want) {
			t.Errorf("snippet lacks %q", want)
		}
	}
	if got := n.Identity.SAN(n.Identity.ImageWorkflow, "v0.2.0"); got != "https://github.com/signet-dev/signet/.github/workflows/reusable-release.yml@refs/tags/v0.2.0" {
		t.Errorf("image SAN %s", got)
	}
}
