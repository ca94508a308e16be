package main

import (
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/policy"
)

func policyCommand() *cli.Command {
	return &cli.Command{
		Name:  "policy",
		Usage: "check, explain, import and export trust policies",
		Subcommands: []*cli.Command{
			{
				Name:      "lint",
				Usage:     "validate a trust policy; print every problem as FILE:LINE:COLUMN",
				ArgsUsage: "FILE",
				Flags:     []cli.Flag{cliapp.OutputFlag("text")},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("policy lint needs exactly one FILE")
					}
					return lint(c, policy.Lint(c.Args().First()))
				},
			},
			{
				Name:      "explain",
				Usage:     "show which rule applies to an image and what it requires",
				ArgsUsage: "FILE IMAGE",
				Flags:     []cli.Flag{cliapp.OutputFlag("text")},
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return usageError("policy explain needs FILE and IMAGE")
					}
					p, err := policy.LoadFile(c.Args().Get(0))
					if err != nil {
						return cli.Exit(err.Error(), exitUsage)
					}
					e, err := p.Explain(c.Args().Get(1))
					if err != nil {
						return usageError("%v", err)
					}
					return cliapp.Write(c, c.App.Writer, e, e.WriteText)
				},
			},
			policyImportCommand(),
			policyExportCommand(),
		},
	}
}

// lint prints the report: text to stdout when the file is valid (warnings
// included), to stderr with exit 2 when it is not; JSON always to stdout.
func lint(c *cli.Context, r *policy.LintReport) error {
	w := c.App.Writer
	if !r.Valid && c.String("output") != "json" {
		w = c.App.ErrWriter
	}
	if err := cliapp.Write(c, w, r, r.WriteText); err != nil || r.Valid {
		return err
	}
	return cli.Exit("", exitUsage)
}
