package attest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/policy"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSBOM: CycloneDX and SPDX 2 JSON are attested as they are, under
// their predicate types; anything else is refused, saying what it is.
func TestSBOM(t *testing.T) {
	for _, tc := range []struct{ file, wantType string }{
		{"cyclonedx.json", policy.PredicateCycloneDX},
		{"spdx.json", policy.PredicateSPDX},
	} {
		p, err := SBOM(read(t, tc.file))
		if err != nil || p.Type != tc.wantType || string(p.JSON) != string(read(t, tc.file)) {
			t.Errorf("%s: type %q, err %v", tc.file, p.Type, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{`SPDXVersion: SPDX-2.3`, "not a JSON document"},
		{`{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"}`, "SPDX 3"},
		{`{"packages": []}`, "neither CycloneDX JSON"},
		{`{"bomFormat": "CycloneDX", "x": "` + strings.Repeat("a", policy.MaxPredicateBytes) + `"}`, "signet reads attestations whose predicate is at most"},
	} {
		if _, err := SBOM([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

// TestVuln: Trivy and Grype reports become the cosign vulnerability
// predicate with the report whole under scanner.result and the scan time
// the report states; a cosign-vuln predicate is kept as is.
func TestVuln(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		file, uri string
		at        time.Time
	}{
		{"trivy.json", "pkg:github/aquasecurity/trivy", time.Date(2026, 11, 30, 9, 12, 44, 123456000, time.UTC)},
		{"grype.json", "pkg:github/anchore/grype@0.84.0", time.Date(2026, 11, 30, 8, 15, 2, 500000000, time.UTC)},
	} {
		p, err := Vuln(read(t, tc.file), now)
		if err != nil || p.Type != policy.PredicateVuln {
			t.Fatalf("%s: %v", tc.file, err)
		}
		var got VulnPredicate
		if err := json.Unmarshal(p.JSON, &got); err != nil {
			t.Fatal(err)
		}
		var report, original any
		_ = json.Unmarshal(got.Scanner.Result, &report)
		_ = json.Unmarshal(read(t, tc.file), &original)
		if got.Scanner.URI != tc.uri || !got.Metadata.ScanFinishedOn.Equal(tc.at) || !jsonEqual(report, original) {
			t.Errorf("%s: scanner %q, finished %v, report kept: %v", tc.file, got.Scanner.URI, got.Metadata.ScanFinishedOn, jsonEqual(report, original))
		}
		// the predicate's time is what trustPredicateTime reads
		var decoded any
		_ = json.Unmarshal(p.JSON, &decoded)
		if at, ok := policy.PredicateTime(policy.PredicateVuln, decoded); !ok || !at.Equal(tc.at) {
			t.Errorf("%s: predicate time %v %v", tc.file, at, ok)
		}
	}
	already, _ := Vuln(read(t, "trivy.json"), now)
	if again, err := Vuln(already.JSON, now); err != nil || string(again.JSON) != string(already.JSON) {
		t.Errorf("a cosign-vuln predicate is not kept as is: %v", err)
	}
	if _, err := Vuln([]byte(`{"vulnerabilities": []}`), now); err == nil || !strings.Contains(err.Error(), "neither Trivy JSON") {
		t.Errorf("an unknown report: %v", err)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
