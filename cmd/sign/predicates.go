package main

import (
	"errors"
	"fmt"
	"os"
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
		&cli.StringFlag{Name: "type", Usage: "predicate type of --predicate: a name (" + joinNames() + ") or a URI", EnvVars: []string{"SIGNET_TYPE"}},
	}
}

func joinNames() string {
	out := ""
	for i, n := range policy.PredicateTypeNames() {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}

// predicates are what a run attaches: SLSA provenance from the CI
// environment and the token's claims (when withProvenance, or when the
// attestation flags name nothing: `sign attest` alone attests provenance),
// then --sbom, --vuln and --predicate/--type.
func predicates(c *cli.Context, claims ci.Claims, withProvenance bool) ([]attest.Predicate, error) {
	var out []attest.Predicate
	add := func(flag string, read func([]byte) (attest.Predicate, error)) error {
		path := c.String(flag)
		if path == "" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("--%s: %w", flag, err)
		}
		p, err := read(data)
		if err != nil {
			return fmt.Errorf("--%s %s: %w", flag, path, err)
		}
		out = append(out, p)
		return nil
	}
	if err := add("sbom", attest.SBOM); err != nil {
		return nil, err
	}
	if err := add("vuln", func(b []byte) (attest.Predicate, error) { return attest.Vuln(b, time.Now()) }); err != nil {
		return nil, err
	}
	if err := add("predicate", func(b []byte) (attest.Predicate, error) { return custom(c.String("type"), b) }); err != nil {
		return nil, err
	}
	if c.String("type") != "" && c.String("predicate") == "" {
		return nil, errors.New("--type names the type of --predicate, which is missing")
	}
	if !withProvenance && (len(out) > 0 || c.Command.Name != "attest") {
		return out, nil
	}
	prov, err := attest.FromCI(osEnv, claims)
	if err != nil {
		return nil, err
	}
	p, err := attest.ProvenancePredicate(prov)
	if err != nil {
		return nil, err
	}
	return append([]attest.Predicate{p}, out...), nil
}

// custom is --predicate FILE --type T: any JSON predicate.
func custom(typ string, data []byte) (attest.Predicate, error) {
	if typ == "" {
		return attest.Predicate{}, errors.New("--predicate needs --type (a predicate type name or URI)")
	}
	uri, err := policy.ResolvePredicateType(typ)
	if err != nil {
		return attest.Predicate{}, fmt.Errorf("--type: %w", err)
	}
	return attest.Custom(uri, data)
}
