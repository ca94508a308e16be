package policy

import (
	"cmp"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

// Warning is a problem that does not stop a trust file from loading: the
// policy means exactly what it says, but what it says is probably not what
// its author meant (it admits more, or part of it can never apply).
// `sign policy lint` prints warnings and still exits 0; `enforce` logs and
// counts them when it loads the file.
type Warning struct {
	File   string      `json:"file"`
	Line   int         `json:"line,omitempty"`
	Column int         `json:"column,omitempty"`
	Field  string      `json:"field,omitempty"`
	Code   WarningCode `json:"code"`
	Msg    string      `json:"message"`
}

// WarningCode names the kind of a warning, for tools and metrics.
type WarningCode string

const (
	// WarnUnescapedDot: a regexp "." that matches any character where a
	// literal dot was probably meant ("github.com", "/.github/").
	WarnUnescapedDot WarningCode = "unescaped-dot"
	// WarnCatchAllOptional: a signature: optional rule that matches every
	// image, so every unsigned image is admitted.
	WarnCatchAllOptional WarningCode = "catch-all-optional"
	// WarnUnusedIdentity: an identity that no rule's signedBy names.
	WarnUnusedIdentity WarningCode = "unused-identity"
	// WarnUnreachableRule: a rule no image can reach, because an earlier
	// rule (first match wins) takes everything it matches.
	WarnUnreachableRule WarningCode = "unreachable-rule"
	// WarnThresholdOneRepository: a threshold above one over keyless
	// identities that one repository can satisfy (its workflow on two refs
	// is two signers), so one party may meet it.
	WarnThresholdOneRepository WarningCode = "threshold-one-repository"
	// WarnLabelExemption: exemptLabels or auditLabels select namespaces by
	// labels that whoever may edit a namespace can set, so they can take
	// their own namespace out of enforcement.
	WarnLabelExemption WarningCode = "label-exemption"
)

// String renders the warning as FILE:LINE:COLUMN: warning: field: message [code].
func (w Warning) String() string {
	loc := FieldError{File: w.File, Line: w.Line, Column: w.Column, Msg: "warning"}.Error()
	field := ""
	if w.Field != "" {
		field = w.Field + ": "
	}
	return fmt.Sprintf("%s: %s%s [%s]", loc, field, w.Msg, w.Code)
}

func (d *decoder) warnf(n *yaml.Node, field string, code WarningCode, format string, args ...any) {
	w := Warning{File: d.file, Field: field, Code: code, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		w.Line, w.Column = n.Line, n.Column
	}
	d.warns = append(d.warns, w)
}

func sortWarnings(ws []Warning) {
	slices.SortStableFunc(ws, func(a, b Warning) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
