package release

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOneVersionEverywhere: every place that names a signet release (uses:
// and include: refs, go install, image tags, the templates' signet-version
// defaults, raw URLs) names the version Chart.yaml declares, so bumping the
// release is one change that this test checks for completeness.
func TestOneVersionEverywhere(t *testing.T) {
	root := moduleRoot(t)
	want, err := ReleaseVersion(root)
	if err != nil {
		t.Fatal(err)
	}
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`signet-dev/signet(?:/[\w./-]+)?@(v\d+\.\d+\.\d+)`),
		regexp.MustCompile(`signet-dev/signet/(v\d+\.\d+\.\d+)/`),
		regexp.MustCompile(`signet-(?:sign|enforce):(v\d+\.\d+\.\d+)`),
		regexp.MustCompile(`(?m)signet-version:\n(?:\s+.*\n)*?\s+default: (v\d+\.\d+\.\d+)`),
		regexp.MustCompile(`signet-version: (v\d+\.\d+\.\d+)`),
	}
	found := 0
	for _, dir := range []string{"README.md", "docs", "examples", "ci-templates", "templates", ".github", "deploy/charts", "build"} {
		filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") || strings.Contains(p, "testdata") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			for _, re := range patterns {
				for _, m := range re.FindAllSubmatch(b, -1) {
					found++
					if string(m[1]) != want {
						t.Errorf("%s names signet %s (%q), the chart says %s", rel, m[1], m[0], want)
					}
				}
			}
			return nil
		})
	}
	if found < 10 {
		t.Fatalf("found only %d version references: the patterns no longer match the templates", found)
	}
}
