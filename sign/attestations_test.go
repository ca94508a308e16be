package sign

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// scanPredicate and bomPredicate are what --vuln and --sbom attach.
func scanPredicate(t *testing.T, severities ...string) attest.Predicate {
	return predicateOf(t, policy.PredicateVuln, testworld.TrivyScan(severities...))
}

func bomPredicate(t *testing.T, names ...string) attest.Predicate {
	return predicateOf(t, policy.PredicateCycloneDX, testworld.CycloneDXBOM(names...))
}

func predicateOf(t *testing.T, typ string, v any) attest.Predicate {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return attest.Predicate{Type: typ, JSON: raw}
}

// TestPreflightPredictsTheConditions: preflight evaluates the trust file's
// CEL conditions on what the run attaches, as the cluster will, and notes
// (without refusing) what the rule requires that the run does not attach.
func TestPreflightPredictsTheConditions(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	p := loadPolicy(t, w)
	_, _, sum := ciIdentity(t, githubClaims("acme/app", "refs/heads/main"))
	signer, image := Signer{Certificate: &sum}, w.Ref("acme/attested/app")
	for _, tc := range []struct {
		name     string
		attach   []attest.Predicate
		ok       bool
		saw, say string
	}{
		{"a clean scan and an SBOM pass", []attest.Predicate{scanPredicate(t, "HIGH"), bomPredicate(t, "openssl")}, true, "", ""},
		{"a scan with a critical finding is refused, naming it", []attest.Predicate{scanPredicate(t, "CRITICAL"), bomPredicate(t)}, false, "CVE-2024-3094", ""},
		{"an SBOM with a denied package is refused", []attest.Predicate{bomPredicate(t, "xz-utils")}, false, `"name": "xz-utils"`, ""},
		{"a clean scan alone passes, noting the SBOM another step attaches", []attest.Predicate{scanPredicate(t)}, true, "", "sign attest --sbom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Preflight(p, image, signer, tc.attach)
			var text strings.Builder
			_ = r.WriteText(&text)
			if r.OK != tc.ok || len(r.Problems) != 0 {
				t.Fatalf("ok=%v problems=%v, want ok=%v:\n%s", r.OK, r.Problems, tc.ok, text.String())
			}
			if tc.saw != "" && (len(r.Conditions) != 1 || !strings.Contains(r.Conditions[0].Actual, tc.saw) || !strings.Contains(text.String(), tc.saw)) {
				t.Fatalf("conditions %+v, want one that saw %q:\n%s", r.Conditions, tc.saw, text.String())
			}
			if !strings.Contains(strings.Join(r.Notes, "\n"), tc.say) {
				t.Fatalf("notes %q, want one saying %q", r.Notes, tc.say)
			}
		})
	}
}

// TestAttestationsFromSeparateRuns: the SBOM, the signature and a nightly
// re-scan come from separate runs. A run that attached its part is not
// failed for what others have not attached yet (pending); a re-scan with
// a critical finding is refused before it publishes, unless it is meant to
// reach the cluster (PublishFailing), and then the post-check fails it.
func TestAttestationsFromSeparateRuns(t *testing.T) {
	k, _ := newKeylessRun(t, 0)
	image := k.push(t, "acme/attested/app:1")
	claims := githubClaims("acme/app", "refs/heads/main")
	run := func(sign bool, publishFailing bool, attach ...attest.Predicate) (*Result, error) {
		t.Helper()
		tok, _, sum := ciIdentity(t, claims)
		s, err := NewSession(Config{IDToken: tok, FulcioURL: k.fulcio, TSAURLs: []string{k.tsa}, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return Run(context.Background(), s, Request{Image: image, Format: FormatBoth, Sign: sign, Attest: attach, PublishFailing: publishFailing,
			Policy: k.policy, Signer: Signer{Certificate: &sum}, PostCheck: NewPostCheck()})
	}

	res, err := run(false, false, bomPredicate(t, "openssl"))
	if err != nil || len(res.Pending) != 2 || !res.Decision.Has(verify.CodeNoSignature) || !res.Decision.Has(verify.CodeNoAttestation) {
		t.Fatalf("SBOM-only run: err %v, pending %q", err, res.Pending)
	}
	if res, err = run(true, false, scanPredicate(t)); err != nil || !res.Decision.Allowed || res.Pending != nil {
		t.Fatalf("signing run with a clean scan: err %v, allowed %v", err, res.Decision.Allowed)
	}
	attested := len(res.Attested)

	res, err = run(false, false, scanPredicate(t, "CRITICAL"))
	if !errors.Is(err, ErrPreflight) || res.Digest != "" || !strings.Contains(err.Error(), "CVE-2024-3094") {
		t.Fatalf("a failing re-scan: err %v, published for %q; want refused by preflight before publishing", err, res.Digest)
	}
	if d := verify.New().Verify(context.Background(), image, k.policy); !d.Allowed {
		t.Fatalf("after the refused re-scan the image must still be admitted: %v", d.Messages())
	}

	res, err = run(false, true, scanPredicate(t, "CRITICAL"))
	if !errors.Is(err, ErrPostCheck) || len(res.Attested) != attested || !strings.Contains(err.Error(), "CVE-2024-3094") {
		t.Fatalf("a failing re-scan with PublishFailing: err %v, attested %d; want published and failed by the post-check", err, len(res.Attested))
	}
}

// TestSBOMRunUnderAProvenanceRule: under a rule that requires provenance
// and an SBOM, a run that attaches only the SBOM is not refused: the SBOM
// is not provenance of the wrong type, and the provenance is another run's.
func TestSBOMRunUnderAProvenanceRule(t *testing.T) {
	p, err := policy.New(policy.Spec{
		Identities: []policy.IdentitySpec{{Name: "app-release", Keyless: &policy.KeylessSpec{Issuer: "https://token.actions.githubusercontent.com",
			Repository: "acme/app", Workflow: ".github/workflows/release.yml", Refs: []string{"refs/heads/main"}}}},
		Images: []policy.RuleSpec{{Match: []string{"ghcr.io/acme/**"}, SignedBy: []string{"app-release"}, Provenance: &policy.ProvenanceSpec{},
			Attestations: []policy.AttestationSpec{{Type: "cyclonedx"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, sum := ciIdentity(t, githubClaims("acme/app", "refs/heads/main"))
	r := Preflight(p, "ghcr.io/acme/app", Signer{Certificate: &sum}, []attest.Predicate{bomPredicate(t)})
	if !r.OK || !strings.Contains(strings.Join(r.Notes, "\n"), "provenance/v1 attestation") {
		t.Fatalf("ok=%v problems=%+v notes=%q", r.OK, r.Problems, r.Notes)
	}
}

// TestRerunReplacesEachAttestation: a run that attaches an SBOM and a scan
// (both layouts) and runs again replaces its own earlier SBOM and scan,
// each by its predicate type, as it does a provenance: one of each stays.
func TestRerunReplacesEachAttestation(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	d := w.Push("acme/attested/app:1")
	r := newRerun(t, w, true)
	for i := range 3 {
		cfg, req := r.request(t, d.String())
		req.Attest = []attest.Predicate{bomPredicate(t, "openssl"), scanPredicate(t, "HIGH")}
		s, err := NewSession(cfg)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), s, req)
		if err != nil || !res.Decision.Allowed || len(res.Attested) != 2 {
			t.Fatalf("run %d: err %v, attested %d", i+1, err, len(res.Attested))
		}
		for _, a := range res.Attested {
			for layout, o := range map[string]*ocisig.Outcome{"bundle": a.BundleWrite, "legacy": a.LegacyWrite} {
				if i > 0 && (o == nil || o.Action != ocisig.ActionReplaced || len(o.Replaced) != 1) {
					t.Fatalf("run %d, %s layout: outcome %+v, want one earlier entry of ours replaced", i+1, layout, o)
				}
			}
		}
	}
	got := entries(t, d)
	if len(got["legacy attestation"]) != 2 || len(got["bundle "+policy.PredicateVuln]) != 1 || len(got["bundle "+policy.PredicateCycloneDX]) != 1 {
		t.Fatalf("after three runs: %d .att layers, %d scan and %d SBOM bundles; want 2, 1, 1",
			len(got["legacy attestation"]), len(got["bundle "+policy.PredicateVuln]), len(got["bundle "+policy.PredicateCycloneDX]))
	}
}
