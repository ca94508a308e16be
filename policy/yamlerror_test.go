package policy

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestYAMLSyntaxErrorPositions: a syntax error names the line and column
// of the mistake, not the start of the enclosing mapping or list (where
// yaml.v3's own message points, often many lines earlier).
func TestYAMLSyntaxErrorPositions(t *testing.T) {
	cases := []struct {
		name, body string
		at         string // line:column, 1-based, counting the two-line header
	}{
		{"key indented one space less than its siblings",
			"images:\n  - match: [a]\n    signedBy: [x]\n   threshold: 2\n", "6:4"},
		{"key deep in an identity indented wrong",
			"identities:\n  - name: a\n    keyless:\n      issuer: https://x\n      repository: acme/app\n      refs:\n        - main\n     workflow: x\nimages: []\n", "10:6"},
		{"unclosed flow mapping",
			"images: [\n  {match: a},\n  {match: b\n", "5:3"},
		{"tab used for indentation",
			"images:\n\t- a\n", "4:1"},
		{"unterminated double-quoted string",
			"images:\n  - match: \"abc\n  - x\n", "4:12"},
		{"missing colon after a key",
			"images:\n  - match [a]\n    deny: x\n", "4:5"},
		{"bare word inside a mapping",
			"identities:\n  - name: a\n    key: {path: x}\n    oops\nimages: []\n", "6:5"},
		{"list item inside a mapping",
			"sigstore:\n  trustedRoot: x\n  - y\n", "5:3"},
		{"missing comma in a flow list",
			"images: [{match: a} {match: b}]\n", "3:21"},
		{"second colon on a line",
			"images:\n  - match: a: b\n", "4:12"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(header+c.body), WithSource("t.yaml"))
			var le *LoadError
			if !errors.As(err, &le) || len(le.Errors) != 1 {
				t.Fatalf("want one syntax error, got %v", err)
			}
			fe := le.Errors[0]
			if got := fmt.Sprintf("%d:%d", fe.Line, fe.Column); got != c.at || !strings.HasPrefix(fe.Msg, "invalid YAML: ") {
				t.Fatalf("error at %s, want %s: %v", got, c.at, fe)
			}
		})
	}
}
