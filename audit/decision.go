package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// This file is the one place that reads a verify.Decision. Everything else
// in audit (and the reports and `sign audit` rendered from it) works on
// Findings. (The Memo keeps Decisions whole, and the Engine presents a kept
// one with verify's Target.Present: reading them is this file's alone.)

// verdict is what a Finding takes from a Decision.
type verdict struct {
	result     Result
	rule       string
	identities []string
	reason     string
	// mode is the decision's own mode (the rule's or the policy's).
	mode   policy.Mode
	detail *Detail
}

func readDecision(d *verify.Decision) verdict {
	v := verdict{mode: d.Mode}
	if d.Rule != nil {
		v.rule = d.Rule.Name
	}
	for _, s := range d.Signatures {
		if !slices.Contains(v.identities, s.Identity) {
			v.identities = append(v.identities, s.Identity)
		}
	}
	switch {
	case len(d.Reasons) > 0 && d.Transient:
		v.result, v.reason = Error, strings.Join(d.Messages(), "; ")
	case len(d.Reasons) > 0:
		v.result, v.reason = Fail, strings.Join(d.Messages(), "; ")
	default:
		v.result, v.reason = Pass, passReason(d, v.identities)
	}
	v.detail = readDetail(d.Reasons)
	return v
}

// readDetail types a failure: the first reason's code and, from the first
// reason about an attestation, which one, which condition, what it saw.
func readDetail(rs []verify.Reason) *Detail {
	if len(rs) == 0 {
		return nil
	}
	dt := &Detail{Code: string(rs[0].Code)}
	for _, r := range rs {
		if a := r.Attestation; a != nil {
			dt.Attestation, dt.PredicateType, dt.Condition = a.Requirement, a.PredicateType, a.Condition
			if r.Code == verify.CodeConditionFailed {
				dt.Observed = r.Actual
			}
			break
		}
	}
	return dt
}

// passReason says what was accepted; the webhook gives no reason for an
// allow, so this is the same facts `sign verify` prints.
func passReason(d *verify.Decision, identities []string) string {
	rule := "its rule"
	if d.Rule != nil {
		rule = fmt.Sprintf("rule %q", d.Rule.Name)
		if d.Rule.Kind == policy.RulePinOnly {
			return rule + " pins the digest and needs no signature"
		}
	}
	msg := fmt.Sprintf("signed by %s, as %s requires", strings.Join(identities, ", "), rule)
	if len(d.Attestations) > 0 {
		msg += fmt.Sprintf("; provenance %s by %s", d.Attestations[0].PredicateType, d.Attestations[0].Identity)
	}
	return msg
}

// seedable reports whether a decision may be kept in the Memo: it is about
// a digest (not decided by the policy alone before resolution) and not an
// infrastructure failure.
func seedable(d *verify.Decision) bool {
	return d != nil && d.Digest != "" && d.Rule != nil && !d.Transient
}
