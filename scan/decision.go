package scan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// This file is the one place that reads a verify.Decision. Everything else
// in audit (and the reports and `sign audit` rendered from it) works on
// Findings.

// read fills f from d, a decision as it applies in f's namespace
// (verify.Decision.InNamespace).
func (f *Finding) read(d *verify.Decision) {
	f.Mode, f.DecidedAt = policy.ModeEnforce, d.DecidedAt
	if d.Mode == policy.ModeAudit {
		f.Mode = policy.ModeAudit
	}
	if d.Rule != nil {
		f.Rule = d.Rule.Name
	}
	for _, s := range d.Signatures {
		if !slices.Contains(f.Identities, s.Identity) {
			f.Identities = append(f.Identities, s.Identity)
		}
	}
	switch {
	case d.Outcome() == verify.OutcomeAllow:
		f.Result, f.Reason = Pass, passReason(d, f.Identities)
	case d.Transient:
		f.Result, f.Reason = Error, strings.Join(d.Messages(), "; ")
	default:
		f.Result, f.Reason = Fail, strings.Join(d.Messages(), "; ")
	}
	f.Detail = readDetail(d.Reasons)
}

// readDetail types a failure: the first reason's code, every reason's,
// and, from the first
// reason about an attestation, which one, which condition, what it saw.
func readDetail(rs []verify.Reason) *Detail {
	if len(rs) == 0 {
		return nil
	}
	dt := &Detail{Code: string(rs[0].Code)}
	for _, r := range rs {
		if c := string(r.Code); c != "" && !slices.Contains(dt.Codes, c) {
			dt.Codes = append(dt.Codes, c)
		}
	}
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
