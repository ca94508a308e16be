package main

import (
	"github.com/urfave/cli/v2"
)

func attestCommand() *cli.Command {
	return &cli.Command{
		Name:      "attest",
		Usage:     "attach a signed SLSA v1 provenance attestation to an image digest",
		ArgsUsage: "REF",
		Description: `Builds SLSA v1 provenance from the CI environment (GitHub Actions:
buildType https://actions.github.io/buildtypes/workflow/v1; GitLab CI:
https://signet.dev/buildtypes/gitlab-ci/v1), signs it as DSSE with the run's
identity and attaches it as a bundle referrer and in the cosign .att tag.
Outside CI it refuses unless --predicate and --type are given.

Examples:
   sign attest --policy trust.yaml ghcr.io/acme/app@sha256:...
   sign attest --key cosign.key --predicate sbom.json --type https://spdx.dev/Document ghcr.io/acme/app:1.0

Environment: SIGNET_PREDICATE, SIGNET_TYPE and those of ` + "`sign image`" + `.`,
		Flags: append(signingFlags(),
			&cli.StringFlag{Name: "predicate", Usage: "predicate JSON file (instead of CI provenance)", EnvVars: []string{"SIGNET_PREDICATE"}},
			&cli.StringFlag{Name: "type", Usage: "predicate type URI for --predicate", EnvVars: []string{"SIGNET_TYPE"}},
		),
		Action: func(c *cli.Context) error { return signRun(c, false, true) },
	}
}
