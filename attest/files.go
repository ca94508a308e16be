package attest

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/policy"
)

// Files name the predicates a run attaches besides provenance: an SBOM, a
// vulnerability scan, and any predicate file with its type (a name or a
// URI, policy.ResolvePredicateType). The tags are sign's flags
// (cliapp.Flags); --type's usage lists the type names, so sign declares it.
type Files struct {
	SBOM      string `flag:"sbom" env:"SIGNET_SBOM" usage:"attach this SBOM (CycloneDX or SPDX 2 JSON, e.g. from syft or trivy) as a cyclonedx / spdx attestation"`
	Vuln      string `flag:"vuln" env:"SIGNET_VULN" usage:"attach this vulnerability scan (Trivy --format json or Grype -o json) as a cosign vuln attestation"`
	Predicate string `flag:"predicate" env:"SIGNET_PREDICATE" usage:"attach this predicate JSON file (with --type)"`
	Type      string
}

// Empty reports whether f names nothing.
func (f Files) Empty() bool { return f.SBOM == "" && f.Vuln == "" && f.Predicate == "" }

// Predicates reads what a run attaches: SLSA provenance from the CI
// environment and the token's claims when withProvenance, then the SBOM,
// the scan (its times measured at now) and the custom predicate f names.
// Errors name the flag (--sbom, --vuln, --predicate, --type) at fault.
func Predicates(f Files, withProvenance bool, env ci.Env, claims ci.Claims, now time.Time) ([]Predicate, error) {
	var out []Predicate
	add := func(flag, path string, read func([]byte) (Predicate, error)) error {
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
	if err := add("sbom", f.SBOM, SBOM); err != nil {
		return nil, err
	}
	if err := add("vuln", f.Vuln, func(b []byte) (Predicate, error) { return Vuln(b, now) }); err != nil {
		return nil, err
	}
	if err := add("predicate", f.Predicate, func(b []byte) (Predicate, error) { return custom(f.Type, b) }); err != nil {
		return nil, err
	}
	if f.Type != "" && f.Predicate == "" {
		return nil, errors.New("--type names the type of --predicate, which is missing")
	}
	if !withProvenance {
		return out, nil
	}
	prov, err := FromCI(env, claims)
	if err != nil {
		return nil, err
	}
	p, err := ProvenancePredicate(prov)
	if err != nil {
		return nil, err
	}
	return append([]Predicate{p}, out...), nil
}

// custom is --predicate FILE --type T: any JSON predicate.
func custom(typ string, data []byte) (Predicate, error) {
	if typ == "" {
		return Predicate{}, errors.New("--predicate needs --type (a predicate type name or URI)")
	}
	uri, err := policy.ResolvePredicateType(typ)
	if err != nil {
		return Predicate{}, fmt.Errorf("--type: %w", err)
	}
	return Custom(uri, data)
}
