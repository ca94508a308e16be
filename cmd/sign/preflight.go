package main

import (
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/sign"
)

func preflightCommand() *cli.Command {
	s := newSigning()
	return &cli.Command{
		Name:      "preflight",
		Usage:     "check that the trust policy accepts this run's identity for an image, without signing",
		ArgsUsage: "REF",
		// policy, key, identity-token and attest say what they mean here.
		Flags: slices.Concat([]cli.Flag{
			&cli.StringFlag{Name: "policy", Aliases: []string{"p"}, Usage: "trust policy (default ./trust.yaml)", EnvVars: []string{"SIGNET_POLICY"}},
			&cli.StringFlag{Name: "key", Usage: "cosign private key: a file, env://VAR or a KMS URI", EnvVars: []string{"SIGNET_KEY"}, Destination: &s.Identity.Key},
			&cli.StringFlag{Name: "identity-token", Usage: "OIDC token", EnvVars: []string{"SIGNET_IDENTITY_TOKEN"}, Destination: &s.Identity.Token},
		}, s.flags([]string{"identity-token-file"}), []cli.Flag{
			&cli.BoolFlag{Name: "attest", Usage: "also check the provenance this run would attach", EnvVars: []string{"SIGNET_ATTEST"}},
		}, s.flags([]string{"output"}, notationNames, attestationNames)),
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
			id, err := resolveIdentity(c, s)
			if err != nil {
				return usageError("%v", err)
			}
			attach, err := predicates(c, s, id.Claims, c.Bool("attest"))
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
