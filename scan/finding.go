package scan

import (
	"time"

	"github.com/signet-dev/signet/policy"
)

// Result is the outcome of one target, in PolicyReport terms.
type Result string

const (
	// Pass: the digest that runs satisfies its rule.
	Pass Result = "pass"
	// Fail: it does not; the webhook denies it (Mode enforce) or admits it
	// with a warning (Mode audit). Switching to enforce breaks exactly these.
	Fail Result = "fail"
	// Error: the decision could not be made (a registry, TUF or the trusted
	// root was unreachable); the webhook would deny, failing closed. Retried
	// on the next pass.
	Error Result = "error"
	// Skip: not verified: an exempt namespace, or no digest is known for
	// what runs.
	Skip Result = "skip"
)

// Finding is one target's result under one policy: the typed record that
// `sign audit` and the PolicyReports render.
type Finding struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	PodUID    string `json:"podUID,omitempty"`
	Workload  string `json:"workload,omitempty"`
	Container string `json:"container"`
	Image     string `json:"image"`
	// Digest is what was verified: the digest that runs.
	Digest     string       `json:"digest,omitempty"`
	DigestFrom DigestSource `json:"digestFrom,omitempty"`
	Result     Result       `json:"result"`
	// Mode is how the webhook treats a failure of this image in this
	// namespace: enforce (denied) or audit (admitted, reported).
	Mode policy.Mode `json:"mode,omitempty"`
	// Rule is the name of the rule that governs the image.
	Rule string `json:"rule,omitempty"`
	// Identities are the trust file identities whose signatures were
	// accepted.
	Identities []string `json:"identities,omitempty"`
	// Reason is the webhook's reason for a failure (the same words), or
	// what was accepted for a pass.
	Reason     string    `json:"reason,omitempty"`
	PolicyHash string    `json:"policyHash"`
	DecidedAt  time.Time `json:"decidedAt"`

	// Detail types the reason of a failure.
	Detail *Detail `json:"detail,omitempty"`
}

// Denied reports whether the webhook, in enforce mode, would refuse it:
// a failure, or a decision that could not be made (fail closed).
func (f Finding) Denied() bool { return f.Result == Fail || f.Result == Error }

// Summary counts findings by result.
type Summary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

// Summarize counts fs.
func Summarize(fs []Finding) Summary {
	var s Summary
	for _, f := range fs {
		switch f.Result {
		case Pass:
			s.Pass++
		case Fail:
			s.Fail++
		case Error:
			s.Error++
		case Skip:
			s.Skip++
		}
	}
	return s
}

// Detail is a failure's reason as data: its code (verify.ReasonCode) and,
// when it is about an attestation a rule requires, the requirement, its
// predicate type, the condition and the values the condition saw.
type Detail struct {
	Code string `json:"code"`
	// Codes are the codes of every reason, each once, in order (Code is
	// the first).
	Codes         []string `json:"codes,omitempty"`
	Attestation   string   `json:"attestation,omitempty"`
	PredicateType string   `json:"predicateType,omitempty"`
	Condition     string   `json:"condition,omitempty"`
	Observed      string   `json:"observed,omitempty"`
}
