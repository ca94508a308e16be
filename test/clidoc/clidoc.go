// Package clidoc renders a CLI reference from a urfave/cli app: the help
// text of every command, exactly as `--help` prints it, so the reference
// can never say something the binary does not.
package clidoc

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Reference returns Markdown with the app's help and every command's.
// newApp must return a fresh app each time (an app runs once).
func Reference(newApp func(out *bytes.Buffer) *cli.App) (string, error) {
	var b strings.Builder
	root := newApp(&bytes.Buffer{})
	fmt.Fprintf(&b, "<!-- generated from the CLI by `go test ./cmd/... -update`; do not edit -->\n\n# `%s` reference\n\n", root.Name)
	if err := section(&b, newApp, root.Name, nil); err != nil {
		return "", err
	}
	var walk func(prefix []string, cmds []*cli.Command) error
	walk = func(prefix []string, cmds []*cli.Command) error {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			path := append(append([]string{}, prefix...), c.Name)
			if err := section(&b, newApp, root.Name, path); err != nil {
				return err
			}
			if err := walk(path, c.Subcommands); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(nil, root.Commands); err != nil {
		return "", err
	}
	return b.String(), nil
}

func section(b *strings.Builder, newApp func(*bytes.Buffer) *cli.App, name string, path []string) error {
	var out bytes.Buffer
	app := newApp(&out)
	args := append(append([]string{name}, path...), "--help")
	if err := app.Run(args); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	title := strings.TrimSpace(name + " " + strings.Join(path, " "))
	fmt.Fprintf(b, "## `%s`\n\n```\n%s\n```\n\n", title, strings.TrimRight(out.String(), "\n"))
	return nil
}

// Check compares a generated reference with the file at path, or rewrites
// the file when update is set (go test ./cmd/... -update).
func Check(path, got string, update bool) error {
	if update {
		return os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil || string(want) != got {
		return fmt.Errorf("%s is stale: run go test ./cmd/... -update", path)
	}
	return nil
}

// Undocumented lists the commands of a generated reference whose help lacks
// an example or does not name its environment (variables, or "none").
func Undocumented(reference string) []string {
	var out []string
	for _, sec := range strings.Split(reference, "\n## ")[1:] {
		title, _, _ := strings.Cut(sec, "\n")
		if !strings.Contains(sec, "Example") || !(strings.Contains(sec, "Environment") || strings.Contains(sec, "SIGNET_")) {
			out = append(out, title)
		}
	}
	return out
}
