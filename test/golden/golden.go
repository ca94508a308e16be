// Package golden compares test output with files under testdata, and
// rewrites them when a test runs with -update: text output (lint reports,
// CLI help, JSON documents) is checked byte for byte.
package golden

import (
	"os"
	"testing"
)

// Check compares got with the file at path, or writes it when update is set.
func Check(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file (go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
