package attest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// Predicate is a predicate to attest: its type URI and its JSON.
type Predicate struct {
	Type string
	JSON json.RawMessage
}

// SBOM reads an SBOM as syft, trivy, cdxgen or the SPDX tools write it in
// JSON: CycloneDX (bomFormat "CycloneDX", predicate type
// https://cyclonedx.org/bom) or SPDX 2 (spdxVersion "SPDX-2.x",
// https://spdx.dev/Document); the document is the predicate, unchanged,
// as cosign attest --type cyclonedx / spdxjson attaches it. Anything else
// is refused, naming what it looked like.
func SBOM(data []byte) (Predicate, error) {
	if err := fits(data); err != nil {
		return Predicate{}, err
	}
	var doc struct {
		BOMFormat   string          `json:"bomFormat"`
		SPDXVersion string          `json:"spdxVersion"`
		Context     json.RawMessage `json:"@context"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return Predicate{}, fmt.Errorf("the SBOM is not a JSON document (CycloneDX or SPDX JSON; tag-value and XML are not read): %w", err)
	}
	switch {
	case doc.BOMFormat == "CycloneDX":
		return Predicate{Type: policy.PredicateCycloneDX, JSON: data}, nil
	case strings.HasPrefix(doc.SPDXVersion, "SPDX-2."):
		return Predicate{Type: policy.PredicateSPDX, JSON: data}, nil
	case doc.Context != nil && strings.Contains(string(doc.Context), "spdx.org/rdf/3"):
		return Predicate{}, fmt.Errorf("the SBOM is SPDX 3 (JSON-LD), which signet does not attest yet: export SPDX 2.3 JSON (e.g. syft -o spdx-json) or CycloneDX")
	}
	return Predicate{}, fmt.Errorf("the SBOM is neither CycloneDX JSON (bomFormat: CycloneDX) nor SPDX 2 JSON (spdxVersion: SPDX-2.x)")
}

// fits refuses a predicate the cluster could not read: the attestation
// carrying it would be larger than signet reads from a registry.
func fits(data []byte) error {
	if len(data) > maxPredicate {
		return fmt.Errorf("the file is %d bytes; signet reads attestations whose predicate is at most %d bytes (%d MiB) "+
			"(drop what rules do not read, e.g. vulnerability descriptions, or attach one SBOM per image)", len(data), maxPredicate, maxPredicate>>20)
	}
	return nil
}

// maxPredicate leaves room for the statement around the predicate within
// policy.MaxPredicateBytes.
const maxPredicate = policy.MaxPredicateBytes - 64<<10

// ProvenancePredicate is SLSA v1 provenance as a predicate to attest.
func ProvenancePredicate(p *Provenance) (Predicate, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return Predicate{}, fmt.Errorf("encoding SLSA provenance: %w", err)
	}
	return Predicate{Type: policy.SLSAProvenanceV1, JSON: raw}, nil
}

// Custom is any JSON predicate of the given type, as is.
func Custom(predicateType string, data []byte) (Predicate, error) {
	if err := fits(data); err != nil {
		return Predicate{}, err
	}
	if !json.Valid(data) {
		return Predicate{}, fmt.Errorf("the predicate is not JSON")
	}
	return Predicate{Type: predicateType, JSON: data}, nil
}
