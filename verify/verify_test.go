package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// TestSpecification runs the shared allow/deny table through the engine
// directly, in both layouts, and for bundles also on a registry without the
// referrers API (found through the referrers tag).
func TestSpecification(t *testing.T) {
	type env struct {
		name        string
		layout      ocisig.Layout
		noReferrers bool
	}
	envs := []env{
		{"legacy", ocisig.LayoutLegacy, false},
		{"bundle-referrers-api", ocisig.LayoutBundle, false},
		{"bundle-referrers-tag", ocisig.LayoutBundle, true},
	}
	for _, e := range envs {
		t.Run(e.name, func(t *testing.T) {
			w := testworld.New(t, testworld.Options{NoReferrers: e.noReferrers})
			p, err := policy.LoadFile(w.PolicyPath)
			if err != nil {
				t.Fatal(err)
			}
			v := verify.New()
			for _, c := range testworld.Cases {
				t.Run(c.Name, func(t *testing.T) {
					image := c.Setup(w, e.layout)
					d := v.Verify(context.Background(), image, p)
					checkDecision(t, c, d)
				})
			}
		})
	}
}

func checkDecision(t *testing.T, c testworld.Case, d *verify.Decision) {
	t.Helper()
	var text strings.Builder
	_ = d.WriteText(&text)
	if d.Allowed != c.Allow {
		t.Fatalf("allowed=%v, want %v\n%s", d.Allowed, c.Allow, text.String())
	}
	if !c.Allow && !strings.Contains(strings.Join(d.Messages(), "\n"), c.Reason) {
		t.Fatalf("denial does not say %q:\n%s", c.Reason, text.String())
	}
	if d.PolicyHash == "" {
		t.Fatal("decision without policy hash")
	}
	if c.Signatures != 0 && len(d.Signatures) != c.Signatures {
		t.Fatalf("%d signatures listed, want %d (each counted signer once)\n%s", len(d.Signatures), c.Signatures, text.String())
	}
	if c.Allow && d.Rule.Kind != "deny" && !strings.Contains(d.Pinned, "@sha256:") {
		t.Fatalf("allowed image not pinned to a digest: %q", d.Pinned)
	}
}
