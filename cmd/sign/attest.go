package main

import (
	"github.com/urfave/cli/v2"
)

func attestCommand() *cli.Command {
	return &cli.Command{
		Name:      "attest",
		Usage:     "attach signed attestations (SLSA provenance, an SBOM, a vulnerability scan, any predicate) to an image digest",
		ArgsUsage: "REF",
		Description: `Signs each attestation as DSSE with the run's identity and attaches it as a
bundle referrer and in the cosign .att tag. Without --sbom, --vuln or
--predicate it attests SLSA v1 provenance built from the CI environment
(GitHub Actions: buildType https://actions.github.io/buildtypes/workflow/v1;
GitLab CI: https://signet.dev/buildtypes/gitlab-ci/v1), and refuses outside CI.

--sbom attaches a CycloneDX or SPDX 2 JSON SBOM as is (predicate type
https://cyclonedx.org/bom or https://spdx.dev/Document, as cosign attest
--type cyclonedx / spdxjson does). --vuln turns a Trivy (--format json) or
Grype (-o json) report into cosign's vulnerability predicate
(https://cosign.sigstore.dev/attestation/vuln/v1, the report under
scanner.result, as trivy --format cosign-vuln writes it). Each may be given
once; they are attached together.

Preflight evaluates the trust file's conditions on what this run attaches
and refuses before publishing when one fails (--publish-failing attaches it
anyway, for a scheduled re-scan that must reach the cluster). Requirements
for attestations this run does not attach are notes, and the post-check
reports them as pending instead of failing the run.

Examples:
   sign attest --policy trust.yaml ghcr.io/acme/app@sha256:...
   sign attest --policy trust.yaml --sbom sbom.cdx.json --vuln trivy.json ghcr.io/acme/app@sha256:...
   sign attest --key cosign.key --predicate review.json --type https://example.com/review/v1 ghcr.io/acme/app:1.0

Environment: SIGNET_SBOM, SIGNET_VULN, SIGNET_PREDICATE, SIGNET_TYPE,
SIGNET_PUBLISH_FAILING and those of ` + "`sign image`" + `.`,
		Flags: append(append(signingFlags(), attestationFlags()...),
			&cli.BoolFlag{Name: "publish-failing", Usage: "attach attestations even when the trust policy's conditions fail on them (the post-check still fails)", EnvVars: []string{"SIGNET_PUBLISH_FAILING"}},
		),
		Action: func(c *cli.Context) error { return signRun(c, false, false) },
	}
}
