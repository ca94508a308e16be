package enforce

import (
	"context"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// stripDigests is a mutating webhook that runs after signet's and rewrites
// "app:v1@sha256:D" back to "app:v1".
func stripDigests(t *testing.T, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionRequest {
	t.Helper()
	w, err := ExtractWorkload(req.Kind.Kind, req.Object.Raw, false)
	if err != nil {
		t.Fatal(err)
	}
	var ops []byte
	for _, img := range w.Images {
		if tag, _, ok := strings.Cut(img.Image, "@"); ok {
			ops = append(ops, `,{"op":"replace","path":"`+img.Pointer+`","value":"`+tag+`"}`...)
		}
	}
	if len(ops) == 0 {
		t.Fatal("nothing to strip: the object carries no digest")
	}
	return patched(t, req, append(append([]byte("["), ops[1:]...), ']'))
}

// TestValidatingPassRequiresTheVerifiedDigest: the validating pass admits
// only the digest it verified. A later mutating webhook that strips the pin
// (or a mutating pass that never ran) leaves a tag, which is denied in
// enforce mode with a reason that says so, and reported in audit mode.
func TestValidatingPassRequiresTheVerifiedDigest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mutated := func(ns, image string) *admissionv1.AdmissionRequest {
		req := request(t, "Pod", ns, pod(podSpec(nil, []string{image})), admissionv1.Create, "")
		resp := f.h.Mutate(ctx, req)
		if !resp.Allowed || resp.Patch == nil {
			t.Fatalf("mutating pass: allowed=%v patch=%s %+v", resp.Allowed, resp.Patch, resp.Result)
		}
		return patched(t, req, resp.Patch)
	}
	cases := []struct {
		name  string
		req   *admissionv1.AdmissionRequest
		allow bool
		say   []string // in the denial, or in the audit warning
	}{
		{name: "the pinned object is admitted", req: mutated("prod", f.signed), allow: true},
		{name: "mutate, strip the digest, validate: denied", req: stripDigests(t, mutated("prod", f.signed)),
			say: []string{"container ca (" + f.signed + ")", "without the digest signet verified (" + f.signedDigest + ")", "a mutating webhook that ran after signet's removed the pin", f.signed + "@" + f.signedDigest}},
		{name: "a pin-only image stripped of its digest is denied", req: stripDigests(t, mutated("prod", f.vendor)),
			say: []string{"removed the pin, or signet's mutating webhook did not run"}},
		{name: "a tag the mutating pass never saw is denied", req: request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed})), admissionv1.Create, ""),
			say: []string{"signet's mutating webhook did not run"}},
		{name: "in an audit namespace a stripped digest is admitted and reported", req: stripDigests(t, mutated("dev", f.signed)), allow: true,
			say: []string{"signet audit: container ca", "removed the pin"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := f.h.Validate(ctx, c.req)
			if resp.Allowed != c.allow {
				t.Fatalf("allowed=%v, want %v: %+v", resp.Allowed, c.allow, resp.Result)
			}
			got := strings.Join(resp.Warnings, "\n")
			if resp.Result != nil {
				got += resp.Result.Message
			}
			for _, s := range c.say {
				if !strings.Contains(got, s) {
					t.Errorf("answer does not say %q:\n%s", s, got)
				}
			}
		})
	}
}

// TestUnchangedTagsNeedNoPin: an object that predates signet keeps its tag
// through an UPDATE that does not change it; a tag the UPDATE introduces
// must carry its digest by the validating pass.
func TestUnchangedTagsNeedNoPin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	stored := running(f.signed)
	labelled := stored.DeepCopy()
	labelled.Labels = map[string]string{"team": "a"}
	if resp := f.h.Validate(ctx, updateReq(t, "Pod", "", stored, labelled)); !resp.Allowed {
		t.Fatalf("a metadata update of a pod that predates signet was denied: %+v", resp.Result)
	}
	if resp := f.h.Validate(ctx, updateReq(t, "Pod", "", running(f.vendor), labelled)); resp.Allowed || !strings.Contains(resp.Result.Message, "removed the pin") {
		t.Fatalf("a tag introduced by an update was admitted without its digest: %+v", resp.Result)
	}
}
