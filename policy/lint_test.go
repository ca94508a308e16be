package policy

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestLintGolden: every file in testdata/lint is one lint error
// (error-*.yaml: the file does not load) or one warning (warning-*.yaml: it
// loads, with that warning), and `sign policy lint`'s text for it is its
// .golden file, byte for byte (go test -update rewrites them).
func TestLintGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/lint/*.yaml")
	if len(files) == 0 {
		t.Fatal("no lint fixtures")
	}
	codes := map[WarningCode]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			r := Lint(f)
			var b strings.Builder
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			switch {
			case strings.HasPrefix(name, "error-"):
				if r.Valid || len(r.Errors) == 0 {
					t.Fatalf("loaded without error:\n%s", b.String())
				}
			case strings.HasPrefix(name, "warning-"):
				if !r.Valid || len(r.Warnings) == 0 {
					t.Fatalf("want a loadable file with a warning:\n%s", b.String())
				}
				for _, w := range r.Warnings {
					codes[w.Code] = true
				}
			default:
				t.Fatalf("fixture %s is neither error-* nor warning-*", f)
			}
			golden.Check(t, strings.TrimSuffix(f, ".yaml")+".golden", b.String(), *update)
		})
	}
	for _, c := range []WarningCode{WarnUnescapedDot, WarnCatchAllOptional, WarnUnusedIdentity, WarnUnreachableRule, WarnThresholdOneRepository, WarnLabelExemption,
		WarnConditionAlwaysTrue, WarnConditionAlwaysFalse, WarnPatternTag, WarnSegmentStar, WarnLiteralStarSubject} {
		if !codes[c] {
			t.Errorf("no golden file shows warning %s", c)
		}
	}
}

// TestLabelSelectorOnTheNamespaceNameIsQuiet: the apiserver sets
// kubernetes.io/metadata.name to the name and refuses changes to it, so a
// selector on it is a selection by name and draws no label-exemption
// warning.
func TestLabelSelectorOnTheNamespaceNameIsQuiet(t *testing.T) {
	p, err := Parse([]byte(header + "images: [{match: ['**'], deny: x}]\nenforcement: {namespaces: {exemptLabels: {kubernetes.io/metadata.name: kube-system}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range p.Warnings {
		if w.Code == WarnLabelExemption {
			t.Errorf("selector by name warned: %s", w)
		}
	}
}
