package audit

import (
	"testing"
	"time"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// TestMemoForgetsADecisionPastItsValidity: a decision that rests on an
// attestation's maxAge is not remembered past it, however young the entry.
func TestMemoForgetsADecisionPastItsValidity(t *testing.T) {
	now := time.Now()
	until := now.Add(time.Minute)
	d := &verify.Decision{Image: "r/a@sha256:00", Digest: "sha256:00", Rule: &verify.RuleRef{Name: "a"}, Allowed: true, ValidUntil: &until}
	m := &Memo{}
	m.put("k", d, now)
	if _, _, ok := m.get("k", now.Add(59*time.Second), false); !ok {
		t.Fatal("forgotten before it expired")
	}
	if _, _, ok := m.get("k", until, false); ok {
		t.Fatal("remembered past its ValidUntil")
	}
}

// TestFindingTypesTheAttestationThatFailed: a failure reads the code of its
// first reason and, from the reason about an attestation, which one, which
// condition, and what it saw.
func TestFindingTypesTheAttestationThatFailed(t *testing.T) {
	d := &verify.Decision{Reasons: []verify.Reason{
		{Code: verify.CodeNoSignature, Message: "unsigned"},
		{Code: verify.CodeConditionFailed, Message: "fails", Attestation: &verify.AttestationRef{Requirement: "scan", PredicateType: "vuln-uri", Condition: "no-critical"},
			Mismatch: policy.Mismatch{Actual: "v = [CVE-2024-3094]"}},
	}}
	got := readDecision(d).detail
	want := Detail{Code: "no-signature", Attestation: "scan", PredicateType: "vuln-uri", Condition: "no-critical", Observed: "v = [CVE-2024-3094]"}
	if got == nil || *got != want {
		t.Fatalf("detail %+v, want %+v", got, want)
	}
}
