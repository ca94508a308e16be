package main

import (
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/policy"
)

// attestationFlags name the predicates a run attaches besides provenance;
// image, attest and preflight share them.
func attestationFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "sbom", Usage: "attach this SBOM (CycloneDX or SPDX 2 JSON, e.g. from syft or trivy) as a cyclonedx / spdx attestation", EnvVars: []string{"SIGNET_SBOM"}},
		&cli.StringFlag{Name: "vuln", Usage: "attach this vulnerability scan (Trivy --format json or Grype -o json) as a cosign vuln attestation", EnvVars: []string{"SIGNET_VULN"}},
		&cli.StringFlag{Name: "predicate", Usage: "attach this predicate JSON file (with --type)", EnvVars: []string{"SIGNET_PREDICATE"}},
		&cli.StringFlag{Name: "type", Usage: "predicate type of --predicate: a name (" + strings.Join(policy.PredicateTypeNames(), ", ") + ") or a URI", EnvVars: []string{"SIGNET_TYPE"}},
	}
}

// predicates are what a run attaches (attest.Predicates): provenance
// when withProvenance, or when the attestation flags name nothing (`sign
// attest` alone attests provenance), then --sbom, --vuln and
// --predicate/--type.
func predicates(c *cli.Context, claims ci.Claims, withProvenance bool) ([]attest.Predicate, error) {
	f := attest.Files{SBOM: c.String("sbom"), Vuln: c.String("vuln"), Predicate: c.String("predicate"), Type: c.String("type")}
	return attest.Predicates(f, withProvenance || f.Empty() && c.Command.Name == "attest", osEnv, claims, time.Now())
}
