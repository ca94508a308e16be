package testworld

import (
	"fmt"
	"time"
)

// Predicates the specification attaches, shaped as the tools that make
// them write them.

// TrivyScan is a cosign vulnerability predicate carrying a Trivy JSON
// report, as `trivy image --format cosign-vuln` writes it, with one
// finding of each severity given ("CRITICAL", "HIGH", …).
func TrivyScan(severities ...string) map[string]any {
	var vulns []any
	for i, s := range severities {
		id := fmt.Sprintf("CVE-2024-%04d", 1000+i)
		if s == "CRITICAL" {
			id = "CVE-2024-3094"
		}
		vulns = append(vulns, map[string]any{"VulnerabilityID": id, "PkgName": fmt.Sprintf("pkg%d", i), "InstalledVersion": "1.0.0",
			"FixedVersion": "1.0.1", "Severity": s})
	}
	now := time.Now().UTC().Format(time.RFC3339)
	return map[string]any{
		"invocation": map[string]any{"parameters": nil, "uri": "", "event_id": "", "builder.id": ""},
		"scanner": map[string]any{
			"uri": "pkg:github/aquasecurity/trivy@0.58.0", "version": "0.58.0",
			"db": map[string]any{"uri": "", "version": ""},
			"result": map[string]any{"SchemaVersion": 2, "CreatedAt": now, "ArtifactName": "app", "ArtifactType": "container_image",
				"Results": []any{map[string]any{"Target": "app (debian 12.8)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulns}}},
		},
		"metadata": map[string]any{"scanStartedOn": now, "scanFinishedOn": now},
	}
}

// CycloneDXBOM is a CycloneDX 1.5 BOM listing the named packages.
func CycloneDXBOM(names ...string) map[string]any {
	var comps []any
	for _, n := range names {
		comps = append(comps, map[string]any{"type": "library", "name": n, "version": "1.0.0", "purl": "pkg:generic/" + n + "@1.0.0"})
	}
	return map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": comps}
}
