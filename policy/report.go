package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// LintReport is the result of checking one trust file: its errors (the
// file does not load) or, for a file that loads, its hash and warnings.
// `sign policy lint` renders it as text or JSON.
type LintReport struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	File       string       `json:"file"`
	Valid      bool         `json:"valid"`
	Hash       string       `json:"hash,omitempty"`
	Identities int          `json:"identities"`
	Rules      int          `json:"rules"`
	Errors     []FieldError `json:"errors"`
	Warnings   []Warning    `json:"warnings"`
}

// Lint loads the trust file at path and reports on it. It never fails: an
// unreadable file is an error of the report.
func Lint(path string) *LintReport {
	r := &LintReport{APIVersion: APIVersion, Kind: "LintReport", File: path, Errors: []FieldError{}, Warnings: []Warning{}}
	p, err := LoadFile(path)
	var le *LoadError
	switch {
	case errors.As(err, &le):
		r.Errors = le.Errors
		return r
	case err != nil:
		r.Errors = []FieldError{{File: path, Msg: err.Error()}}
		return r
	}
	r.Valid, r.Hash, r.Identities, r.Rules = true, p.Hash, len(p.Identities), len(p.Rules)
	r.Warnings = append(r.Warnings, p.Warnings...)
	return r
}

// WriteJSON writes the report as `sign policy lint -o json` prints it.
func (r *LintReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// writeJSON is JSON as the policy commands print it: indented, with <, >
// and & as written (CEL conditions read as in the trust file).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// WriteText writes the report as `sign policy lint` prints it: one line
// per error, or one line per warning and a summary.
func (r *LintReport) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, e := range r.Errors {
		b.WriteString(e.Error() + "\n")
	}
	for _, wn := range r.Warnings {
		b.WriteString(wn.String() + "\n")
	}
	if r.Valid {
		fmt.Fprintf(&b, "%s: ok (%d identities, %d rules, hash %s)", r.File, r.Identities, r.Rules, r.Hash)
		if n := len(r.Warnings); n > 0 {
			fmt.Fprintf(&b, " with %d warning(s)", n)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
