package main

import (
	"github.com/urfave/cli/v2"
)

func attestCommand() *cli.Command {
	return &cli.Command{
		Name:      "attest",
		Usage:     "attach signed attestations (SLSA provenance, an SBOM, a vulnerability scan, any predicate) to an image digest",
		ArgsUsage: "REF",
		Flags: append(append(signingFlags(), attestationFlags()...),
			&cli.BoolFlag{Name: "publish-failing", Usage: "attach attestations even when the trust policy's conditions fail on them (the post-check still fails)", EnvVars: []string{"SIGNET_PUBLISH_FAILING"}},
		),
		Action: func(c *cli.Context) error { return signRun(c, false, false) },
	}
}
