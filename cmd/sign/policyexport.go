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
