package main

import (
	"github.com/urfave/cli/v2"
)

func attestCommand() *cli.Command {
	s := newSigning()
	return &cli.Command{
		Name:      "attest",
		Usage:     "attach signed attestations (SLSA provenance, an SBOM, a vulnerability scan, any predicate) to an image digest",
		ArgsUsage: "REF",
		Flags:     s.flags(signingNames, attestationNames, []string{"publish-failing"}),
		Action:    func(c *cli.Context) error { return signRun(c, s, false, false) },
	}
}
