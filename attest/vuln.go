package attest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-dev/signet/policy"
)

// VulnPredicate is cosign's vulnerability predicate
// (https://cosign.sigstore.dev/attestation/vuln/v1), as `cosign attest
// --type vuln` and `trivy image --format cosign-vuln` write it: the
// scanner's own report under scanner.result.
type VulnPredicate struct {
	Invocation VulnInvocation `json:"invocation"`
	Scanner    VulnScanner    `json:"scanner"`
	Metadata   VulnMetadata   `json:"metadata"`
}

type VulnInvocation struct {
	Parameters any    `json:"parameters"`
	URI        string `json:"uri"`
	EventID    string `json:"event_id"`
	BuilderID  string `json:"builder.id"`
}

type VulnScanner struct {
	URI     string          `json:"uri"`
	Version string          `json:"version"`
	DB      VulnDB          `json:"db"`
	Result  json.RawMessage `json:"result"`
}

type VulnDB struct {
	URI     string `json:"uri"`
	Version string `json:"version"`
}

type VulnMetadata struct {
	ScanStartedOn  time.Time `json:"scanStartedOn"`
	ScanFinishedOn time.Time `json:"scanFinishedOn"`
}

// Vuln turns a scanner's JSON report into the cosign vulnerability
// predicate: Trivy's `--format json` (its CreatedAt is the scan time),
// Grype's `-o json` (descriptor.timestamp), or a predicate already in that
// form (`trivy --format cosign-vuln`), taken as is. The report is kept
// whole under scanner.result, so conditions written for cosign and Kyverno
// read it unchanged, and vulnerabilities() reads either scanner. now is
// the scan time when the report states none.
func Vuln(data []byte, now time.Time) (Predicate, error) {
	if err := fits(data); err != nil {
		return Predicate{}, err
	}
	var probe struct {
		Scanner       json.RawMessage `json:"scanner"`
		SchemaVersion json.RawMessage `json:"SchemaVersion"`
		CreatedAt     time.Time       `json:"CreatedAt"`
		Trivy         struct {
			Version string `json:"Version"`
		} `json:"Trivy"`
		Matches    json.RawMessage `json:"matches"`
		Descriptor struct {
			Name      string `json:"name"`
			Version   string `json:"version"`
			Timestamp string `json:"timestamp"`
			DB        struct {
				Built         string          `json:"built"`
				SchemaVersion json.RawMessage `json:"schemaVersion"`
			} `json:"db"`
		} `json:"descriptor"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return Predicate{}, fmt.Errorf("the scan report is not JSON (Trivy --format json, Grype -o json): %w", err)
	}
	p := VulnPredicate{Scanner: VulnScanner{Result: data}}
	switch {
	case probe.Scanner != nil:
		var in VulnPredicate
		if err := json.Unmarshal(data, &in); err != nil || in.Scanner.Result == nil {
			return Predicate{}, errors.New("the scan has a scanner field but is not a cosign vulnerability predicate (scanner.result missing)")
		}
		return Predicate{Type: policy.PredicateVuln, JSON: data}, nil
	case probe.SchemaVersion != nil:
		p.Scanner.URI, p.Scanner.Version = "pkg:github/aquasecurity/trivy", probe.Trivy.Version
		if probe.Trivy.Version != "" {
			p.Scanner.URI += "@" + probe.Trivy.Version
		}
		p.Metadata = scanTimes(probe.CreatedAt, now)
	case probe.Matches != nil && strings.EqualFold(probe.Descriptor.Name, "grype"):
		d := probe.Descriptor
		p.Scanner.URI, p.Scanner.Version = "pkg:github/anchore/grype@"+d.Version, d.Version
		p.Scanner.DB = VulnDB{URI: "pkg:github/anchore/grype-db", Version: strings.Trim(string(d.DB.SchemaVersion), `"`)}
		at, _ := time.Parse(time.RFC3339Nano, d.Timestamp)
		p.Metadata = scanTimes(at, now)
	default:
		return Predicate{}, errors.New("the scan report is neither Trivy JSON (SchemaVersion, Results) nor Grype JSON (matches, descriptor.name grype)")
	}
	out, err := json.Marshal(p)
	if err != nil {
		return Predicate{}, fmt.Errorf("encoding the vulnerability predicate: %w", err)
	}
	return Predicate{Type: policy.PredicateVuln, JSON: out}, fits(out)
}

// scanTimes is the scan's start and finish: the time the report states,
// else now (a report does not say how long the scan took).
func scanTimes(at, now time.Time) VulnMetadata {
	if at.IsZero() {
		at = now
	}
	at = at.UTC()
	return VulnMetadata{ScanStartedOn: at, ScanFinishedOn: at}
}
