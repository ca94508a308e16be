package cliapp

import (
	"io"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// doc has its own WriteJSON; plain does not.
type doc struct{ A string }

func (doc) WriteJSON(w io.Writer) error { _, err := io.WriteString(w, "own json\n"); return err }

type plain struct {
	A string `json:"a"`
}

// runOutput runs a command with an --output flag and returns what it
// printed, its exit code and its stderr.
func runOutput(t *testing.T, text string, v any, args ...string) (string, int, string) {
	t.Helper()
	var out, errOut strings.Builder
	app := &cli.App{Name: "sign", Writer: &out, ErrWriter: &errOut, ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{{Name: "x", Flags: []cli.Flag{OutputFlag(text)}, Action: func(c *cli.Context) error {
			return Write(c, c.App.Writer, v, func(w io.Writer) error { _, err := io.WriteString(w, "text\n"); return err })
		}}}}
	code := Code("sign", app.Run(append([]string{"sign", "x"}, args...)), &errOut)
	return out.String(), code, errOut.String()
}

func TestOutput(t *testing.T) {
	cases := []struct {
		name, text string
		v          any
		args       []string
		env        string
		out        string
		code       int
		stderr     string
	}{
		{"text by default", "text", plain{}, nil, "", "text\n", ExitOK, ""},
		{"table is the text format where it is named so", "table", plain{}, []string{"-o", "table"}, "", "text\n", ExitOK, ""},
		{"json uses the result's own encoding", "text", doc{}, []string{"-o", "json"}, "", "own json\n", ExitOK, ""},
		{"json without one is indented JSON", "text", plain{A: "<x>"}, []string{"--output", "json"}, "", "{\n  \"a\": \"\\u003cx\\u003e\"\n}\n", ExitOK, ""},
		{"an unknown format is a usage error before the command runs", "text", plain{}, []string{"-o", "yaml"}, "", "", ExitUsage, `sign: --output must be text or json, got "yaml"`},
		{"text is not a format where table is", "table", plain{}, []string{"-o", "text"}, "", "", ExitUsage, `--output must be table or json, got "text"`},
		{"SIGNET_OUTPUT is checked as the flag is", "text", plain{}, nil, "yml", "", ExitUsage, `got "yml"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv("SIGNET_OUTPUT", c.env)
			}
			out, code, stderr := runOutput(t, c.text, c.v, c.args...)
			if out != c.out || code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("printed %q, exit %d, stderr %q; want %q, %d, %q", out, code, stderr, c.out, c.code, c.stderr)
			}
		})
	}
}

func TestVerdict(t *testing.T) {
	cases := []struct {
		name               string
		allowed, transient bool
		code               int
	}{
		{"allowed is success", true, false, ExitOK},
		{"allowed wins over a stray transient", true, true, ExitOK},
		{"refused on its merits is denied", false, false, ExitDenied},
		{"refused only by infrastructure is a network failure (retry may help)", false, true, ExitNetwork},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Code("sign", Verdict(c.allowed, c.transient), io.Discard); got != c.code {
				t.Fatalf("exit %d, want %d", got, c.code)
			}
		})
	}
}
