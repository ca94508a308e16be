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
		Description: `Predicts the identity this run would sign as (the Fulcio certificate
from the OIDC token's claims, or the key) and the attestations it would
attach (provenance with --attest, --sbom, --vuln, --predicate), and checks
them against the rule that governs REF: identities, provenance fields and
every CEL condition. Nothing is contacted: no registry, no Fulcio.
Mismatches are shown field by field, failing conditions with what they saw.

Examples:
   sign preflight --policy trust.yaml --attest ghcr.io/acme/app
   sign preflight --policy trust.yaml --vuln trivy.json --sbom sbom.cdx.json ghcr.io/acme/app

Exit status: 0 accepted, 1 refused, 2 usage error.

With --notation-key and --notation-cert the Notation signature is checked
too (its chain, subject and, with --notation-timestamp-root, its TSA).

Environment: SIGNET_POLICY, SIGNET_KEY, COSIGN_PASSWORD, SIGNET_IDENTITY_TOKEN,
SIGNET_IDENTITY_TOKEN_FILE, SIGNET_ATTEST, SIGNET_SBOM, SIGNET_VULN, SIGNET_PREDICATE,
SIGNET_TYPE, SIGNET_OUTPUT, SIGNET_NOTATION_KEY, SIGNET_NOTATION_CERT,
SIGNET_NOTATION_TIMESTAMP_URL, SIGNET_NOTATION_TIMESTAMP_ROOT, SIGNET_SIGSTORE; the CI's token
variables.`,
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
