package main

import (
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/policy/peer"
)

// policyImportCommand is `sign policy import`: Kyverno and policy-controller
// policies to a trust file and a change report (policy/peer).
func policyImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "convert Kyverno and policy-controller policies to a trust file, with a change report",
		ArgsUsage: "FILE...",
		Description: `Reads Kyverno ClusterPolicy/Policy (verifyImages), ImageValidatingPolicy and
policy-controller ClusterImagePolicy and TrustRoot objects (one or many per
file, or a List) and writes, to --dir: trust.yaml, the trusted roots it names
(roots/*.json), and the change report (import-report.txt, import-report.json).
The report classifies every difference in what is admitted: equivalent,
stricter, weaker or not expressible. A weaker difference refuses the import
unless --allow-weaker; a not-expressible one always does (exit 2, only the
report is written). Pure: reads no registry and no cluster. sign policy export goes the other way.

Example:
   sign policy import --dir migrated/ cluster-policies.yaml
   sign policy import --dir migrated/ --allow-weaker -o json cip.yaml trustroot.yaml
   sign policy import --dir migrated/ --notation-subject check-images-1="CN=release,O=Acme,ST=WA,C=US" cpol.yaml

Environment: SIGNET_OUTPUT (the report on stdout), SIGNET_IMPORT_DIR, SIGNET_ALLOW_WEAKER,
SIGNET_NOTATION_SUBJECT (comma-separated NAME=DN); FILE... are arguments.`,
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
