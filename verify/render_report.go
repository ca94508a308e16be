package verify

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/signet-dev/signet/policy"
)

// ReportKind is the kind of the document Report is.
const ReportKind = "VerifyResult"

// Report is the document `sign verify -o json` prints: the decisions about
// some images under one policy. It is a stable interface (see
// docs/verify-json.md): fields are only ever added, never renamed or
// removed, and programs (signet's own end-to-end tests among them) read it
// with this type.
type Report struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Policy     string `json:"policy"`
	PolicyHash string `json:"policyHash"`
	// Allowed is set when every decision is allowed.
	Allowed   bool        `json:"allowed"`
	Decisions []*Decision `json:"decisions"`
}

// NewReport is the report of decisions made under p.
func NewReport(p *policy.Policy, decisions []*Decision) *Report {
	r := &Report{APIVersion: policy.APIVersion, Kind: ReportKind, Policy: p.Source, PolicyHash: p.Hash, Allowed: true, Decisions: decisions}
	for _, d := range decisions {
		r.Allowed = r.Allowed && d.Allowed
	}
	return r
}

// Transient reports whether no decision is a denial on its merits but one
// is a denial by infrastructure (Decision.Transient): retrying may help.
func (r *Report) Transient() bool {
	transient := false
	for _, d := range r.Decisions {
		switch {
		case d.Allowed:
		case !d.Transient:
			return false
		default:
			transient = true
		}
	}
	return transient
}

// WriteJSON writes the report as `sign verify -o json` does.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes each decision's explanation, a blank line between two.
func (r *Report) WriteText(w io.Writer) error {
	for i, d := range r.Decisions {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := d.WriteText(w); err != nil {
			return err
		}
	}
	return nil
}
