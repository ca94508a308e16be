package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyImportCommand: sign policy import writes a trust file that
// sign policy lint accepts, its report in both forms, and exits 2 with
// only the report when the import is refused (a weaker difference without
// --allow-weaker).
func TestPolicyImportCommand(t *testing.T) {
	key, err := os.ReadFile("../../policy/peer/testdata/key1.pub")
	if err != nil {
		t.Fatal(err)
	}
	cpol := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: check-images}
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
      verifyImages:
        - imageReferences: ["ghcr.io/acme/*"]
          skipImageReferences: ["ghcr.io/acme/debug:*"]
          attestors:
            - entries:
                - keys: {publicKeys: ` + jsonString(string(key)) + `, rekor: {ignoreTlog: true}}
`
	dir := t.TempDir()
	src := filepath.Join(dir, "cpol.yaml")
	if err := os.WriteFile(src, []byte(cpol), 0o644); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "refused")
	stdout, _, code := runSign(t, nil, "policy", "import", "--dir", out, src)
	if code != 2 || !strings.Contains(stdout, "refused: the result would admit what the source refused") {
		t.Fatalf("exit %d, want 2 and a refusal:\n%s", code, stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "trust.yaml")); err == nil {
		t.Fatal("a refused import wrote trust.yaml")
	}

	out = filepath.Join(dir, "migrated")
	stdout, stderr, code := runSign(t, nil, "policy", "import", "--allow-weaker", "-o", "json", "--dir", out, src)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	var report struct {
		Refused, AllowedWeaker bool
		Differences            []struct{ Class string }
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil || report.Refused || !report.AllowedWeaker {
		t.Fatalf("report %+v (%v):\n%s", report, err, stdout)
	}
	for _, f := range []string{"trust.yaml", "import-report.txt", "import-report.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if lint, _, code := runSign(t, nil, "policy", "lint", filepath.Join(out, "trust.yaml")); code != 0 {
		t.Fatalf("the imported trust file does not lint (exit %d):\n%s", code, lint)
	}
	explain, _, _ := runSign(t, nil, "policy", "explain", filepath.Join(out, "trust.yaml"), "ghcr.io/acme/team/app:1")
	if !strings.Contains(explain, "rule        check-images/r") {
		t.Errorf("ghcr.io/acme/team/app (Kyverno's * crosses /) is not governed by the imported rule:\n%s", explain)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
