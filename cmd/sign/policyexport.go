package main

import (
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/policy/peer"
)

// policyExportCommand is `sign policy export`: a trust file as Kyverno
// ImageValidatingPolicies or policy-controller ClusterImagePolicies, to
// run beside signet during a migration (policy/peer).
func policyExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a trust file as ImageValidatingPolicy or ClusterImagePolicy objects, with a change report",
		ArgsUsage: "FILE",
		Description: `Writes the peer's objects to stdout (multi-document YAML) and the change
report to stderr: what the peer cannot express, classified as for import
(structured identities become anchored SAN regexps and lose the repository
ID binding, for example). A weaker difference (the peer would admit what the
trust file refuses) refuses the export unless --allow-weaker; a
not-expressible one always does (exit 2, nothing on stdout).

Example:
   sign policy export --to ivpol trust.yaml > ivpol.yaml
   sign policy export --to cip --allow-weaker -o json trust.yaml > cip.yaml

Environment: SIGNET_OUTPUT (the report's format), SIGNET_EXPORT_TO, SIGNET_ALLOW_WEAKER;
FILE is an argument.`,
		Flags: []cli.Flag{
			cliapp.OutputFlag("text"),
			&cli.StringFlag{Name: "to", Usage: "ivpol (Kyverno ImageValidatingPolicy) or cip (policy-controller ClusterImagePolicy)", Required: true, EnvVars: []string{"SIGNET_EXPORT_TO"}},
			&cli.BoolFlag{Name: "allow-weaker", Usage: "write the objects even where the peer admits what the trust file refuses (each such difference is listed)", EnvVars: []string{"SIGNET_ALLOW_WEAKER"}},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("policy export needs exactly one FILE")
			}
			p, err := policy.LoadFile(c.Args().First())
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			ex, err := peer.Export(p, peer.Target(c.String("to")), peer.Options{AllowWeaker: c.Bool("allow-weaker")})
			if err != nil {
				return usageError("%v", err)
			}
			if err := cliapp.Write(c, c.App.ErrWriter, &ex.Report, ex.Report.WriteText); err != nil {
				return err
			}
			if ex.Report.Refused {
				return cli.Exit("", exitUsage)
			}
			_, err = c.App.Writer.Write(ex.YAML)
			return err
		},
	}
}
