package cliapp

import (
	"encoding/json"
	"io"

	"github.com/urfave/cli/v2"
)

// OutputFlag is --output (-o, SIGNET_OUTPUT): text, the format named
// first, or json. Any other value is a usage error before the command
// runs, so a typo never signs or verifies and then fails to print.
func OutputFlag(text string) *cli.StringFlag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: text + " or json", Value: text, EnvVars: []string{"SIGNET_OUTPUT"},
		Action: func(c *cli.Context, o string) error {
			if o != text && o != "json" {
				return Usagef(c.App.Name, "--output must be %s or json, got %q", text, o)
			}
			return nil
		}}
}

// Write prints v to w as --output says: JSON (v's own WriteJSON when it
// has one, else indented JSON), or text.
func Write(c *cli.Context, w io.Writer, v any, text func(io.Writer) error) error {
	if c.String("output") != "json" {
		return text(w)
	}
	if j, ok := v.(interface{ WriteJSON(io.Writer) error }); ok {
		return j.WriteJSON(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Verdict is the exit of a command that decided something: nil when
// everything was allowed; exit 3 when nothing was refused on its merits
// but something could not be checked (transient: retrying may help);
// otherwise exit 1.
func Verdict(allowed, transient bool) error {
	switch {
	case allowed:
		return nil
	case transient:
		return Exit(ExitNetwork, "")
	}
	return Exit(ExitDenied, "")
}
