package sign

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/ocisig"
)

// Report is the document `sign image` and `sign attest` print: what the
// run did (its Result) and, when it failed, why. Its JSON (-o json) is the
// Result's fields and "error"; programs, signet's own end-to-end tests
// among them, read it with this type. Its text is the CI log's lines, and
// Outputs what the job hands to later steps.
type Report struct {
	Result
	Error string `json:"error,omitempty"`
}

// NewReport is the report of a run that returned res and err (res not nil:
// Run returns a Result, also when it fails).
func NewReport(res *Result, err error) *Report {
	r := &Report{Result: *res}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// WriteJSON writes the report as `sign image -o json` does.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a CI log: the preflight when it refused
// or has notes, then the pinned reference, what was attached where, and
// the post-check's verdict. The error is the command's to print.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	if p := r.Preflight; p != nil && (!p.OK || len(p.Notes) > 0) {
		if err := p.WriteText(&b); err != nil {
			return err
		}
	}
	if r.Digest != "" {
		fmt.Fprintf(&b, "%s\n", r.Pinned)
		for _, a := range r.Signed {
			fmt.Fprintf(&b, "  signed   %s%s\n", a.Digest, where(a))
		}
		for _, a := range r.Attested {
			fmt.Fprintf(&b, "  attested %s%s\n", a.Digest, where(a))
		}
		if d := r.Decision; d != nil {
			verdict := "allowed"
			switch {
			case len(r.Pending) > 0:
				verdict = "pending, until other runs attach: " + strings.Join(r.Pending, "; ")
			case !d.Allowed:
				verdict = "DENIED: " + strings.Join(d.Messages(), "; ")
			}
			fmt.Fprintf(&b, "  post-check (policy %s): %s\n", d.PolicyHash, verdict)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// where says where an attachment went: the layouts it was written in (and
// what that did to the signer's earlier entries) and its log entry.
func where(a Attached) string {
	var parts []string
	if a.Bundle != "" {
		parts = append(parts, "bundle "+a.Bundle+outcome(a.BundleWrite))
	}
	if a.LegacyTag != "" {
		parts = append(parts, "tag "+a.LegacyTag+outcome(a.LegacyWrite))
	}
	if a.Notation != "" {
		parts = append(parts, "notation "+a.Notation+outcome(a.NotationWrite))
	}
	if a.LogIndex != nil {
		parts = append(parts, fmt.Sprintf("rekor #%d", *a.LogIndex))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// outcome says what a write did about the signer's earlier entries, when
// it did more than add the first one.
func outcome(o *ocisig.Outcome) string {
	switch {
	case o == nil:
		return ""
	case o.Action == ocisig.ActionUnchanged:
		return " unchanged, already there"
	case o.Action == ocisig.ActionReplaced:
		return fmt.Sprintf(" replacing %d earlier of this signer", len(o.Replaced))
	case o.Warning != "":
		return " added; " + o.Warning
	}
	return ""
}

// Outputs are the job's step outputs (digest, image, signed_digests,
// attestation_bundle: the names ci-templates/github/action.yml passes on)
// and its step summary. A run that resolved no digest has none.
func (r *Report) Outputs() ci.Outputs {
	if r.Digest == "" {
		return ci.Outputs{}
	}
	v := map[string]string{"digest": r.Digest, "image": r.Pinned}
	var signed []string
	for _, a := range r.Signed {
		if !slices.Contains(signed, a.Digest) { // a Sigstore and a Notation signature of one digest
			signed = append(signed, a.Digest)
		}
	}
	if len(signed) > 0 {
		v["signed_digests"] = strings.Join(signed, ",")
	}
	for _, a := range r.Attested {
		if a.Bundle != "" {
			v["attestation_bundle"] = a.Bundle
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### signet\n\n| | |\n|---|---|\n| image | `%s` |\n", r.Pinned)
	fmt.Fprintf(&b, "| signed | %d manifest(s) |\n| attested | %d |\n", len(r.Signed), len(r.Attested))
	if d := r.Decision; d != nil {
		fmt.Fprintf(&b, "| post-check | allowed=%v (policy `%s`) |\n", d.Allowed, d.PolicyHash)
	}
	b.WriteString("\n")
	return ci.Outputs{Values: v, Summary: b.String()}
}
