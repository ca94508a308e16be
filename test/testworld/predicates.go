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

// RealisticBOM is a CycloneDX BOM of about size bytes shaped as syft
// writes one for a container image: components with a bom-ref, a type, a
// name, a version, a purl, a license and syft's properties.
func RealisticBOM(size int) map[string]any {
	var comps []any
	for n, i := 0, 0; n < size; i++ {
		name := fmt.Sprintf("lib%05d-utils", i)
		purl := fmt.Sprintf("pkg:deb/debian/%s@1.%d.%d-2?arch=amd64&distro=debian-12", name, i%7, i%13)
		c := map[string]any{"bom-ref": purl, "type": "library", "name": name, "version": fmt.Sprintf("1.%d.%d-2", i%7, i%13), "purl": purl,
			"licenses": []any{map[string]any{"license": map[string]any{"id": "MIT"}}},
			"properties": []any{map[string]any{"name": "syft:package:type", "value": "deb"},
				map[string]any{"name": "syft:location:0:path", "value": "/var/lib/dpkg/status.d/" + name}}}
		comps = append(comps, c)
		n += 2*len(purl) + len(name)*2 + 260
	}
	return map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
		"metadata": map[string]any{"timestamp": time.Now().UTC().Format(time.RFC3339)}, "components": comps}
}

// RealisticScan is a Trivy report inside a cosign vulnerability predicate
// with n findings, descriptions included, none critical.
func RealisticScan(n int) map[string]any {
	severities := []string{"LOW", "MEDIUM", "HIGH"}
	var sev []string
	for i := range n {
		sev = append(sev, severities[i%len(severities)])
	}
	scan := TrivyScan(sev...)
	vulns := scan["scanner"].(map[string]any)["result"].(map[string]any)["Results"].([]any)[0].(map[string]any)["Vulnerabilities"].([]any)
	for i, v := range vulns {
		m := v.(map[string]any)
		m["Title"] = fmt.Sprintf("lib%05d: a flaw in input handling", i)
		m["Description"] = "A flaw was found in the parsing of crafted input, which allows a remote attacker to cause a denial of service or possibly execute code. " +
			"Versions before the fixed one are affected; the fix bounds the length it copies."
		m["References"] = []any{fmt.Sprintf("https://security-tracker.debian.org/tracker/CVE-2024-%04d", 1000+i), "https://nvd.nist.gov/vuln/detail/CVE-2024-1000"}
	}
	return scan
}
