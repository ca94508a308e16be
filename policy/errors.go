package policy

import (
	"fmt"
	"strings"
)

// FieldError is one problem in a trust file, located precisely enough for an
// editor to jump to it.
type FieldError struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Field is the path of the offending field, e.g. "identities[1].keyless.issuer".
	Field string `json:"field,omitempty"`
	Msg   string `json:"message"`
}

func (e FieldError) Error() string {
	loc := e.File
	if loc == "" {
		loc = "<input>"
	}
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", loc, e.Line, e.Column)
	}
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", loc, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
}

// LoadError collects every problem found in one trust file, so a user fixes
// them in one pass instead of one per run.
type LoadError struct {
	Errors []FieldError
	// Files are the files read before the problems were found (see
	// Policy.Files): a change to any of them, such as a missing key file
	// appearing, is worth loading again.
	Files []File
}

func (e *LoadError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "\n")
}
