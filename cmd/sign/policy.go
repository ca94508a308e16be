package main

import (
	"encoding/json"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/policy"
)

var policyOutputFlag = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "text or json", Value: "text", EnvVars: []string{"SIGNET_OUTPUT"}}

func policyCommand() *cli.Command {
	return &cli.Command{
		Name:  "policy",
		Usage: "check, explain, import and export trust policies",
		Description: `Pure: these commands read only the trust file (and the key or trusted-root
files it names), never a registry.

Examples:
   sign policy lint trust.yaml
   sign policy explain trust.yaml ghcr.io/acme/app:1.4.2
   sign policy import --dir migrated/ cluster-policies.yaml
   sign policy export --to ivpol trust.yaml > ivpol.yaml

Environment: SIGNET_OUTPUT; FILE is an argument.`,
		Subcommands: []*cli.Command{
			{
				Name:      "lint",
				Usage:     "validate a trust policy; print every problem as FILE:LINE:COLUMN",
				ArgsUsage: "FILE",
				Description: `Exit status 0 when the file is valid (its content hash is printed, and any
warnings: legal but probably not what was meant), 2 otherwise. With -o json,
the report (errors and warnings with positions and codes) goes to stdout in
both cases.

Example:
   sign policy lint trust.yaml
   sign policy lint -o json trust.yaml

Environment: SIGNET_OUTPUT; FILE is an argument.`,
				Flags: []cli.Flag{policyOutputFlag},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("policy lint needs exactly one FILE")
					}
					output, err := outputFormat(c)
					if err != nil {
						return err
					}
					return lint(c, output, policy.Lint(c.Args().First()))
				},
			},
			{
				Name:      "explain",
				Usage:     "show which rule applies to an image and what it requires",
				ArgsUsage: "FILE IMAGE",
				Description: `Pure: reads no registry. Shows the rule that matches IMAGE (first match
wins), the identities it accepts with the certificate fields each pins,
and the provenance it requires.

Example:
   sign policy explain trust.yaml ghcr.io/acme/app:1.4.2
   sign policy explain -o json trust.yaml ghcr.io/acme/app:1.4.2

Environment: SIGNET_OUTPUT; FILE and IMAGE are arguments.`,
				Flags: []cli.Flag{policyOutputFlag},
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return usageError("policy explain needs FILE and IMAGE")
					}
					output, err := outputFormat(c)
					if err != nil {
						return err
					}
					p, err := policy.LoadFile(c.Args().Get(0))
					if err != nil {
						return cli.Exit(err.Error(), exitUsage)
					}
					e, err := p.Explain(c.Args().Get(1))
					if err != nil {
						return usageError("%v", err)
					}
					if output == "json" {
						return writeJSON(c.App.Writer, e)
					}
					return e.WriteText(c.App.Writer)
				},
			},
			policyImportCommand(),
			policyExportCommand(),
		},
	}
}

func outputFormat(c *cli.Context) (string, error) {
	o := c.String("output")
	if o != "text" && o != "json" {
		return "", usageError("--output must be text or json, got %q", o)
	}
	return o, nil
}

// lint prints the report: text to stdout when the file is valid (warnings
// included), to stderr with exit 2 when it is not; JSON always to stdout.
func lint(c *cli.Context, output string, r *policy.LintReport) error {
	switch {
	case output == "json":
		if err := writeJSON(c.App.Writer, r); err != nil {
			return err
		}
	case r.Valid:
		return r.WriteText(c.App.Writer)
	default:
		if err := r.WriteText(c.App.ErrWriter); err != nil {
			return err
		}
	}
	if !r.Valid {
		return cli.Exit("", exitUsage)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
