package policy

import (
	"errors"
	"strings"
	"testing"
)

// TestConditionErrorsPointInsideTheExpression: an error in a condition is
// reported at the file's line and column of the offending token (here the
// undeclared `oops`), whatever YAML style the expression is written in.
func TestConditionErrorsPointInsideTheExpression(t *testing.T) {
	const head = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - {name: gh, keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app}}
images:
  - match: ["**"]
    signedBy: [gh]
    attestations:
      - type: vuln
        conditions:
`
	for _, tc := range []struct{ style, item string }{
		{"plain", `          - predicate.a == 1 && oops.b`},
		{"plain, folded over lines", "          - predicate.a == 1 &&\n            oops.b"},
		{"single-quoted, with a doubled quote", `          - 'predicate.a == ''x'' && oops.b'`},
		{"double-quoted, with escapes", `          - "predicate.a == \"\u00e9\\n\" && oops.b"`},
		{"double-quoted, with an escaped line break", "          - \"predicate.a == 1 \\\n            && oops.b\""},
		{"literal block", "          - expression: |\n              predicate.a == 1 &&\n                oops.b\n            name: x"},
		{"folded block", "          - expression: >-\n              predicate.a == 1\n              && oops.b"},
		{"mapping, plain", "          - {name: x, expression: predicate.a == 1 && oops.b}"},
	} {
		t.Run(tc.style, func(t *testing.T) {
			src := head + tc.item + "\n"
			_, err := Parse([]byte(src))
			var le *LoadError
			if !errors.As(err, &le) || len(le.Errors) != 1 {
				t.Fatalf("want one error, got %v", err)
			}
			fe := le.Errors[0]
			line, col := position(src, "oops")
			if fe.Line != line || fe.Column != col {
				t.Fatalf("error at %d:%d, `oops` is at %d:%d: %v\n%s", fe.Line, fe.Column, line, col, fe, src)
			}
		})
	}
}

// position is the 1-based line and column of the first s in src.
func position(src, s string) (int, int) {
	i := strings.Index(src, s)
	before := src[:i]
	line := strings.Count(before, "\n") + 1
	return line, len([]rune(before[strings.LastIndex(before, "\n")+1:])) + 1
}
