package peer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/signet-dev/signet/policy/notationimport"
)

// A notation trust policy (trustpolicy.json, or trustpolicy.oci.json in
// the Notary Project's later specifications) is imported with the trust
// store beside it by policy/notationimport; here its notes become the
// report's differences, classed like every other source's, so a weaker
// one refuses the import unless allowed.

// isNotationPolicy reports whether data is a notation trust policy
// document: a JSON object with trustPolicies.
func isNotationPolicy(data []byte) bool {
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return false
	}
	var probe struct {
		TrustPolicies json.RawMessage `json:"trustPolicies"`
	}
	return json.Unmarshal(data, &probe) == nil && probe.TrustPolicies != nil
}

// notationClasses classes notationimport's notes by their setting (a
// prefix): what the converted rule admits compared with notation.
var notationClasses = []struct {
	setting string
	class   Class
	why     string
}{
	// Both admit every image of the scope; signet also pins the digest.
	{"level: skip", Equivalent, ""},
	// notation's audit still refuses an unsigned image and a signature that
	// fails integrity; signet's audit mode admits them and reports.
	{"level: audit", Weaker, "notation's audit level still refuses an image without a signature, or whose signature fails integrity; signet's audit mode admits it and reports the failure"},
	// Expiry and a known revocation deny in signet; permissive logged them.
	{"level: permissive", Stricter, ""},
	// signet enforces the check notation was told to log or skip (a known
	// revocation included).
	{"override ", Stricter, ""},
	// The statement's scopes are denied until a subject is pinned.
	{"trustedIdentities: *", Stricter, ""},
}

// importNotation converts one notation trust policy and the trust store
// in its directory.
func importNotation(f File, opts Options) (*Result, error) {
	if f.Dir == nil {
		return nil, fmt.Errorf("%s: a notation trust policy needs the trust store beside it (read the file with ReadFiles)", f.Name)
	}
	conv, err := notationimport.Convert(f.Data, f.Dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", notationErrorPos(f, err), err)
	}
	r := &Result{Spec: conv.Spec, Files: map[string][]byte{},
		Report: Report{Direction: "import", Sources: []string{fmt.Sprintf("notation trust policy (%s)", f.Name)}}}
	for _, n := range conv.Notes {
		class, why := NotExpressible, "signet does not know how this setting compares (an importer gap: please report it)"
		for _, c := range notationClasses {
			if strings.HasPrefix(n.Setting, c.setting) {
				class, why = c.class, c.why
				break
			}
		}
		msg := n.Setting + ": " + n.Message
		if why != "" {
			msg += "; " + why
		}
		r.Report.Differences = append(r.Report.Differences, Difference{Class: class, At: statementPos(f, n.Statement),
			Source: "statement/" + n.Statement, Rules: []string{n.Statement}, Message: msg})
	}
	r.Report.settle(opts.AllowWeaker)
	return r, nil
}

// notationErrorPos is where in f the conversion failed: the statement it
// refused, or the JSON value of the wrong type.
func notationErrorPos(f File, err error) Pos {
	var st *notationimport.StatementError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &st):
		return statementPos(f, st.Statement)
	case errors.As(err, &typ):
		return offsetPos(f, int(typ.Offset), typ.Field)
	}
	return Pos{File: f.Name}
}

// offsetPos is the line and column of byte offset in f.
func offsetPos(f File, offset int, path string) Pos {
	before := f.Data[:min(max(offset, 0), len(f.Data))]
	return Pos{File: f.Name, Path: path, Line: bytes.Count(before, []byte("\n")) + 1, Column: len(before) - bytes.LastIndexByte(before, '\n')}
}

// statementPos is where the statement named name starts in f: its
// "name" member.
func statementPos(f File, name string) Pos {
	at := Pos{File: f.Name, Path: "trustPolicies[name=" + name + "]"}
	re := regexp.MustCompile(`"name"\s*:\s*` + regexp.QuoteMeta(jsonString(name)))
	loc := re.FindIndex(f.Data)
	if loc == nil {
		return at
	}
	return offsetPos(f, loc[0], at.Path)
}

// jsonString is name as JSON writes it.
func jsonString(name string) string {
	b, _ := json.Marshal(name)
	return string(b)
}
