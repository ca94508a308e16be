package policyreport

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/signet-dev/signet/scan"
)

// TestChunksStayWithinLimits: every report is within its result and byte
// limits, no result is lost or duplicated, and the split is stable.
func TestChunksStayWithinLimits(t *testing.T) {
	rs := results(findings("prod", 503))
	for _, l := range []Limits{{MaxResults: 100}, {MaxBytes: 20 << 10}, {}} {
		chunks := chunk(rs, l)
		ld := l.withDefaults()
		seen := 0
		for i, c := range chunks {
			b, _ := json.Marshal(c)
			if len(c) > ld.MaxResults || len(b) > ld.MaxBytes+len(c) {
				t.Errorf("limits %+v: chunk %d has %d results, %d bytes", l, i, len(c), len(b))
			}
			seen += len(c)
		}
		if seen != len(rs) {
			t.Errorf("limits %+v: %d results in chunks, want %d", l, seen, len(rs))
		}
		reversed := slices.Clone(rs)
		slices.Reverse(reversed)
		again, _ := json.Marshal(chunk(reversed, l))
		first, _ := json.Marshal(chunks)
		if string(again) != string(first) {
			t.Errorf("limits %+v: the split depends on the input order", l)
		}
	}
}

// TestResultCarriesTheFinding: policy is the trust file and its hash; the
// message is the reason, bounded; digest and identity are properties.
func TestResultCarriesTheFinding(t *testing.T) {
	fs := findings("prod", 2)
	pass, fail := FromFinding(fs[0], "trust.yaml@sha256:000000000000"), FromFinding(fs[1], "x")
	if got := PolicyName("/etc/signet/trust.yaml", fs[0].PolicyHash); got != "trust.yaml@sha256:000000000000" {
		t.Errorf("policy name %q", got)
	}
	if pass.Properties["digest"] != fs[0].Digest || pass.Properties["identity"] != "app-release" || pass.Properties["policyHash"] != fs[0].PolicyHash {
		t.Errorf("properties %v", pass.Properties)
	}
	if pass.Resources[0].Kind != "Pod" || pass.Resources[0].Name != fs[0].Pod || string(pass.Resources[0].UID) != fs[0].PodUID {
		t.Errorf("resource %+v", pass.Resources[0])
	}
	if len(fail.Message) > MaxMessage || !utf8.ValidString(fail.Message) || !strings.HasPrefix(fs[1].Reason, strings.TrimSuffix(fail.Message, "…")) {
		t.Errorf("message not a valid prefix within %d bytes: %d bytes", MaxMessage, len(fail.Message))
	}
	if fail.Severity != "high" || pass.Severity != "" {
		t.Errorf("severity %q / %q", fail.Severity, pass.Severity)
	}
}

// TestResultTypesAFailedCondition: a failure about a required attestation
// names it, its condition and what it saw (bounded) as properties.
func TestResultTypesAFailedCondition(t *testing.T) {
	f := findings("prod", 2)[1]
	f.Detail = &scan.Detail{Code: "condition-failed", Codes: []string{"condition-failed", "no-signature"}, Attestation: "scan", PredicateType: "https://cosign.sigstore.dev/attestation/vuln/v1",
		Condition: "no-critical", Observed: strings.Repeat("CVE-2024-3094 ", 100)}
	p := FromFinding(f, "x").Properties
	if p["reasonCode"] != "condition-failed" || p["reasonCodes"] != "condition-failed,no-signature" || p["attestation"] != "scan" || p["condition"] != "no-critical" ||
		p["predicateType"] != f.Detail.PredicateType || !strings.HasPrefix(p["observed"], "CVE-2024-3094") || len(p["observed"]) > MaxObserved {
		t.Errorf("properties %v", p)
	}
}
