package enforce

import (
	"context"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/policy"
)

// TestPinFalseKeepsTheTagNotTheVerification: under a rule with pin: false
// the mutating pass leaves the workload's tag alone (GitOps sees no drift)
// while other rules' images are still pinned; the validating pass admits
// the tag without a pin only because it verified the digest the tag names
// when it runs, says so in a warning, and denies when that digest fails:
// an unsigned image, or a tag moved to an unsigned digest.
func TestPinFalseKeepsTheTagNotTheVerification(t *testing.T) {
	f := newFixture(t)
	f.w.SetPolicy(strings.Replace(enforcePolicy, "signedBy: [app-release]}", "signedBy: [app-release], pin: false}", 1))
	p, err := policy.LoadFile(f.w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	ctx := context.Background()
	both := request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed, f.vendor})), admissionv1.Create, "")

	resp := f.h.Mutate(ctx, both)
	if !resp.Allowed {
		t.Fatalf("mutating pass denied: %+v", resp.Result)
	}
	final := patched(t, both, resp.Patch)
	w, err := ExtractWorkload("Pod", final.Object.Raw, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Images[0].Image; got != f.signed {
		t.Errorf("the pin: false image became %s, want its tag kept: %s", got, f.signed)
	}
	if got := w.Images[1].Image; got != f.vendor+"@"+f.vendorDigest {
		t.Errorf("the pinned rule's image became %s, want %s@%s", got, f.vendor, f.vendorDigest)
	}

	resp = f.h.Validate(ctx, final)
	if !resp.Allowed {
		t.Fatalf("validating pass denied the tag of a pin: false rule: %+v", resp.Result)
	}
	note := strings.Join(resp.Warnings, "\n")
	for _, s := range []string{"container ca (" + f.signed + ")", "verified at " + f.signedDigest, "the spec keeps its tag", `rule "acme" has pin: false`} {
		if !strings.Contains(note, s) {
			t.Errorf("the warnings do not say %q:\n%s", s, note)
		}
	}

	unsigned := request(t, "Pod", "prod", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, "")
	if resp := f.h.Validate(ctx, unsigned); resp.Allowed || !strings.Contains(resp.Result.Message, "has no signatures") {
		t.Errorf("an unsigned image under pin: false: allowed=%v %+v, want denied for its signature", resp.Allowed, resp.Result)
	}

	f.w.Push("acme/app:1.0") // the tag now names an unsigned digest
	if resp := f.h.Validate(ctx, final); resp.Allowed || !strings.Contains(resp.Result.Message, "has no signatures") {
		t.Errorf("after the tag moved to an unsigned digest: allowed=%v %+v, want denied", resp.Allowed, resp.Result)
	}
}
