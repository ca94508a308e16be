package main

import (
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/sign"
)

func preflightCommand() *cli.Command {
	return &cli.Command{
		Name:      "preflight",
		Usage:     "check that the trust policy accepts this run's identity for an image, without signing",
		ArgsUsage: "REF",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "policy", Aliases: []string{"p"}, Usage: "trust policy (default ./trust.yaml)", EnvVars: []string{"SIGNET_POLICY"}},
			&cli.StringFlag{Name: "key", Usage: "cosign private key: a file, env://VAR or a KMS URI", EnvVars: []string{"SIGNET_KEY"}},
			&cli.StringFlag{Name: "identity-token", Usage: "OIDC token", EnvVars: []string{"SIGNET_IDENTITY_TOKEN"}},
			&cli.StringFlag{Name: "identity-token-file", Usage: "file holding the OIDC token", EnvVars: []string{"SIGNET_IDENTITY_TOKEN_FILE"}},
			&cli.BoolFlag{Name: "attest", Usage: "also check the provenance this run would attach", EnvVars: []string{"SIGNET_ATTEST"}},
			cliapp.OutputFlag("text"),
		}, slices.Concat(notationFlags(), attestationFlags())...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("preflight needs exactly one REF")
			}
			p, err := loadSignPolicy(c)
			if err != nil {
				return err
			}
			if p == nil {
				return usageError("preflight needs a trust policy (--policy or ./trust.yaml)")
			}
			id, err := resolveIdentity(c)
			if err != nil {
				return usageError("%v", err)
			}
			attach, err := predicates(c, id.Claims, c.Bool("attest"))
			if err != nil {
				return usageError("%v", err)
			}
			r := sign.Preflight(p, c.Args().First(), id.Signer, attach)
			if err := cliapp.Write(c, c.App.Writer, r, r.WriteText); err != nil {
				return err
			}
			return cliapp.Verdict(r.OK, false)
		},
	}
}
