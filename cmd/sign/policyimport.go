package main

import (
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/policy/peer"
)

// policyImportCommand is `sign policy import`: Kyverno, policy-controller
// and notation policies to a trust file and a change report (policy/peer).
func policyImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "convert Kyverno, policy-controller or notation policies to a trust file, with a change report",
		ArgsUsage: "FILE...",
		Flags: []cli.Flag{
			cliapp.OutputFlag("text"),
			&cli.StringFlag{Name: "dir", Aliases: []string{"d"}, Usage: "directory to write trust.yaml, its roots and the report to", Required: true, EnvVars: []string{"SIGNET_IMPORT_DIR"}},
			&cli.BoolFlag{Name: "allow-weaker", Usage: "write the trust file even where it admits what the source refused (each such difference is listed)", EnvVars: []string{"SIGNET_ALLOW_WEAKER"}},
			&cli.StringSliceFlag{Name: "notation-subject", Usage: "NAME=DN: pin the subject of the notary attestor the report names NAME (Kyverno trusts any subject; signet refuses that)", EnvVars: []string{"SIGNET_NOTATION_SUBJECT"}},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError("policy import needs at least one FILE")
			}
			subjects, err := peer.ParseSubjects(c.StringSlice("notation-subject"))
			if err != nil {
				return usageError("%v", err)
			}
			files, err := peer.ReadFiles(c.Args().Slice())
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			res, err := peer.Import(files, peer.Options{AllowWeaker: c.Bool("allow-weaker"), NotarySubjects: subjects})
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			if err := res.Write(c.String("dir")); err != nil {
				return err
			}
			if err := cliapp.Write(c, c.App.Writer, &res.Report, res.Report.WriteText); err != nil {
				return err
			}
			if res.Report.Refused {
				return cli.Exit("", exitUsage)
			}
			return nil
		},
	}
}
