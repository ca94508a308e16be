package scan

import (
	"reflect"
	"testing"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// TestFindingTypesTheAttestationThatFailed: a failure reads the code of its
// first reason and, from the reason about an attestation, which one, which
// condition, and what it saw.
func TestFindingTypesTheAttestationThatFailed(t *testing.T) {
	d := &verify.Decision{Reasons: []verify.Reason{
		{Code: verify.CodeNoSignature, Message: "unsigned"},
		{Code: verify.CodeConditionFailed, Message: "fails", Attestation: &verify.AttestationRef{Requirement: "scan", PredicateType: "vuln-uri", Condition: "no-critical"},
			Mismatch: policy.Mismatch{Actual: "v = [CVE-2024-3094]"}},
	}}
	var f Finding
	f.read(d)
	got := f.Detail
	want := Detail{Code: "no-signature", Codes: []string{"no-signature", "condition-failed"}, Attestation: "scan", PredicateType: "vuln-uri", Condition: "no-critical", Observed: "v = [CVE-2024-3094]"}
	if got == nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("detail %+v, want %+v", got, want)
	}
}
